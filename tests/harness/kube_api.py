"""An HTTP emulator of the Kubernetes API server, for the kinds a route source reads, written from the Kubernetes API
concepts (https://kubernetes.io/docs/reference/using-api/api-concepts/, "Efficient detection of changes").

No kube-apiserver can run here, so route sources are tested against this, through the real ``kubernetes`` client.
Emulated (GET only; objects change through the harness methods apply/delete/set_status, as a user would with kubectl):
- Ingress and IngressClass (networking.k8s.io/v1, always there) and custom resources under
  ``/apis/{group}/{version}[/namespaces/{ns}]/{plural}[/{name}]``; Traefik IngressRoute (traefik.io and the legacy
  traefik.containo.us, v1alpha1) and Gateway API HTTPRoute/Gateway (v1 and v1beta1, one storage served under both
  versions) are installed by default; install_crd()/remove_crd() at run time (removing one forgets its objects and
  ends its open watches). A path not served answers 404 with a NotFound Status; discovery at /apis/{group}/{version}.
- Bearer tokens: none or a wrong one is a 401 Status; a token may be denied kinds (403 Forbidden Status).
- One global resourceVersion counter, bumped by every create, update and delete (not by a no-op apply). It is served
  as decimal strings that grow by irregular steps from a random start: a client must treat them as opaque (no
  arithmetic, no ordering; it only passes back what the server gave), as the API concepts require of real ones.
- Lists ``{kind: XList, apiVersion, metadata: {resourceVersion}, items}`` (built-in items without kind/apiVersion),
  ``limit``/``continue`` from a consistent snapshot; an unknown or expired (compacted) continue token is 410 Expired.
- Watches (``watch=true|1``): 200, chunked, one JSON event a line: ADDED, MODIFIED, DELETED (the last state with
  a new resourceVersion), BOOKMARK (only kind, apiVersion and metadata.resourceVersion) only with
  allowWatchBookmarks, every ``bookmark_interval`` s and before a timeoutSeconds close. resourceVersion unset or "0":
  synthetic ADDED for the current objects first (also with sendInitialEvents=true, then a BOOKMARK annotated
  k8s.io/initial-events-end when bookmarks are allowed); else replay from a bounded history; older than the history: 410
  Expired, as a 200 stream whose only event is ERROR (``expired_mode="event"``, what the real server's watch cache
  does) or as an HTTP 410 Status (``expired_mode="http"``). With a selector, an object that starts or stops matching
  is ADDED or DELETED, as in the watch cache. labelSelector: ``a=b``, ``a==b``, ``a!=b``, ``a``, ``!a``, ``a in (x,y)``,
  ``a notin (x)``; fieldSelector: metadata.name and metadata.namespace (``=``, ``==``, ``!=``).
- Faults: drop_watches(silent=True) stalls every open watch (nothing more is sent, the connection stays open),
  drop_watches(silent=False) ends them; compact() forgets the history (and continue tokens); stop_server()/
  start_server()/restart() as the other emulators (same port, same objects). Every request is logged with its time.
Not emulated: writes through the API (405), resourceVersionMatch, watches of a single object by name.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import os
import random
import re
import secrets
import select
import shutil
import socket
import ssl
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from .procs import ClosingHTTPServer, EmulatedServer
from .solidserver import self_signed_certificate

BUILTIN = (("networking.k8s.io", ("v1",), "ingresses", "Ingress", True), ("networking.k8s.io", ("v1",), "ingressclasses", "IngressClass", False))
DEFAULT_CRDS = (("traefik.io", ("v1alpha1",), "ingressroutes", "IngressRoute"), ("traefik.containo.us", ("v1alpha1",), "ingressroutes", "IngressRoute"),
                ("gateway.networking.k8s.io", ("v1", "v1beta1"), "httproutes", "HTTPRoute"),
                ("gateway.networking.k8s.io", ("v1", "v1beta1"), "gateways", "Gateway"))
LABEL_TERM = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9._-]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*$")
FIELD_TERM = re.compile(r"^\s*([A-Za-z.]+)\s*(==|=|!=)\s*(.*?)\s*$")
CONTINUE_EXPIRED = ("The provided continue parameter is too old to display a consistent list result. You can start a new list without the "
                    "continue parameter.")


class KubeError(Exception):
    """An answer other than 200: the Status object the API server sends."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.details = code, reason, details

    def status(self) -> dict:
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": str(self), "reason": self.reason,
                "code": self.code}
        if self.details is not None:
            body["details"] = self.details
        return body


def not_found(message: str = "the server could not find the requested resource", details: dict | None = None) -> KubeError:
    return KubeError(404, "NotFound", message, details if details is not None else {})


@dataclass
class Resource:
    group: str
    versions: tuple[str, ...]
    plural: str
    kind: str
    namespaced: bool = True
    builtin: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)


@dataclass
class Event:
    rv: int
    key: tuple[str, str]
    type: str
    obj: dict
    prev: dict | None


@dataclass
class Watcher:
    key: tuple[str, str]
    queue: deque = field(default_factory=deque)
    stalled: bool = False
    closed: bool = False


def parse_labels(text: str | None) -> list[tuple]:
    """labelSelector as (negated, key, op, value, set-op, values) terms; 400 BadRequest when it does not parse."""
    terms = []
    for term in re.findall(r"(?:[^,(]|\([^)]*\))+", text or ""):
        match = LABEL_TERM.match(term)
        if not match or (match[1] and (match[3] or match[5])):
            raise KubeError(400, "BadRequest", f"unable to parse requirement: {term.strip()!r}")
        terms.append(match.groups())
    return terms


def labels_match(terms: list[tuple], labels: dict) -> bool:
    for negated, key, op, value, set_op, values in terms:
        if set_op:
            ok = (labels.get(key) in {v.strip() for v in values.split(",")}) == (set_op == "in")
        elif op:
            ok = (labels.get(key) == value) == (op != "!=")
        else:
            ok = (key in labels) != bool(negated)
        if not ok:
            return False
    return True


def parse_fields(text: str | None) -> list[tuple[str, bool, str]]:
    """fieldSelector on metadata.name/metadata.namespace as (field, equal, value); 400 BadRequest for anything else."""
    terms = []
    for term in filter(None, (text or "").split(",")):
        match = FIELD_TERM.match(term)
        if not match:
            raise KubeError(400, "BadRequest", f"invalid selector: '{term}'; can't understand '{term}'")
        if match[1] not in ("metadata.name", "metadata.namespace"):
            raise KubeError(400, "BadRequest", f'field label not supported: {match[1]}')
        terms.append((match[1].split(".")[1], match[2] != "!=", match[3]))
    return terms


class KubeApiEmulator(EmulatedServer):
    def __init__(self, crds: bool = True, history_size: int = 1000, bookmark_interval: float = 1.0, expired_mode: str = "event",
                 seed: int | None = None, tls: bool = False) -> None:
        self.history_size, self.bookmark_interval, self.expired_mode = history_size, bookmark_interval, expired_mode
        self.cond = threading.Condition()
        self._random = random.Random(seed)
        self.rv = self._random.randrange(10_000_000, 90_000_000)
        self.horizon = self.rv  # the history holds every event after this resourceVersion
        self.history: deque[Event] = deque()
        self.resources: dict[tuple[str, str], Resource] = {}
        self.objects: dict[tuple[str, str], dict[tuple[str, str], dict]] = {}
        self.watchers: list[Watcher] = []
        self._snapshots: dict[str, tuple[int, list[dict]]] = {}
        self.tokens: dict[str, dict] = {}
        self.token = self.add_token("system:serviceaccount:kube-system:route-source")
        self.requests: list[tuple[float, str, str, str]] = []  # (time.time(), method, path, query)
        self.base = tempfile.mkdtemp(prefix="kube-api-")
        for group, versions, plural, kind, namespaced in BUILTIN:
            self._install(Resource(group, versions, plural, kind, namespaced, builtin=True))
        for group, versions, plural, kind in DEFAULT_CRDS if crds else ():
            self.install_crd(group, versions, plural, kind)
        self._handler = self._make_handler()
        self._ssl_context: ssl.SSLContext | None = None
        self.ca_cert: str | None = None  # with tls: the server's self-signed certificate (its own CA), as a pod's ca.crt
        if tls:
            self.ca_cert, key_file = self_signed_certificate(self.base)
            self._ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._ssl_context.load_cert_chain(self.ca_cert, key_file)
        self.httpd = self._bind(0)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.httpd.server_address[1]}"

    # -- the harness side: state changes as kubectl would make them ---------------------------------------------------------

    def add_token(self, user: str = "tester", deny: tuple[str, ...] = ()) -> str:
        """A new bearer token for ``user``; ``deny`` names kinds, plurals or ``plural.group`` it gets 403 for."""
        token = secrets.token_urlsafe(24)
        self.tokens[token] = {"user": user, "deny": set(deny)}
        return token

    def _install(self, resource: Resource) -> None:
        with self.cond:
            self.resources[resource.key] = resource
            self.objects.setdefault(resource.key, {})

    def install_crd(self, group: str, versions: tuple[str, ...] | list[str], plural: str, kind: str, namespaced: bool = True) -> None:
        self._install(Resource(group, tuple(versions), plural, kind, namespaced))

    def remove_crd(self, group: str, plural: str) -> None:
        """The CRD goes with its objects (no events); its open watches end; its paths answer 404 again."""
        with self.cond:
            self.resources.pop((group, plural))
            self.objects.pop((group, plural), None)
            for watcher in self.watchers:
                watcher.closed = watcher.closed or watcher.key == (group, plural)
            self.cond.notify_all()

    def _resolve(self, kind: str) -> Resource:
        """``Kind``, ``Kind.group`` or ``plural[.group]``: the first installed resource that fits."""
        name, _dot, group = kind.partition(".")
        for resource in self.resources.values():
            if name in (resource.kind, resource.plural) and group in ("", resource.group):
                return resource
        raise KeyError(f"no such kind installed: {kind}")

    def _ref(self, ref: str) -> tuple[Resource, tuple[str, str]]:
        kind, _slash, rest = ref.partition("/")
        resource = self._resolve(kind)
        namespace, _slash, name = rest.rpartition("/")
        return resource, ((namespace or "default") if resource.namespaced else "", name)

    def _bump(self) -> int:
        self.rv += self._random.randint(1, 7)
        return self.rv

    def _emit(self, resource: Resource, kind: str, obj: dict, prev: dict | None) -> None:
        event = Event(self.rv, resource.key, kind, copy.deepcopy(obj), prev)
        self.history.append(event)
        while len(self.history) > self.history_size:
            self.horizon = self.history.popleft().rv
        for watcher in self.watchers:
            if watcher.key == resource.key:
                watcher.queue.append(event)
        self.cond.notify_all()

    def apply(self, obj: dict) -> dict:
        """Create or update (``status`` is ignored: set_status() sets it); generation grows when ``spec`` changes.

        An apply that changes nothing is no update: no new resourceVersion, no event. Returns the stored object.
        """
        group, _slash, version = obj["apiVersion"].rpartition("/")
        resource = self._resolve(f"{obj['kind']}.{group}")
        if version not in resource.versions:
            raise KeyError(f"{resource.plural}.{group} does not serve {version}")
        meta = obj.get("metadata") or {}
        key = ((meta.get("namespace") or "default") if resource.namespaced else "", meta["name"])
        with self.cond:
            store = self.objects[resource.key]
            old = store.get(key)
            new = {k: copy.deepcopy(v) for k, v in obj.items() if k not in ("metadata", "status")}
            new_meta = {"name": key[1], **({"namespace": key[0]} if resource.namespaced else {})}
            for item in ("labels", "annotations"):
                if meta.get(item):
                    new_meta[item] = dict(meta[item])
            if old is not None:
                same = {k: v for k, v in old.items() if k not in ("metadata", "status", "apiVersion")}
                unchanged = {k: v for k, v in new.items() if k != "apiVersion"} == same and all(
                    old["metadata"].get(item) == new_meta.get(item) for item in ("labels", "annotations"))
                if unchanged:
                    return copy.deepcopy(old)
                if "status" in old:
                    new["status"] = old["status"]
            generation = 1 if old is None else old["metadata"]["generation"] + (new.get("spec") != old.get("spec"))
            new_meta.update(uid=old["metadata"]["uid"] if old else str(uuid.uuid4()), generation=generation, resourceVersion=str(self._bump()),
                            creationTimestamp=old["metadata"]["creationTimestamp"] if old else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            new["metadata"] = new_meta
            store[key] = new
            self._emit(resource, "ADDED" if old is None else "MODIFIED", new, old)
            return copy.deepcopy(new)

    def set_status(self, ref: str, status: dict) -> dict:
        """``ref`` is ``Kind[.group]/namespace/name`` (``Kind/name`` when cluster-scoped): new status and resourceVersion."""
        resource, key = self._ref(ref)
        with self.cond:
            old = self.objects[resource.key][key]
            new = copy.deepcopy(old)
            new["status"] = copy.deepcopy(status)
            new["metadata"]["resourceVersion"] = str(self._bump())
            self.objects[resource.key][key] = new
            self._emit(resource, "MODIFIED", new, old)
            return copy.deepcopy(new)

    def delete(self, ref: str) -> dict:
        """Delete ``Kind[.group]/namespace/name``: the DELETED event carries its last state with a new resourceVersion."""
        resource, key = self._ref(ref)
        with self.cond:
            old = self.objects[resource.key].pop(key)
            gone = copy.deepcopy(old)
            gone["metadata"]["resourceVersion"] = str(self._bump())
            self._emit(resource, "DELETED", gone, old)
            return gone

    def compact(self) -> None:
        """Forget the history (and the continue tokens): a watch from an older resourceVersion gets 410 Expired."""
        with self.cond:
            self.history.clear()
            self.horizon = self.rv
            self._snapshots.clear()

    def drop_watches(self, silent: bool = True) -> None:
        """silent: the open watches send nothing more and stay open (a stalled watch); else they end (final chunk)."""
        with self.cond:
            for watcher in self.watchers:
                watcher.stalled = watcher.stalled or silent
                watcher.closed = watcher.closed or not silent
            self.cond.notify_all()

    def count(self, path: str = "", watch: bool | None = None) -> int:
        """Requests whose path starts with ``path`` (only watches, or only the others, with ``watch``)."""
        return sum(1 for _when, _method, p, q in self.requests if p.startswith(path) and (watch is None or _is_watch(q) == watch))

    def max_rate(self, path: str = "", window: float = 1.0) -> int:
        """The most requests (path starting with ``path``) seen within any ``window`` seconds."""
        times = sorted(t for t, _method, p, _query in self.requests if p.startswith(path))
        return max((sum(1 for u in times[i:] if u - t < window) for i, t in enumerate(times)), default=0)

    def kubeconfig(self, path: str, namespace: str = "default") -> str:
        """Write a kubeconfig (JSON, which is YAML) with the server URL and the token; returns ``path``."""
        config = {"apiVersion": "v1", "kind": "Config", "current-context": "emulator",
                  "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
                  "users": [{"name": "emulator", "user": {"token": self.token}}],
                  "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "emulator", "namespace": namespace}}]}
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(config, handle, indent=2)
        return path

    def env(self) -> dict[str, str]:
        return {"KUBECONFIG": self.kubeconfig(os.path.join(self.base, "kubeconfig"))}

    def service_account(self, namespace: str = "default") -> tuple[str, dict[str, str]]:
        """What a pod of this cluster gets (needs ``tls``): a directory with the service account's ``token``,
        ``ca.crt`` and ``namespace`` (mounted at /var/run/secrets/kubernetes.io/serviceaccount in a pod), and the
        environment KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT."""
        directory = os.path.join(self.base, "serviceaccount")
        os.makedirs(directory, exist_ok=True)
        shutil.copyfile(self.ca_cert, os.path.join(directory, "ca.crt"))
        for name, text in (("token", self.token), ("namespace", namespace)):
            with open(os.path.join(directory, name), "w", encoding="ascii") as handle:
                handle.write(text)
        return directory, {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(self.httpd.server_address[1])}

    # -- the server side -----------------------------------------------------------------------------------------------------

    def _bind(self, port: int) -> ClosingHTTPServer:
        return ClosingHTTPServer(("127.0.0.1", port), self._handler, ssl_context=self._ssl_context)

    def start(self) -> KubeApiEmulator:
        self._serve()
        return self

    def stop_server(self) -> None:
        super().stop_server()
        with self.cond:
            for watcher in self.watchers:
                watcher.closed = True
            self.cond.notify_all()

    def stop(self) -> None:
        self.stop_server()
        shutil.rmtree(self.base, ignore_errors=True)

    def _route(self, path: str) -> tuple[Resource | None, str, str, str | None, str | None]:
        """(resource or None if not installed, group, plural, namespace, name); 404 for a path that names no collection."""
        parts = path.strip("/").split("/")
        if len(parts) < 4 or parts[0] != "apis":
            raise not_found()
        group, version, rest, namespace = parts[1], parts[2], parts[3:], None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 2:
            raise not_found()
        resource = self.resources.get((group, rest[0]))
        if resource is not None and (version not in resource.versions or (namespace is not None and not resource.namespaced)):
            resource = None
        return resource, version, rest[0], namespace, rest[1] if len(rest) == 2 else None

    def _discovery(self, path: str) -> dict:
        parts = path.strip("/").split("/")
        if parts == ["apis"]:
            groups: dict[str, list[str]] = {}
            for resource in self.resources.values():
                known = groups.setdefault(resource.group, [])
                known.extend(v for v in resource.versions if v not in known)
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                 "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}} for g, vs in groups.items()]}
        found = [r for r in self.resources.values() if len(parts) == 3 and r.group == parts[1] and parts[2] in r.versions]
        if not found:
            raise not_found()
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{parts[1]}/{parts[2]}", "resources": [
            {"name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get", "list", "watch"]}
            for r in found]}

    def _authorize(self, token: str | None, verb: str, group: str, plural: str, namespace: str | None) -> None:
        grant = self.tokens.get(token or "")
        if grant is None:
            raise KubeError(401, "Unauthorized", "Unauthorized")
        resource = self.resources.get((group, plural))
        names = {plural, f"{plural}.{group}"} | ({resource.kind} if resource else set())
        if names & grant["deny"]:
            scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            raise KubeError(403, "Forbidden", f'{plural}.{group} is forbidden: User "{grant["user"]}" cannot {verb} resource "{plural}" '
                            f'in API group "{group}" {scope}', {"group": group, "kind": plural})

    @staticmethod
    def _render(obj: dict, resource: Resource, version: str, item: bool = False) -> dict:
        out = copy.deepcopy(obj)
        out["apiVersion"], out["kind"] = f"{resource.group}/{version}", resource.kind
        if item and resource.builtin:  # list items of built-in kinds come without kind and apiVersion
            del out["apiVersion"], out["kind"]
        return out

    @staticmethod
    def _selected(obj: dict | None, namespace: str | None, labels: list, fields: list) -> bool:
        if obj is None:
            return False
        meta = obj["metadata"]
        return (namespace is None or meta.get("namespace") == namespace) and labels_match(labels, meta.get("labels") or {}) and all(
            (meta.get(name, "") == value) == equal for name, equal, value in fields)

    def _list(self, resource: Resource, version: str, namespace: str | None, query: dict) -> dict:
        labels, fields = parse_labels(query.get("labelSelector")), parse_fields(query.get("fieldSelector"))
        limit, token = int(query.get("limit") or 0), query.get("continue")
        with self.cond:
            if token:
                snapshot = self._snapshots.get(token)
                if snapshot is None or snapshot[0] < self.horizon:
                    raise KubeError(410, "Expired", CONTINUE_EXPIRED)
                rv, items = snapshot
            else:
                rv = self.rv
                items = [self._render(o, resource, version, item=True) for _key, o in sorted(self.objects[resource.key].items())
                         if self._selected(o, namespace, labels, fields)]
            meta: dict = {"resourceVersion": str(rv)}
            if 0 < limit < len(items):
                last = items[limit - 1]["metadata"]
                start = f"{last.get('namespace', '')}/{last['name']}\x00"
                token = base64.urlsafe_b64encode(json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start,
                                                             "id": secrets.token_hex(4)}).encode()).decode()
                self._snapshots[token] = (rv, items[limit:])
                while len(self._snapshots) > 100:
                    self._snapshots.pop(next(iter(self._snapshots)))
                meta.update({"continue": token, "remainingItemCount": len(items) - limit})
                items = items[:limit]
        return {"kind": f"{resource.kind}List", "apiVersion": f"{resource.group}/{version}", "metadata": meta, "items": items}

    def _watch(self, handler: BaseHTTPRequestHandler, resource: Resource, version: str, namespace: str | None, query: dict) -> None:  # noqa: C901
        labels, fields = parse_labels(query.get("labelSelector")), parse_fields(query.get("fieldSelector"))
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else None
        initial_flag = {"true": True, "false": False}.get(query.get("sendInitialEvents", ""))
        rv_text, expired, pending = query.get("resourceVersion", ""), None, []
        with self.cond:
            if rv_text in ("", "0"):
                cursor, initial = self.rv, initial_flag is not False
            else:
                if not rv_text.isdigit():
                    raise KubeError(400, "BadRequest", f"invalid resource version: {rv_text}")
                cursor, initial = int(rv_text), initial_flag is True
                if cursor < self.horizon:
                    expired = KubeError(410, "Expired", f"too old resource version: {cursor} ({self.horizon})")
                    if self.expired_mode == "http":
                        raise expired
                pending = [e for e in self.history if e.rv > cursor and e.key == resource.key]
            if initial:
                pending = [Event(int(o["metadata"]["resourceVersion"]), resource.key, "ADDED", o, None)
                           for _key, o in sorted(self.objects[resource.key].items())]
            watcher = Watcher(resource.key)
            self.watchers.append(watcher)
            bookmark_rv = self.rv
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()

        def send(kind: str, obj: dict) -> None:
            data = json.dumps({"type": kind, "object": obj}).encode() + b"\n"
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

        def bookmark(rv: int, annotations: dict | None = None) -> None:
            meta = {"resourceVersion": str(rv), **({"annotations": annotations} if annotations else {})}
            send("BOOKMARK", {"kind": resource.kind, "apiVersion": f"{resource.group}/{version}", "metadata": meta})

        try:
            if expired is not None:
                send("ERROR", expired.status())
            else:
                deadline = time.monotonic() + timeout if timeout else None
                next_bookmark = time.monotonic() + self.bookmark_interval
                for event in pending:
                    if initial and self._selected(event.obj, namespace, labels, fields):
                        send("ADDED", self._render(event.obj, resource, version))
                    elif not initial:
                        self._send_change(send, event, resource, version, namespace, labels, fields)
                if initial and bookmarks and initial_flag:
                    bookmark(bookmark_rv, {"k8s.io/initial-events-end": "true"})
                while True:
                    with self.cond:
                        while True:
                            if watcher.closed or handler.server.closing or (watcher.stalled and _peer_gone(handler.connection)):
                                return
                            now = time.monotonic()
                            wakes = [t for t in (deadline, next_bookmark if bookmarks else None) if t is not None]
                            if not watcher.stalled and (watcher.queue or any(now >= t for t in wakes)):
                                break
                            self.cond.wait(0.2 if watcher.stalled or not wakes else min(0.2, min(wakes) - now))
                        events, bookmark_rv = list(watcher.queue), self.rv
                        watcher.queue.clear()
                    for event in events:
                        self._send_change(send, event, resource, version, namespace, labels, fields)
                    now = time.monotonic()
                    if bookmarks and (now >= next_bookmark or (deadline and now >= deadline)):
                        bookmark(bookmark_rv)
                        next_bookmark = now + self.bookmark_interval
                    if deadline and now >= deadline:
                        break
            handler.wfile.write(b"0\r\n\r\n")
        except OSError:
            handler.close_connection = True
        finally:
            with self.cond:
                self.watchers.remove(watcher)
            if watcher.closed and not handler.server.closing:
                with contextlib.suppress(OSError):
                    handler.wfile.write(b"0\r\n\r\n")

    def _send_change(self, send, event: Event, resource: Resource, version: str, namespace: str | None, labels: list, fields: list) -> None:
        """One stored event as this watch sees it: an object entering the selection is ADDED, one leaving it DELETED."""
        now, before = self._selected(event.obj, namespace, labels, fields), self._selected(event.prev, namespace, labels, fields)
        if event.type == "MODIFIED" and now != before:
            kind, obj = ("ADDED", event.obj) if now else ("DELETED", dict(event.prev, metadata=dict(event.prev["metadata"], resourceVersion=str(event.rv))))
        else:
            kind, obj = event.type, event.obj
        if now or before:
            send(kind, self._render(obj, resource, version))

    def _make_handler(self):
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _send(self, code: int, body: dict) -> None:
                payload = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _serve(self) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parsed.query))
                with emulator.cond:
                    emulator.requests.append((time.time(), self.command, parsed.path, parsed.query))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                auth = self.headers.get("Authorization", "")
                token = auth[7:] if auth.lower().startswith("bearer ") else None
                try:
                    if token not in emulator.tokens:
                        raise KubeError(401, "Unauthorized", "Unauthorized")
                    if self.command != "GET":
                        raise KubeError(405, "MethodNotAllowed", "the emulator serves GET only")
                    parts = parsed.path.strip("/").split("/")
                    if parts[0] == "apis" and len(parts) <= 3:
                        return self._send(200, emulator._discovery(parsed.path))
                    resource, version, plural, namespace, name = emulator._route(parsed.path)
                    watch = _is_watch(parsed.query) and name is None
                    emulator._authorize(token, "get" if name else "watch" if watch else "list", parts[1], plural, namespace)
                    if resource is None:
                        raise not_found()
                    if watch:
                        return emulator._watch(self, resource, version, namespace, query)
                    if name is None:
                        return self._send(200, emulator._list(resource, version, namespace, query))
                    with emulator.cond:
                        obj = emulator.objects[resource.key].get((namespace or "", name))
                    if obj is None:
                        raise not_found(f'{plural}.{resource.group} "{name}" not found', {"name": name, "group": resource.group, "kind": plural})
                    self._send(200, emulator._render(obj, resource, version))
                except KubeError as exc:
                    self._send(exc.code, exc.status())

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815 - http.server's method names

        return Handler


def _is_watch(query: str) -> bool:
    return dict(urllib.parse.parse_qsl(query)).get("watch") in ("true", "1")


def _peer_gone(connection: socket.socket) -> bool:
    """True when the client closed its end (a read would return EOF), for a stalled watch that sends nothing."""
    try:
        readable, _writable, _errors = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True
