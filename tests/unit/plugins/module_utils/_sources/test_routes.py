"""The route source on the one planner: records of the routes, the names of pending routes held, the Kea pipeline's
records never in its scope; the watch cache's diff of a new list."""

from __future__ import annotations

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import RRset, RRsetKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.sync import DnsSync
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import NotFoundError
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.route_hosts import RouteRecords, RouteSettings
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.route_watch import Cache
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.routes import RouteNames, RouteSource, held_names

ZONE = "apps.test"


def find_zone(name: str) -> str:
    if name.endswith("." + ZONE):
        return ZONE
    raise NotFoundError(f"no zone holds {name}")


def records(ref: str, *names: str, targets: tuple[str, ...] = ("192.0.2.1",), ttl: int = 300, problems: tuple[str, ...] = ()) -> RouteRecords:
    return RouteRecords(ref, tuple(f"{name}.{ZONE}" for name in names), targets, ttl, problems)


class Backend:
    """The planner's view of one zone (list_zone/get/apply on a dict)."""

    class traits:  # noqa: N801 - the backend contract's attribute
        reconcile_chunk = 1000
        release_after_batch = False

    def __init__(self, rrsets: list[RRset]) -> None:
        self.rrsets = {r.key: r for r in rrsets}

    def find_zone(self, name: str) -> str:
        return find_zone(name)

    def zones(self) -> list[str]:
        return [ZONE]

    def list_zone(self, zone: str) -> list[RRset]:
        return list(self.rrsets.values())

    def get(self, zone, keys):
        return {key: self.rrsets[key] for key in keys if key in self.rrsets}

    def apply(self, zone, changes) -> None:
        for change in changes:
            if change.after is None:
                self.rrsets.pop(change.key)
            else:
                self.rrsets[change.key] = change.after

    def close(self) -> None:
        pass


def test_routes_sharing_a_name_merge_targets_and_take_the_smaller_ttl():
    source = RouteSource(RouteSettings(zones=(ZONE,)), "k8s/prod")
    desired = source.desired([records("Ingress/a/web", "web", ttl=600), records("HTTPRoute/b/web", "web", targets=("192.0.2.2", "2001:db8::1"), ttl=60),
                              records("Ingress/a/bad", problems=("spec.rules[0].host: bad",)),
                              RouteRecords("Ingress/a/far", ("x.other.test",), ("192.0.2.3",))],
                             find_zone)
    a, aaaa = desired.records[RRsetKey(f"web.{ZONE}", "A")], desired.records[RRsetKey(f"web.{ZONE}", "AAAA")]
    assert a.values == ("192.0.2.1", "192.0.2.2") and a.ttl == 60 and a.owner == "k8s/prod" and a.origin == "Ingress/a/web"
    assert aaaa.values == ("2001:db8::1",)
    assert desired.invalid["Ingress/a/bad"] == "spec.rules[0].host: bad" and "no zone holds x.other.test" in desired.invalid["A record x.other.test"]


def test_reconcile_deletes_only_its_own_and_holds_pending_names():
    kea = RRset(ZONE, RRsetKey(f"us3-cab1-ru1-idrac.{ZONE}", "A"), ("10.99.0.1",), 600, owner="kea/default")
    stale = RRset(ZONE, RRsetKey(f"gone.{ZONE}", "A"), ("192.0.2.9",), 300, owner="k8s/default")
    pending = RRset(ZONE, RRsetKey(f"lb-restarting.{ZONE}", "A"), ("192.0.2.7",), 300, owner="k8s/default")
    nobody = RRset(ZONE, RRsetKey(f"manual.{ZONE}", "A"), ("192.0.2.8",), 300)
    backend = Backend([kea, stale, pending, nobody])
    items = [records("Ingress/a/web", "web"), records("Ingress/a/lb", "lb-restarting", targets=())]
    assert held_names(items) == {f"lb-restarting.{ZONE}"}
    plan, _desired = DnsSync(backend, RouteSource(RouteSettings(zones=(ZONE,)), held=held_names(items))).reconcile(items)
    assert sorted(change.label() for change in plan.changes) == [f"create web.{ZONE} A", f"delete gone.{ZONE} A"]
    assert set(backend.rrsets) == {kea.key, pending.key, nobody.key, RRsetKey(f"web.{ZONE}", "A")}


def test_a_touched_batch_reads_only_its_names():
    backend = Backend([RRset(ZONE, RRsetKey(f"old.{ZONE}", "A"), ("192.0.2.1",), 300, owner="k8s/default")])
    source = RouteSource(RouteSettings(zones=(ZONE,)))
    plan, _desired = DnsSync(backend, source).touching([records("Ingress/a/web", "new")], RouteNames(frozenset({f"old.{ZONE}", f"new.{ZONE}"})))
    assert sorted(change.label() for change in plan.changes) == [f"create new.{ZONE} A", f"delete old.{ZONE} A"]
    assert source.home_zones(None) == [ZONE] and RouteSource().home_zones(["a.test", "10.in-addr.arpa"]) == ["a.test"]


def test_desired_of_a_touched_batch_covers_only_the_routes_holding_its_names():
    items = [records("Ingress/a/web", "web", "www"), records("Ingress/a/other", "other"),
             records("Ingress/a/bad", "web", problems=("annotation ttl: 'x' is no positive integer",)),
             records("Ingress/a/broken", problems=("match: cannot parse",))]
    desired = RouteSource(RouteSettings(zones=(ZONE,))).desired(items, find_zone, RouteNames(frozenset({f"web.{ZONE}"})))
    assert set(desired.records) == {RRsetKey(f"web.{ZONE}", "A")}  # not www (untouched) of the same route
    assert desired.invalid == {"Ingress/a/bad": "annotation ttl: 'x' is no positive integer"}  # a route of the name only
    everything = RouteSource(RouteSettings(zones=(ZONE,))).desired(items, find_zone)
    assert len(everything.records) == 3 and set(everything.invalid) == {"Ingress/a/bad", "Ingress/a/broken"}


def test_the_cache_diffs_a_new_list_against_what_it_held():
    cache = Cache()
    cache.replace("Ingress", None, {("Ingress", "a", "one"): {"v": 1}, ("Ingress", "a", "two"): {"v": 1}})
    cache.put(("HTTPRoute", "a", "r"), {"v": 1})
    assert cache.take(0.01, 0.01) == {("Ingress", "a", "one"), ("Ingress", "a", "two"), ("HTTPRoute", "a", "r")}
    cache.replace("Ingress", None, {("Ingress", "a", "two"): {"v": 2}})
    assert cache.take(0.01, 0.01) == {("Ingress", "a", "one"), ("Ingress", "a", "two")}
    assert set(cache.snapshot()) == {("Ingress", "a", "two"), ("HTTPRoute", "a", "r")}
    cache.replace("Ingress", None, {("Ingress", "a", "two"): {"v": 2}})  # the same list: nothing changed
    assert cache.take(0.01, 0.01) == set()
