# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the Kubernetes objects the route source reads, listed and watched through the official
``kubernetes`` client, kept in one cache.

One thread per kind and namespace (all namespaces when none is given) runs the loop of the API's change detection:
list (every page; the list's ``resourceVersion``), then watch from it with bookmarks, a server ``timeoutSeconds`` and
a client read timeout, so a connection that goes silent is noticed. The resourceVersion is taken from every event,
bookmarks included, and never compared or computed (it is opaque). A watch that ends is opened again from the last
one. ``410 Gone`` (an expired resourceVersion, as an HTTP status or an ERROR event) lists again and compares the list
with the cache: what is gone is deleted, what changed is updated. A kind whose API is not installed (a missing CRD:
404 for every version) is skipped with a warning and tried again; a CRD removed while watched keeps the cache as it
was, and counts as a failure until the CRD is back. Any other failure (the API server away, 401/403, a stalled watch)
is retried with backoff, and nothing is taken out of the cache because of it: only the API server's own answer (a
DELETED event, a list without the object) removes an object.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import sys
import threading
import time
import types
import typing as t
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from ansible_collections.ddi.kea_dns.plugins.module_utils._backoff import Backoff
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import MissingLibraryError

log = logging.getLogger("ddi.kea_dns.routes")
kubernetes: t.Any = None
LIST_PAGE = 500
USER_AGENT = "ddi.kea_dns route source"


def _libraries() -> None:
    global kubernetes
    if kubernetes is None:
        try:
            kubernetes = sys.modules.get("kubernetes") or _client_parts()
        except ImportError:  # pragma: no cover - the route program's requirements include kubernetes
            raise MissingLibraryError("kubernetes", "kubernetes") from None


def _package(name: str, path: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__path__ = [path]
    module.__package__ = name
    sys.modules[name] = module
    return module


def _client_parts() -> types.ModuleType:
    """The parts of the ``kubernetes`` package the route source uses: the configuration loaders, ``Configuration`` and
    the REST layer. ``import kubernetes`` loads every API class and every model (38 MB resident); its generated API
    layer (``ApiClient``, ``CustomObjectsApi``, ``Watch``) checks every call with pydantic (11 MB more). The packages
    ``kubernetes``, ``kubernetes.client``, ``kubernetes.config`` and ``kubernetes.utils`` are made here without running
    their ``__init__``, and ``KubeApi`` makes the two requests the watchers need. Tested with the pinned client (requirements.txt) by every
    route test."""
    spec = importlib.util.find_spec("kubernetes")
    if spec is None or not spec.origin:
        raise ImportError("kubernetes")
    root = os.path.dirname(spec.origin)
    package = _package("kubernetes", root)
    client = package.client = _package("kubernetes.client", os.path.join(root, "client"))
    package.utils = _package("kubernetes.utils", os.path.join(root, "utils"))  # the REST layer's retry and keepalive, not YAML
    for name in ("configuration", "rest", "exceptions"):
        importlib.import_module(f"kubernetes.client.{name}")
    modules = sys.modules
    client.Configuration = modules["kubernetes.client.configuration"].Configuration
    client.ApiException = modules["kubernetes.client.exceptions"].ApiException
    client.rest, client.exceptions = modules["kubernetes.client.rest"], modules["kubernetes.client.exceptions"]
    # kube_config names ApiClient only to ask an OIDC issuer for a new token: the generated client is loaded then.
    client.ApiClient = lambda *args, **kwargs: importlib.import_module("kubernetes.client.api_client").ApiClient(*args, **kwargs)
    config = package.config = _package("kubernetes.config", os.path.join(root, "config"))
    config.ConfigException = importlib.import_module("kubernetes.config.config_exception").ConfigException
    # Inside the cluster only the service account loader is needed; kube_config (OAuth, exec plugins) is loaded for a
    # kubeconfig file only.
    config.load_incluster_config = lambda: importlib.import_module("kubernetes.config.incluster_config").load_incluster_config()
    config.load_kube_config = lambda **kwargs: importlib.import_module("kubernetes.config.kube_config").load_kube_config(**kwargs)
    return package


class NotServed(Exception):
    """The API serves none of a kind's versions (its CRD is not installed)."""


@dataclass(frozen=True)
class Kind:
    kind: str
    group: str
    versions: tuple[str, ...]  # tried in order: the first the API serves is used
    plural: str


KINDS = {
    "Ingress": Kind("Ingress", "networking.k8s.io", ("v1",), "ingresses"),
    "IngressRoute": Kind("IngressRoute", "traefik.io", ("v1alpha1",), "ingressroutes"),
    "IngressRouteLegacy": Kind("IngressRoute", "traefik.containo.us", ("v1alpha1",), "ingressroutes"),  # opt-in
    "HTTPRoute": Kind("HTTPRoute", "gateway.networking.k8s.io", ("v1", "v1beta1"), "httproutes"),
    "Gateway": Kind("Gateway", "gateway.networking.k8s.io", ("v1", "v1beta1"), "gateways"),
}

ObjectKey = tuple[str, str, str]  # (kind name of KINDS, namespace, name)


def connect(kubeconfig: str | None) -> KubeApi:
    """The API of the cluster in ``kubeconfig``, or without one of the pod's service account (in-cluster); the
    loaders' ConfigException or OSError when the configuration cannot be read."""
    _libraries()
    if kubeconfig:
        kubernetes.config.load_kube_config(config_file=kubeconfig)
    else:
        kubernetes.config.load_incluster_config()
    return KubeApi()


class KubeApi:
    """The two requests the route source makes, a page of a list and a watch of one kind, through the client's
    ``Configuration`` as the loaders set it (server, TLS, proxy, the bearer token they refresh) and its REST layer
    (urllib3): what ``CustomObjectsApi.list_*_custom_object`` and ``Watch.stream`` send, without the generated layer.
    A status other than 2xx, and an ERROR event of a watch, raise the client's ApiException with that status."""

    def __init__(self, configuration: t.Any = None) -> None:
        _libraries()
        self.configuration = configuration or kubernetes.client.Configuration.get_default_copy()
        self.rest = kubernetes.client.rest.RESTClientObject(self.configuration)

    def _get(self, kind: Kind, version: str, namespace: str | None, query: t.Mapping[str, t.Any], timeouts: t.Any) -> t.Any:
        """The response, its body not read yet."""
        parts = ("apis", kind.group, version, *(("namespaces", namespace) if namespace else ()), kind.plural)
        url = f"{self.configuration.host}/{'/'.join(quote(part, safe='') for part in parts)}?{urlencode(query)}"
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        for setting in self.configuration.auth_settings().values():  # the bearer token, refreshed by the loaders' hook
            if setting["in"] == "header" and setting["value"]:
                headers[setting["key"]] = setting["value"]
        response = self.rest.request("GET", url, headers=headers, _request_timeout=timeouts)
        if not 200 <= response.status <= 299:
            response.read()
            kubernetes.client.ApiException.from_response(http_resp=response, body=None, data=None)  # raises
        return response.response

    def list(self, kind: Kind, version: str, namespace: str | None, limit: int, token: str | None, timeouts: t.Any = None) -> dict:
        """One page of the list: the decoded list object."""
        response = self._get(kind, version, namespace, {"limit": limit, **({"continue": token} if token else {})}, timeouts)
        try:
            return json.loads(response.data)
        finally:
            response.release_conn()

    def watch(self, kind: Kind, version: str, namespace: str | None, resource_version: str, timeout_seconds: int,
              timeouts: t.Any = None) -> t.Iterator[dict]:
        """The events of a watch with bookmarks from ``resource_version``, until the server ends it."""
        query = {"watch": "true", "allowWatchBookmarks": "true", "resourceVersion": resource_version, "timeoutSeconds": timeout_seconds}
        response = self._get(kind, version, namespace, query, timeouts)
        try:
            partial = b""  # a line not ended yet
            for chunk in response.stream(amt=None, decode_content=False):
                *lines, partial = (partial + chunk).split(b"\n")
                for line in lines:
                    try:
                        event = json.loads(line.decode("utf-8", "replace"))
                    except ValueError:
                        continue  # an empty or cut line, skipped as the client does
                    if event.get("type") == "ERROR":
                        status = event.get("object") or {}
                        raise kubernetes.client.ApiException(status=status.get("code"), reason=f"{status.get('reason')}: {status.get('message')}")
                    yield event
        finally:
            response.close()  # a watch ended early leaves unread data: its connection is not reused
            response.release_conn()


def watched_kinds(kinds: t.Iterable[str], traefik_legacy: bool = False) -> list[str]:
    """The KINDS to read for the route kinds asked: the legacy Traefik group when asked, the Gateways of HTTPRoutes."""
    found = list(kinds)
    if traefik_legacy and "IngressRoute" in found:
        found.append("IngressRouteLegacy")
    if "HTTPRoute" in found:
        found.append("Gateway")
    return found


def list_kind(api: KubeApi, name: str, namespace: str | None, timeouts: t.Any = None,
              on_request: t.Callable[[str], None] | None = None) -> tuple[str, str, dict[ObjectKey, dict]]:
    """Every page of the list of KINDS[name] (in ``namespace``, or all): (the version served, the list's
    resourceVersion, the objects). NotServed when no version of it is served (its CRD is not installed)."""
    _libraries()
    kind = KINDS[name]
    for version in kind.versions:
        try:
            listed, token, resource_version = {}, None, ""
            while True:
                if on_request is not None:
                    on_request("list")
                page = api.list(kind, version, namespace, LIST_PAGE, token, timeouts)
                listed.update({object_key(name, item): slim(item) for item in page.get("items") or []})
                meta = page.get("metadata") or {}
                token, resource_version = meta.get("continue"), meta.get("resourceVersion") or resource_version
                if not token:
                    return version, resource_version, listed
        except kubernetes.client.ApiException as exc:
            if exc.status != 404:
                raise
    raise NotServed(f"{kind.group} {'/'.join(kind.versions)} {kind.plural} is not served (CRD not installed)")


def slim(obj: t.Mapping) -> dict:
    """What the route source reads of an object (metadata name, namespace, annotations and versions; spec; status):
    a cluster's objects also carry managedFields and other metadata, often more than the rest together."""
    meta = obj.get("metadata") or {}
    kept = {key: meta[key] for key in ("name", "namespace", "annotations", "resourceVersion", "generation") if meta.get(key) is not None}
    return {key: value for key, value in (("apiVersion", obj.get("apiVersion")), ("kind", obj.get("kind")), ("metadata", kept),
                                          ("spec", obj.get("spec")), ("status", obj.get("status"))) if value is not None}


def object_key(kind: str, obj: t.Mapping) -> ObjectKey:
    meta = obj.get("metadata") or {}
    return kind, meta.get("namespace") or "", meta.get("name") or ""


class Cache:
    """The objects of every watched kind, and the keys changed since the consumer last took them."""

    def __init__(self) -> None:
        self.objects: dict[ObjectKey, dict] = {}
        self.dirty: set[ObjectKey] = set()
        self.changed = threading.Condition()
        self.events = 0

    def put(self, key: ObjectKey, obj: dict | None) -> None:
        with self.changed:
            if obj is None:
                if self.objects.pop(key, None) is None:
                    return
            elif self.objects.get(key) == obj:
                return
            else:
                self.objects[key] = obj
            self.dirty.add(key)
            self.events += 1
            self.changed.notify_all()

    def replace(self, kind: str, namespace: str | None, listed: t.Mapping[ObjectKey, dict]) -> None:
        """A fresh list of ``kind`` (in ``namespace``, or all) against the cache: gone objects deleted, others put."""
        with self.changed:
            stale = [key for key in self.objects if key[0] == kind and (namespace is None or key[1] == namespace) and key not in listed]
        for key in stale:
            self.put(key, None)
        for key, obj in listed.items():
            self.put(key, obj)

    def take(self, wait: float, settle: float) -> set[ObjectKey]:
        """The keys changed since the last call: waits up to ``wait`` seconds for a first change, then until no change
        came for ``settle`` seconds (a burst is taken as one), at most ``wait`` more."""
        with self.changed:
            if not self.dirty:
                self.changed.wait(wait)
            deadline = time.monotonic() + wait
            while self.dirty and time.monotonic() < deadline:
                before = self.events
                self.changed.wait(settle)
                if self.events == before:
                    break
            taken, self.dirty = self.dirty, set()
            return taken

    def snapshot(self) -> dict[ObjectKey, dict]:
        with self.changed:
            return dict(self.objects)


@dataclass
class WatchStatus:
    """What one watcher reports to the health endpoint and the metrics."""

    kind: str
    namespace: str | None
    synced: bool = False  # listed at least once since the last failure
    installed: bool = True  # False while its API (CRD) is missing
    error: str | None = None
    objects: int = 0


class Watcher(threading.Thread):
    """list + watch of one kind in one namespace (None: all) into ``cache``."""

    def __init__(self, api: KubeApi, name: str, namespace: str | None, cache: Cache, stop: threading.Event, *, watch_timeout: int = 300,
                 read_timeout: float = 90.0, connect_timeout: float = 10.0, retry_max_interval: float = 30.0,
                 on_request: t.Callable[[str], None] | None = None) -> None:
        super().__init__(name=f"watch-{name}-{namespace or 'all'}", daemon=True)
        _libraries()
        self.api, self.kind, self.key = api, KINDS[name], name
        self.namespace, self.cache, self.stopping = namespace, cache, stop
        self.watch_timeout, self.timeouts = watch_timeout, (connect_timeout, read_timeout)
        self.backoff = Backoff(retry_max_interval)
        self.status = WatchStatus(name, namespace)
        self.on_request = on_request or (lambda what: None)
        self.version = self.kind.versions[0]
        self.listed_once = False

    def _list(self) -> str:
        """Every page of the list into the cache; returns the list's resourceVersion."""
        self.version, resource_version, listed = list_kind(self.api, self.key, self.namespace, self.timeouts, self.on_request)
        self.cache.replace(self.key, self.namespace, listed)
        self.status.objects = len(listed)
        return resource_version

    def _watch(self, resource_version: str) -> str:
        """Events into the cache until the watch ends; returns the last resourceVersion seen."""
        self.on_request("watch")
        for event in self.api.watch(self.kind, self.version, self.namespace, resource_version, self.watch_timeout, self.timeouts):
            obj = event.get("object") or {}
            resource_version = (obj.get("metadata") or {}).get("resourceVersion") or resource_version
            kind = event.get("type")
            if kind in ("ADDED", "MODIFIED"):
                self.cache.put(object_key(self.key, obj), slim(obj))
            elif kind == "DELETED":
                self.cache.put(object_key(self.key, obj), None)
            if self.stopping.is_set():
                break
        return resource_version

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                resource_version = self._list()
                self.listed_once = True
                self.status.synced, self.status.installed, self.status.error = True, True, None
                self.backoff.reset()
                while not self.stopping.is_set():
                    resource_version = self._watch(resource_version)
            except kubernetes.client.ApiException as exc:
                if exc.status == 410:
                    log.info("%s: resourceVersion expired (410 Gone): listing again", self.name)
                    continue
                if exc.status == 404:
                    self._gone(f"{self.kind.group}/{self.version} {self.kind.plural} is no longer served")
                else:
                    self._failed(f"HTTP {exc.status} {exc.reason}".strip())
            except NotServed as exc:
                self._gone(str(exc))
            except Exception as exc:  # noqa: BLE001 - connection errors of urllib3 and the client: retried, never fatal
                self._failed(f"{exc.__class__.__name__}: {str(exc)[:200]}")
            self.stopping.wait(self.backoff.next())

    def _gone(self, why: str) -> None:
        """The kind is not served. Never listed: its CRD is not installed, the kind is skipped (not a failure). Listed
        before: its CRD was removed while watched, a failure until it is back; the cache keeps what it had."""
        if self.listed_once:
            self._failed(f"{why} (its CRD was removed while watched)")
            return
        if self.status.installed:
            log.warning("%s: %s: skipped, tried again with backoff", self.name, why)
        self.status.installed, self.status.error = False, None

    def _failed(self, why: str) -> None:
        log.warning("%s: Kubernetes API failing (%s): nothing is removed; retrying with backoff", self.name, why)
        self.status.synced, self.status.error = False, why
