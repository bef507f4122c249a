"""The Kubernetes API server emulator (tests/harness/kube_api.py), driven only through the real kubernetes client.

What the client does on 410, as observed here (kubernetes 37.0.2): ``Watch.stream()`` raises ``ApiException(410)`` at
once for an HTTP 410 answer. For a 200 stream whose event is ERROR 410 it retries once from the same resourceVersion
and then raises ``ApiException(status=410, reason="Expired: too old resource version: ...")``, unless
``timeout_seconds`` is given: then it does not retry and raises on the first ERROR.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from kubernetes import client, config, watch
from urllib3.exceptions import MaxRetryError, ProtocolError, ReadTimeoutError

from tests.harness.kube_api import KubeApiEmulator
from tests.harness.procs import launch

NS_INGRESSES = "/apis/networking.k8s.io/v1/namespaces/default/ingresses"


@pytest.fixture
def kube():
    server = launch(KubeApiEmulator(bookmark_interval=0.2, seed=1))
    yield server
    server.stop()


def ingress(name: str, host: str, namespace: str = "default", labels: dict | None = None) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"ingressClassName": "traefik", "rules": [{"host": host}]}}


def route(name: str, host: str, group: str = "traefik.io") -> dict:
    return {"apiVersion": f"{group}/v1alpha1", "kind": "IngressRoute", "metadata": {"name": name, "namespace": "default"},
            "spec": {"routes": [{"match": f"Host(`{host}`)", "kind": "Rule"}]}}


def api_client(kube: KubeApiEmulator, token: str | None = "") -> client.ApiClient:
    """A client for the emulator with its token ("" for the default one, None for no Authorization header)."""
    cfg = client.Configuration(host=kube.url)
    if token is not None:
        cfg.api_key, cfg.api_key_prefix = {"authorization": token or kube.token}, {"authorization": "Bearer"}
    return client.ApiClient(cfg)


def net(kube: KubeApiEmulator, token: str | None = "") -> client.NetworkingV1Api:
    return client.NetworkingV1Api(api_client(kube, token))


def custom(kube: KubeApiEmulator, token: str | None = "") -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client(kube, token))


def take(count: int, func, *args, **kwargs) -> list[tuple[str, dict]]:
    """Up to ``count`` events (type, raw object) from Watch.stream(); the stream ends at timeout_seconds (default 2)."""
    kwargs.setdefault("timeout_seconds", 2)
    if kwargs["timeout_seconds"] is None:  # Watch.stream() retries only when timeout_seconds is absent
        del kwargs["timeout_seconds"]
    found = []
    for event in watch.Watch().stream(func, *args, **kwargs):
        found.append((event["type"], event["raw_object"]))
        if len(found) >= count:
            break
    return found


def rvs(events: list[tuple[str, dict]]) -> list[int]:
    return [int(obj["metadata"]["resourceVersion"]) for _kind, obj in events]  # the emulator's grow; real clients compare for equality only


def status_of(exc: client.ApiException) -> dict:
    return json.loads(exc.body)


def test_list_pagination_consistent_snapshot_and_expired_continue(kube):
    for i in range(5):
        kube.apply(ingress(f"web{i}", f"web{i}.site.test", namespace="apps" if i % 2 else "default"))
    api = net(kube)
    first = api.list_ingress_for_all_namespaces(limit=2)
    assert [(i.metadata.namespace, i.metadata.name) for i in first.items] == [("apps", "web1"), ("apps", "web3")]
    assert first.metadata.remaining_item_count == 3 and first.metadata._continue
    kube.apply(ingress("web4", "changed.site.test"))  # after the first page: the next pages still show the snapshot
    second = api.list_ingress_for_all_namespaces(limit=2, _continue=first.metadata._continue)
    third = api.list_ingress_for_all_namespaces(limit=2, _continue=second.metadata._continue)
    assert [i.metadata.name for i in second.items + third.items] == ["web0", "web2", "web4"]
    assert third.items[0].spec.rules[0].host == "web4.site.test" and third.metadata._continue is None
    assert first.metadata.resource_version == second.metadata.resource_version == third.metadata.resource_version
    assert api.list_ingress_for_all_namespaces().metadata.resource_version != first.metadata.resource_version

    raw = json.loads(api.list_namespaced_ingress("default", _preload_content=False).data)
    assert raw["kind"] == "IngressList" and raw["apiVersion"] == "networking.k8s.io/v1"
    assert "kind" not in raw["items"][0] and {"uid", "generation", "creationTimestamp", "resourceVersion"} <= set(raw["items"][0]["metadata"])

    token = api.list_ingress_for_all_namespaces(limit=2).metadata._continue
    kube.compact()
    for stale in (token, "bm90IGEgdG9rZW4="):
        with pytest.raises(client.ApiException) as exc:
            api.list_ingress_for_all_namespaces(limit=2, _continue=stale)
        assert exc.value.status == 410
        assert {k: status_of(exc.value)[k] for k in ("kind", "status", "reason", "code")} == \
            {"kind": "Status", "status": "Failure", "reason": "Expired", "code": 410}


def test_watch_from_list_resource_version_replays_changes_in_order(kube):
    kube.apply(ingress("a", "a.site.test"))
    api = net(kube)
    start = api.list_namespaced_ingress("default").metadata.resource_version
    kube.apply(ingress("b", "b.site.test"))
    kube.apply(ingress("a", "a2.site.test"))
    assert kube.apply(ingress("a", "a2.site.test"))["metadata"]["generation"] == 2  # a no-op apply: no event
    kube.set_status("Ingress/default/a", {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}})
    kube.delete("Ingress/default/b")
    events = take(4, api.list_namespaced_ingress, "default", resource_version=start)
    assert [(t, o["metadata"]["name"]) for t, o in events] == [("ADDED", "b"), ("MODIFIED", "a"), ("MODIFIED", "a"), ("DELETED", "b")]
    assert int(start) < rvs(events)[0] and rvs(events) == sorted(set(rvs(events)))
    assert [o["metadata"]["generation"] for _kind, o in events[1:3]] == [2, 2] and events[2][1]["status"]["loadBalancer"]["ingress"][0]["ip"]
    assert events[3][1]["spec"]["rules"][0]["host"] == "b.site.test"  # DELETED: the last state, with a new resourceVersion

    typed = next(watch.Watch().stream(api.list_namespaced_ingress, "default", resource_version=start, timeout_seconds=1))
    assert isinstance(typed["object"], client.V1Ingress) and typed["object"].spec.rules[0].host == "b.site.test"

    later = api.list_namespaced_ingress("default").metadata.resource_version
    timer = threading.Timer(0.2, lambda: (kube.apply(ingress("c", "c.site.test")), kube.delete("Ingress/default/c")))
    timer.start()
    began = time.monotonic()
    live = take(2, api.list_namespaced_ingress, "default", resource_version=later)
    timer.join()
    assert [t for t, _obj in live] == ["ADDED", "DELETED"] and time.monotonic() - began < 1.5


def test_bookmarks_only_when_asked_and_timeout_ends_the_stream(kube):
    kube.apply(ingress("a", "a.site.test"))
    api = net(kube)
    current = api.list_namespaced_ingress("default").metadata.resource_version
    began = time.monotonic()
    assert take(10, api.list_namespaced_ingress, "default", resource_version=current, timeout_seconds=1) == []
    assert 0.9 < time.monotonic() - began < 1.8
    marks = take(3, api.list_namespaced_ingress, "default", resource_version=current, allow_watch_bookmarks=True)
    assert [t for t, _obj in marks] == ["BOOKMARK"] * 3
    assert marks[0][1] == {"kind": "Ingress", "apiVersion": "networking.k8s.io/v1", "metadata": {"resourceVersion": current}}
    kube.bookmark_interval = 30.0  # none periodically within the timeout: the one before the close remains
    closing = take(10, api.list_namespaced_ingress, "default", resource_version=current, allow_watch_bookmarks=True, timeout_seconds=1)
    assert [t for t, _obj in closing] == ["BOOKMARK"]


def test_unset_or_zero_resource_version_starts_with_synthetic_added(kube):
    first, second = kube.apply(route("r1", "r1.site.test")), kube.apply(route("r2", "r2.site.test"))
    kube.apply(route("legacy", "old.site.test", group="traefik.containo.us"))
    api = custom(kube)
    for rv in (None, "0"):
        kwargs = {"resource_version": rv} if rv else {}
        events = take(2, api.list_namespaced_custom_object, "traefik.io", "v1alpha1", "default", "ingressroutes", **kwargs)
        assert [(t, o["metadata"]["name"], o["metadata"]["resourceVersion"]) for t, o in events] == \
            [("ADDED", "r1", first["metadata"]["resourceVersion"]), ("ADDED", "r2", second["metadata"]["resourceVersion"])]
        assert events[0][1]["apiVersion"] == "traefik.io/v1alpha1" and events[0][1]["kind"] == "IngressRoute"
    legacy = take(5, api.list_cluster_custom_object, "traefik.containo.us", "v1alpha1", "ingressroutes", timeout_seconds=1)
    assert [o["metadata"]["name"] for _kind, o in legacy] == ["legacy"]

    kube.apply(ingress("a", "a.site.test"))
    initial = take(2, net(kube).list_namespaced_ingress, "default", send_initial_events=True, resource_version_match="NotOlderThan",
                   allow_watch_bookmarks=True)
    assert [t for t, _obj in initial] == ["ADDED", "BOOKMARK"]
    assert initial[1][1]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}

    kube.apply({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "h", "namespace": "default"},
                "spec": {"hostnames": ["h.site.test"]}})
    for version in ("v1", "v1beta1"):  # one storage, served under both versions
        served = api.get_namespaced_custom_object("gateway.networking.k8s.io", version, "default", "httproutes", "h")
        assert served["apiVersion"] == f"gateway.networking.k8s.io/{version}" and served["spec"]["hostnames"] == ["h.site.test"]


def test_too_old_resource_version_as_http_410(kube):
    kube.expired_mode = "http"
    kube.apply(ingress("a", "a.site.test"))
    api = net(kube)
    old = api.list_namespaced_ingress("default").metadata.resource_version
    kube.apply(ingress("a", "a2.site.test"))
    kube.compact()
    with pytest.raises(client.ApiException) as exc:
        take(1, api.list_namespaced_ingress, "default", resource_version=old, timeout_seconds=None)
    assert exc.value.status == 410 and status_of(exc.value)["reason"] == "Expired"
    assert kube.count(NS_INGRESSES, watch=True) == 1  # the client does not retry an HTTP 410
    assert take(1, api.list_namespaced_ingress, "default", resource_version=api.list_namespaced_ingress("default").metadata.resource_version,
                timeout_seconds=1) == []


def test_too_old_resource_version_as_error_event(kube):
    kube.apply(ingress("a", "a.site.test"))
    api = net(kube)
    old = api.list_namespaced_ingress("default").metadata.resource_version
    kube.apply(ingress("a", "a2.site.test"))
    kube.compact()
    raw = api.list_namespaced_ingress("default", watch=True, resource_version=old, _preload_content=False)
    assert raw.status == 200 and raw.headers["Transfer-Encoding"] == "chunked" and "Content-Encoding" not in raw.headers
    lines = raw.data.decode().splitlines()
    assert len(lines) == 1
    error = json.loads(lines[0])
    assert error["type"] == "ERROR" and {k: error["object"][k] for k in ("kind", "apiVersion", "status", "reason", "code")} == \
        {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired", "code": 410}

    before = kube.count(NS_INGRESSES, watch=True)
    with pytest.raises(client.ApiException) as exc:  # with timeout_seconds: no retry
        take(1, api.list_namespaced_ingress, "default", resource_version=old, timeout_seconds=1)
    assert exc.value.status == 410 and exc.value.reason.startswith("Expired: too old resource version")
    assert kube.count(NS_INGRESSES, watch=True) - before == 1
    before = kube.count(NS_INGRESSES, watch=True)
    with pytest.raises(client.ApiException) as exc:  # without: one retry from the same resourceVersion, then the exception
        take(1, api.list_namespaced_ingress, "default", resource_version=old, timeout_seconds=None)
    assert exc.value.status == 410
    assert kube.count(NS_INGRESSES, watch=True) - before == 2


def test_label_and_field_selectors(kube):
    kube.apply(ingress("web", "web.site.test", labels={"app": "web", "tier": "front"}))
    kube.apply(ingress("db", "db.site.test", labels={"app": "db", "tier": "back"}))
    kube.apply(ingress("bare", "bare.site.test"))
    kube.apply(ingress("web", "web.other.test", namespace="other", labels={"app": "web"}))
    api = net(kube)

    def names(**kwargs) -> list[str]:
        return [f"{i.metadata.namespace}/{i.metadata.name}" for i in api.list_ingress_for_all_namespaces(**kwargs).items]

    assert names(label_selector="app=web") == ["default/web", "other/web"]
    assert names(label_selector="app==web,tier!=back") == ["default/web", "other/web"]
    assert names(label_selector="tier!=front") == ["default/bare", "default/db", "other/web"]
    assert names(label_selector="tier") == ["default/db", "default/web"] and names(label_selector="!app") == ["default/bare"]
    assert names(label_selector="tier in (front,edge),app") == ["default/web"]
    assert names(field_selector="metadata.name=web") == ["default/web", "other/web"]
    assert names(field_selector="metadata.namespace!=default") == ["other/web"]
    assert names(field_selector="metadata.name=web,metadata.namespace=default", label_selector="app=web") == ["default/web"]
    with pytest.raises(client.ApiException) as exc:
        names(field_selector="spec.ingressClassName=traefik")
    assert exc.value.status == 400 and status_of(exc.value)["reason"] == "BadRequest"

    start = api.list_ingress_for_all_namespaces().metadata.resource_version
    kube.apply(ingress("db", "db.site.test", labels={"app": "web"}))  # enters app=web
    kube.apply(ingress("web", "web.site.test", labels={"app": "api"}))  # leaves it
    kube.apply(ingress("web", "web.other.test", namespace="other", labels={"app": "web", "x": "y"}))  # another namespace
    events = take(2, api.list_namespaced_ingress, "default", resource_version=start, label_selector="app=web")
    assert [(t, o["metadata"]["name"]) for t, o in events] == [("ADDED", "db"), ("DELETED", "web")]
    assert events[1][1]["metadata"]["labels"] == {"app": "web", "tier": "front"} and int(events[1][1]["metadata"]["resourceVersion"]) > int(start)
    fields = take(5, api.list_ingress_for_all_namespaces, resource_version=start, field_selector="metadata.namespace=other", timeout_seconds=1)
    assert [(t, o["metadata"]["namespace"]) for t, o in fields] == [("MODIFIED", "other")]


def test_custom_resource_not_installed_then_installed_then_removed(kube):
    api = custom(kube)
    with pytest.raises(client.ApiException) as exc:
        api.list_namespaced_custom_object("example.test", "v1", "default", "widgets")
    assert exc.value.status == 404 and {k: status_of(exc.value)[k] for k in ("kind", "status", "reason", "code")} == \
        {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404}
    kube.install_crd("example.test", ["v1"], "widgets", "Widget")
    kube.apply({"apiVersion": "example.test/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}})
    listed = api.list_namespaced_custom_object("example.test", "v1", "default", "widgets")
    assert listed["kind"] == "WidgetList" and [o["metadata"]["name"] for o in listed["items"]] == ["w"]
    with pytest.raises(client.ApiException) as exc:
        api.get_namespaced_custom_object("example.test", "v1", "default", "widgets", "missing")
    assert exc.value.status == 404 and status_of(exc.value)["details"]["name"] == "missing"

    ended: list[float] = []

    def follow() -> None:
        take(10, api.list_namespaced_custom_object, "example.test", "v1", "default", "widgets", resource_version=listed["metadata"]["resourceVersion"],
             timeout_seconds=5)
        ended.append(time.monotonic())

    thread = threading.Thread(target=follow)
    thread.start()
    time.sleep(0.3)
    removed = time.monotonic()
    kube.remove_crd("example.test", "widgets")
    thread.join(timeout=6)
    assert ended and ended[0] - removed < 1.0  # removing the CRD ends its watches
    with pytest.raises(client.ApiException) as exc:
        api.list_namespaced_custom_object("example.test", "v1", "default", "widgets")
    assert exc.value.status == 404

    bare = launch(KubeApiEmulator(crds=False))
    try:
        with pytest.raises(client.ApiException) as exc:
            custom(bare).list_cluster_custom_object("traefik.io", "v1alpha1", "ingressroutes")
        assert exc.value.status == 404
        assert net(bare).list_ingress_class().items == []
    finally:
        bare.stop()


def test_unauthorized_and_forbidden(kube):
    for token in (None, "wrong"):
        with pytest.raises(client.ApiException) as exc:
            net(kube, token).list_ingress_for_all_namespaces()
        assert exc.value.status == 401
        assert status_of(exc.value) == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized",
                                        "reason": "Unauthorized", "code": 401}
        with pytest.raises(client.ApiException) as exc:
            take(1, net(kube, token).list_namespaced_ingress, "default")
        assert exc.value.status == 401
    limited = kube.add_token("system:serviceaccount:dns:limited", deny=("IngressRoute",))
    assert net(kube, limited).list_ingress_for_all_namespaces().items == []
    with pytest.raises(client.ApiException) as exc:
        custom(kube, limited).list_namespaced_custom_object("traefik.io", "v1alpha1", "default", "ingressroutes")
    assert exc.value.status == 403 and status_of(exc.value)["reason"] == "Forbidden"
    assert 'cannot list resource "ingressroutes" in API group "traefik.io" in the namespace "default"' in status_of(exc.value)["message"]


def test_silent_drop_gives_a_read_timeout_and_a_loud_drop_ends_the_stream(kube):
    api = net(kube)
    current = api.list_namespaced_ingress("default").metadata.resource_version
    stream = watch.Watch().stream(api.list_namespaced_ingress, "default", resource_version=current, allow_watch_bookmarks=True,
                                  timeout_seconds=10, _request_timeout=(1, 0.8))
    assert [next(stream)["type"] for _mark in range(2)] == ["BOOKMARK", "BOOKMARK"]  # every 0.2 s: the 0.8 s read timeout does not fire
    kube.drop_watches(silent=True)
    began = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        for _event in stream:
            pass
    assert time.monotonic() - began < 2.5

    ended: list[float] = []
    thread = threading.Thread(target=lambda: (take(10, api.list_namespaced_ingress, "default", resource_version=current, timeout_seconds=10),
                                              ended.append(time.monotonic())))
    thread.start()
    time.sleep(0.3)
    dropped = time.monotonic()
    kube.drop_watches(silent=False)
    thread.join(timeout=5)
    assert ended and ended[0] - dropped < 1.0


def test_stop_and_start_keep_the_data(kube):
    kube.apply(ingress("a", "a.site.test"))
    api = net(kube)
    before = api.list_namespaced_ingress("default")
    stream = watch.Watch().stream(api.list_namespaced_ingress, "default", resource_version=before.metadata.resource_version,
                                  allow_watch_bookmarks=True, timeout_seconds=10)
    assert next(stream)["type"] == "BOOKMARK"
    kube.stop_server()
    assert kube.stopped
    with pytest.raises(ProtocolError, match="ended prematurely"):  # the connection cut with no final chunk
        for _event in stream:
            pass
    with pytest.raises(MaxRetryError):
        api.list_namespaced_ingress("default", _request_timeout=(1, 1))
    kube.apply(ingress("b", "b.site.test"))  # changed while stopped, as etcd would be
    kube.start_server()
    after = api.list_namespaced_ingress("default")
    assert [i.metadata.name for i in after.items] == ["a", "b"] and after.items[0].metadata.uid == before.items[0].metadata.uid
    replay = take(1, api.list_namespaced_ingress, "default", resource_version=before.metadata.resource_version)
    assert [(t, o["metadata"]["name"]) for t, o in replay] == [("ADDED", "b")]


def test_kubeconfig_and_request_log(kube, tmp_path):
    kube.apply({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "traefik"},
                "spec": {"controller": "traefik.io/ingress-controller"}})
    cfg = client.Configuration()
    config.load_kube_config(config_file=kube.kubeconfig(str(tmp_path / "config")), client_configuration=cfg)
    api = client.NetworkingV1Api(client.ApiClient(cfg))
    assert [c.metadata.name for c in api.list_ingress_class().items] == ["traefik"]
    assert api.read_ingress_class("traefik").spec.controller == "traefik.io/ingress-controller"
    assert kube.env()["KUBECONFIG"].endswith("kubeconfig")
    for _attempt in range(4):
        api.list_namespaced_ingress("default")
    assert kube.count(NS_INGRESSES) == 4 and kube.count("/apis/networking.k8s.io/v1/ingressclasses") == 2
    assert kube.max_rate(NS_INGRESSES) == 4 and kube.max_rate(NS_INGRESSES, window=1e-9) == 1
    assert all(isinstance(t, float) and method == "GET" for t, method, _path, _query in kube.requests)
