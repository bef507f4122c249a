"""ddi.kea_dns.route_records through the real ansible-playbook: the routes of the Kubernetes API server emulator into
the Technitium emulator, real Knot and real PowerDNS, with check mode, diff, idempotence, conflicts with the Kea
pipeline's records, bad routes skipped, a missing CRD, and an unreachable API server that changes nothing."""

from __future__ import annotations

import pytest

from tests.harness.ansible import run_tasks
from tests.harness.kube_api import KubeApiEmulator
from tests.harness.pipeline import ZONE
from tests.harness.procs import launch
from tests.harness.routes import ingress, ingressroute, route_target

LB = {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}


@pytest.fixture(params=("technitium", "knot", "powerdns"))
def target(request):
    return route_target(request, request.param)


def task(target, **args) -> dict:
    return {"ddi.kea_dns.route_records": {**target.options, "zones": [ZONE], **args}}


def name(label: str) -> str:
    return f"{label}.{ZONE}"


def test_check_apply_again_conflicts_and_skipped(target):
    kube = launch(KubeApiEmulator(crds=False))
    try:
        kube.apply(ingress("shop", name("shop"), name("shop-v2"), ip=None))
        kube.set_status("Ingress/default/shop", LB)
        kube.apply(ingress("bad", "bad name!", ip=None, annotations={"ddi.kea_dns/ttl": "soon"}))
        env = {**kube.env(), **target.env}
        kea = {"ddi.kea_dns.dns_record": {**target.options, "zone": ZONE, "name": "shop-v2", "value": "10.99.0.7", "owner_id": "kea/default"}}
        run = run_tasks([kea, dict(task(target), check_mode=True, diff=True), task(target), task(target)], env=env)
        _kea, check, apply, again = run.results
        assert check["changed"] is True and check["summary"]["created"] == 1, check
        assert check["diff"]["after"][f"{name('shop')} A"]["values"] == ["192.0.2.10"] and check["diff"]["before"] == {}
        assert apply["changed"] is True and again["changed"] is False and again["summary"]["unchanged"] == 1, (apply, again)
        assert target.server.query(name("shop")) == ["192.0.2.10"] and target.server.query(name("shop-v2")) == ["10.99.0.7"]
        assert any("shop-v2" in c and "kea/default" in c for c in apply["conflicts"]), apply["conflicts"]
        assert "soon" in apply["skipped"]["Ingress/default/bad"] and apply["routes"] == 2
        assert any("IngressRoute" in w and "CRD not installed" in w for w in apply.get("warnings", [])), apply.get("warnings")

        # The CRD installed, one route gone: its record is deleted, the Kea record stays.
        kube.install_crd("traefik.io", ("v1alpha1",), "ingressroutes", "IngressRoute")
        kube.apply(ingressroute("api", f"Host(`{name('api')}`)", target="2001:db8::80"))
        kube.delete("Ingress/default/shop")
        moved = run_tasks([task(target)], env=env).results[0]
        assert moved["summary"] == {"created": 1, "updated": 0, "deleted": 1, "unchanged": 0}, moved
        assert target.server.query(name("api"), "AAAA") == ["2001:db8::80"] and target.server.query(name("shop")) == []
        assert target.server.query(name("shop-v2")) == ["10.99.0.7"]

        # The API server away: the task fails and nothing is deleted.
        kube.stop_server()
        down = run_tasks([task(target, api_timeout=2.0)], env=env).results[0]
        assert down.get("failed") and "nothing was changed" in down["msg"], down
        assert target.server.query(name("api"), "AAAA") == ["2001:db8::80"]
    finally:
        kube.stop()
