"""The route program (Kubernetes routes -> DNS) as a real process against the Kubernetes API server emulator, driven
through the real kubernetes client, writing to the Technitium emulator and to real Knot and PowerDNS: create, hostname
change, delete, a route deleted while the program was down, 410 mid-stream, a stalled watch, a CRD absent then
installed, an emptied status, the API server restarted, bad routes skipped, and the Kea pipeline's records in the same
zone left alone."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from tests.harness.ansible import run_tasks
from tests.harness.kube_api import KubeApiEmulator
from tests.harness.pipeline import ZONE, listener_target
from tests.harness.procs import launch, wait_for
from tests.harness.routes import RouteProcess, in_pod, ingress, ingressroute, route_target
from tests.harness.solidserver import self_signed_certificate

TARGETS = ("technitium", "knot", "powerdns")
LB = {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}


@pytest.fixture
def kube():
    server = launch(KubeApiEmulator(bookmark_interval=0.5))
    yield server
    server.stop()


@pytest.fixture(params=TARGETS)
def target(request):
    return route_target(request, request.param)


@pytest.fixture
def programs():
    started: list[RouteProcess] = []
    yield started
    for program in started:
        program.stop()


def program(kube, target, programs, **options) -> RouteProcess:
    made = RouteProcess({"zones": [ZONE], **target.options, "read_timeout": 3.0, **options}, {**kube.env(), **target.env})
    programs.append(made)
    return made


def name(label: str) -> str:
    return f"{label}.{ZONE}"


def publish(kube, obj: dict, status: dict | None | bool = True) -> None:
    """Apply ``obj``; an Ingress gets ``status`` (True: the load balancer address LB; None: its status stays)."""
    kube.apply(obj)
    status = LB if status is True else status
    if status is not None and obj["kind"] == "Ingress":
        kube.set_status(f"Ingress/{obj['metadata']['namespace']}/{obj['metadata']['name']}", status)


def test_create_change_delete_and_a_route_deleted_while_down(kube, target, programs):
    publish(kube, ingress("web", name("web-a")))
    routes = program(kube, target, programs).start()
    wait_for(lambda: target.server.query(name("web-a")) == ["192.0.2.10"], 10, "the first record")
    # The hostname changes: the old name goes, the new one comes.
    publish(kube, ingress("web", name("web-b")), status=None)
    wait_for(lambda: target.server.query(name("web-b")) == ["192.0.2.10"] and target.server.query(name("web-a")) == [], 10, "the renamed record")
    # A Traefik IngressRoute with two hosts and an IPv6 target: AAAA records.
    kube.apply(ingressroute("api", f"Host(`{name('api')}`) || (Host(`{name('api2')}`) && PathPrefix(`/v2`))", target="2001:db8::80"))
    wait_for(lambda: target.server.query(name("api2"), "AAAA") == ["2001:db8::80"], 10, "the IngressRoute's AAAA record")
    kube.delete("IngressRoute/default/api")
    wait_for(lambda: target.server.query(name("api"), "AAAA") == [] and target.server.query(name("api2"), "AAAA") == [], 10, "the deletion")
    assert routes.stop() == 0
    # Deleted while the program is down: removed by the start-up reconcile.
    kube.delete("Ingress/default/web")
    done = routes.run_once()
    assert done.returncode == 0, done.stdout + done.stderr
    assert target.server.query(name("web-b")) == []


def test_expired_watch_stalled_watch_and_api_server_restart_lose_nothing(kube, target, programs):
    publish(kube, ingress("one", name("one")))
    routes = program(kube, target, programs).start()
    wait_for(lambda: target.server.query(name("one")) == ["192.0.2.10"], 10, "the first record")
    # 410 mid-stream: a change the open watches do not pass on, the history compacted past it, then the watches end;
    # the program's watch from its last resourceVersion is refused (ERROR 410 Expired) and it lists again.
    kube.drop_watches(silent=True)
    publish(kube, ingress("two", name("two")))
    kube.compact()
    kube.drop_watches(silent=False)
    wait_for(lambda: target.server.query(name("two")) == ["192.0.2.10"], 15, "the change made across the 410")
    assert "410" in routes.log()
    # A stalled watch (the connection stays open, nothing comes): noticed by the read timeout, caught up.
    kube.drop_watches(silent=True)
    publish(kube, ingress("three", name("three")))
    wait_for(lambda: target.server.query(name("three")) == ["192.0.2.10"], 20, "the change made while the watch stalled")
    # The API server away: not ready, nothing deleted; back: a change made meanwhile is applied.
    kube.stop_server()
    wait_for(lambda: routes.http("/readyz") == 503, 20, "/readyz reporting the API server")
    assert target.server.query(name("one")) == ["192.0.2.10"] and routes.http("/healthz") == 200
    kube.delete("Ingress/default/one")  # the emulator's state changes while it serves nobody
    kube.start_server()
    wait_for(lambda: target.server.query(name("one")) == [], 30, "the deletion made while the API server was away")
    wait_for(lambda: routes.http("/readyz") == 200, 20, "/readyz ready again")
    assert target.server.query(name("two")) == ["192.0.2.10"] and target.server.query(name("three")) == ["192.0.2.10"]


def test_a_crd_absent_then_installed_an_empty_status_and_bad_routes(target, programs):
    kube = launch(KubeApiEmulator(crds=False, bookmark_interval=0.5))
    try:
        publish(kube, ingress("web", name("web")))
        publish(kube, ingress("bad-ttl", name("bad-ttl"), annotations={"catalyst-dns-sync.io/ttl": "-5"}))
        publish(kube, ingress("bad-name", "not a name!", name("good-too")))
        routes = program(kube, target, programs).start()
        wait_for(lambda: target.server.query(name("web")) == ["192.0.2.10"], 10, "the Ingress record (no CRD installed)")
        wait_for(lambda: target.server.query(name("good-too")) == ["192.0.2.10"], 10, "the valid name of a route with a bad one")
        assert target.server.query(name("bad-ttl")) == []
        assert "IngressRoute" in routes.log() and "CRD not installed" in routes.log()
        assert routes.metrics()["kea_dns_routes_routes_skipped_total"] >= 2
        kube.install_crd("traefik.io", ("v1alpha1",), "ingressroutes", "IngressRoute")
        kube.apply(ingressroute("late", f"Host(`{name('late')}`)"))
        wait_for(lambda: target.server.query(name("late")) == ["192.0.2.20"], 20, "the IngressRoute after its CRD came")
        # The load balancer status empties (its controller restarting): the record stays.
        kube.set_status("Ingress/default/web", {})
        time.sleep(1.5)
        assert target.server.query(name("web")) == ["192.0.2.10"]
        assert routes.http("/readyz") == 200
        # Each route's DNS status, by status (the gauges are counted every 5 s): web waits for its address, bad-ttl
        # wants nothing, late and bad-name (its valid name) are in DNS.
        wait_for(lambda: {status: routes.metrics().get(f'kea_dns_routes_routes{{dns_status="{status}"}}')
                          for status in ("pending", "skipped", "synced")} == {"pending": 1, "skipped": 1, "synced": 2}, 15,
                 "the routes' DNS status")
    finally:
        kube.stop()


def test_kea_records_in_the_same_zone_are_left_alone(kube, target, programs):
    """A record of the Kea pipeline (owner kea/default) and one nobody here owns: a route naming them is a conflict,
    and a route reconcile never deletes them."""
    kea = {"ddi.kea_dns.dns_record": {**target.options, "zone": ZONE, "name": "us3-cab1-ru1-idrac", "value": "10.99.0.1", "owner_id": "kea/default"}}
    assert run_tasks([kea], env=target.env).results[0]["changed"] is True
    publish(kube, ingress("clash", name("us3-cab1-ru1-idrac"), name("ok")))
    routes = program(kube, target, programs).start()
    wait_for(lambda: target.server.query(name("ok")) == ["192.0.2.10"], 10, "the route's own record")
    assert target.server.query(name("us3-cab1-ru1-idrac")) == ["10.99.0.1"]
    wait_for(lambda: routes.metrics().get("kea_dns_routes_dns_conflicts_total", 0) >= 1, 10, "the conflict counted")
    wait_for(lambda: routes.metrics().get('kea_dns_routes_routes{dns_status="conflict"}') == 1, 15, "the route's conflict status")
    kube.delete("Ingress/default/clash")
    wait_for(lambda: target.server.query(name("ok")) == [], 10, "the route's record removed")
    assert target.server.query(name("us3-cab1-ru1-idrac")) == ["10.99.0.1"]


def test_requests_to_the_dns_server_never_exceed_the_cap(kube, request, programs):
    """40 routes created at once against the Technitium emulator (no batch call: one request per record and per name
    read), with a cap of 8 requests per second: every record arrives, and no second holds more than 8 requests."""
    target = listener_target(request, "technitium")
    for index in range(40):
        publish(kube, ingress(f"svc{index}", name(f"svc{index}")))
    routes = program(kube, target, programs, rate_limit=8.0)
    started = time.monotonic()
    routes.start(wait_ready=False)
    # Watched through the program's metrics: the test's own queries would count as requests too.
    wait_for(lambda: routes.http("/readyz") == 200, 60, "the start-up reconcile")
    took = time.monotonic() - started
    assert routes.metrics()['kea_dns_routes_dns_changes_total{action="create"}'] == 40
    assert target.server.max_rate(1.0, since=started) <= 8, target.server.max_rate(1.0, since=started)
    assert took >= 40 / 8 - 1  # the cap, not the server, set the pace
    assert all(target.server.query(name(f"svc{index}")) == ["192.0.2.10"] for index in range(40))


def test_dev_mode_writes_the_hosts_file(kube, programs, tmp_path):
    """Seed 004's dev mode: the routes in a managed block of a hosts file instead of a DNS server."""
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    publish(kube, ingress("web", name("web")))
    routes = RouteProcess({"zones": [ZONE], "provider": "hosts_file", "hosts_file_path": str(hosts), "read_timeout": 3.0}, kube.env())
    programs.append(routes.start())
    wait_for(lambda: f"192.0.2.10\t{name('web')}\t" in hosts.read_text(), 10, "the hosts file entry")
    kube.delete("Ingress/default/web")
    wait_for(lambda: name("web") not in hosts.read_text(), 10, "the entry removed")
    assert hosts.read_text().startswith("127.0.0.1 localhost\n") and "# Total entries: 0" in hosts.read_text()


def test_the_listener_and_the_route_program_share_a_zone(request, pipeline_db, listeners, kube, programs):
    """Both pipelines on one Knot zone at once: each reconcile keeps its own records and never touches the other's,
    even where a route names a BMC."""
    from tests.harness.pipeline import INSERT, daemon, kea_write  # pylint: disable=import-outside-toplevel

    knot = listener_target(request, "knot")
    listener = daemon(pipeline_db, knot)
    listeners.append(listener.start())
    routes = program(kube, knot, programs, resync_interval=1.0).start()
    kea_write(pipeline_db, [(INSERT, ("aabbccdd0301", "10.99.3.1", "us3-cab30-ru1-idrac"))])
    publish(kube, ingress("grafana", name("grafana"), name("us3-cab30-ru1-idrac")))
    wait_for(lambda: knot.server.query(name("grafana")) == ["192.0.2.10"], 10, "the route's record")
    wait_for(lambda: knot.server.query(name("us3-cab30-ru1-idrac")) == ["10.99.3.1"], 10, "the reservation's record")
    time.sleep(2.5)  # two route resyncs
    assert listener.stop() == 0
    assert listener.run_once().returncode == 0  # a full Kea reconcile
    listener.start()
    assert knot.server.query(name("grafana")) == ["192.0.2.10"] and knot.server.query(name("us3-cab30-ru1-idrac")) == ["10.99.3.1"]
    assert routes.metrics().get("kea_dns_routes_dns_conflicts_total", 0) >= 1  # the BMC name is the Kea pipeline's
    kube.delete("Ingress/default/grafana")
    kea_write(pipeline_db, [("DELETE FROM hosts", ())])
    wait_for(lambda: knot.server.query(name("grafana")) == [] and knot.server.query(name("us3-cab30-ru1-idrac")) == [], 10, "both removed")


IDLE = 7.0  # longer than knotd's control timeout and PowerDNS's web server's here (5 s each)


def test_dns_idle_restarted_and_refusing_lose_nothing(kube, target, programs):
    """The DNS side of the faults: a change after an idle spell longer than the server's timeout is applied at once;
    the server stopped (a change and a deletion made meanwhile) then started again: not ready, then caught up; on
    Technitium, the token refused (401-like invalid-token) then accepted again."""
    publish(kube, ingress("one", name("idle-one")))
    routes = program(kube, target, programs).start()
    wait_for(lambda: target.server.query(name("idle-one")) == ["192.0.2.10"], 10, "the first record")
    time.sleep(IDLE)
    written = time.monotonic()
    publish(kube, ingress("two", name("idle-two")))
    wait_for(lambda: target.server.query(name("idle-two")) == ["192.0.2.10"], 5, "the change after the idle spell")
    assert time.monotonic() - written < 3 and "DNS backend failing" not in routes.log()

    target.server.stop_server()
    try:
        publish(kube, ingress("three", name("down-three")))
        kube.delete("Ingress/default/one")
        wait_for(lambda: routes.http("/readyz") == 503, 20, "/readyz reporting the DNS failure")
        assert routes.http("/healthz") == 200
    finally:
        target.server.start_server()
    wait_for(lambda: target.server.query(name("down-three")) == ["192.0.2.10"] and target.server.query(name("idle-one")) == [], 40,
             "the changes made while the DNS server was down")
    wait_for(lambda: routes.http("/readyz") == 200, 20, "/readyz ready again")
    if target.name == "technitium":
        tokens = set(target.server.state.tokens)
        target.server.state.tokens.clear()  # every token refused
        try:
            publish(kube, ingress("four", name("refused-four")))
            wait_for(lambda: routes.http("/readyz") == 503, 20, "/readyz reporting the refused token")
        finally:
            target.server.state.tokens.update(tokens)
        wait_for(lambda: target.server.query(name("refused-four")) == ["192.0.2.10"], 40, "the change once the token is accepted")
    assert target.server.query(name("idle-two")) == ["192.0.2.10"]


def test_a_crd_removed_while_watched_deletes_nothing(kube, target, programs):
    kube.apply(ingressroute("api", f"Host(`{name('crd-api')}`)"))
    publish(kube, ingress("web", name("crd-web")))
    routes = program(kube, target, programs, resync_interval=1.0).start()
    wait_for(lambda: target.server.query(name("crd-api")) == ["192.0.2.20"], 10, "the IngressRoute's record")
    kube.remove_crd("traefik.io", "ingressroutes")
    wait_for(lambda: routes.http("/readyz") == 503, 20, "/readyz reporting the removed CRD")
    publish(kube, ingress("web", name("crd-web2")), status=None)  # the healthy kinds go on
    wait_for(lambda: target.server.query(name("crd-web2")) == ["192.0.2.10"], 10, "an Ingress change meanwhile")
    time.sleep(2.5)  # two resync intervals: no full reconcile from a partial picture
    assert target.server.query(name("crd-api")) == ["192.0.2.20"]
    kube.install_crd("traefik.io", ("v1alpha1",), "ingressroutes", "IngressRoute")
    kube.apply(ingressroute("api", f"Host(`{name('crd-api')}`)"))
    wait_for(lambda: routes.http("/readyz") == 200, 40, "/readyz ready again")
    assert target.server.query(name("crd-api")) == ["192.0.2.20"]


def test_two_instances_at_once_converge(kube, target, programs):
    """Two programs with one owner id (a rolling update's overlap): the records end as the routes say, nothing twice."""
    first = program(kube, target, programs).start()
    second = program(kube, target, programs).start()
    for index in range(10):
        publish(kube, ingress(f"pair{index}", name(f"pair{index}")))
    for index in range(0, 10, 3):
        kube.delete(f"Ingress/default/pair{index}")
    publish(kube, ingress("pair1", name("pair1-moved")), status=None)
    want = {name(f"pair{index}"): ["192.0.2.10"] for index in range(10) if index % 3 and index != 1} | {name("pair1-moved"): ["192.0.2.10"]}

    def state() -> dict:
        return {owner: values for (owner, rtype), values in target.server.transfer(ZONE).items() if rtype == "A" and owner.startswith("pair")}
    wait_for(lambda: state() == want, 30, "both programs converged")
    assert first.http("/readyz") == 200 and second.http("/readyz") == 200


def test_in_a_pod_with_the_service_account_and_no_kubeconfig(request, programs, tmp_path):
    """No kubeconfig: the program loads the pod's configuration (KUBERNETES_SERVICE_HOST/PORT, the service account's
    token and CA certificate at /var/run/secrets/kubernetes.io/serviceaccount) and talks TLS to the API server,
    verifying its certificate against that CA; a wrong CA is refused and named, and the token is never logged."""
    kube = launch(KubeApiEmulator(bookmark_interval=0.5, tls=True))
    request.addfinalizer(kube.stop)
    target = route_target(request, "knot")
    service_account, pod_env = kube.service_account()
    publish(kube, ingress("pod", name("pod")))
    routes = RouteProcess({"zones": [ZONE], **target.options}, {**pod_env, **target.env}, prefix=in_pod(service_account))
    programs.append(routes.start())
    wait_for(lambda: target.server.query(name("pod")) == ["192.0.2.10"], 15, "the record, from inside the pod")
    assert any(path.startswith("/apis/networking.k8s.io/v1/ingresses") for _when, _method, path, _query in kube.requests)
    assert kube.token not in routes.log()

    # The same pod with another CA: the API server's certificate is refused, the program says so and is not ready.
    other_ca, _key = self_signed_certificate(str(tmp_path))
    shutil.copyfile(other_ca, os.path.join(service_account, "ca.crt"))
    wrong = RouteProcess({"zones": [ZONE], **target.options}, {**pod_env, **target.env}, prefix=in_pod(service_account))
    programs.append(wrong.start(wait_ready=False))
    wait_for(lambda: "CERTIFICATE_VERIFY_FAILED" in wrong.log(), 15, "the certificate refused")
    assert wrong.http("/readyz") == 503
