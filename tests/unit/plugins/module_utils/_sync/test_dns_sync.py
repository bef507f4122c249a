"""Unit tests of the sync plan: which records reservations imply and what may be changed (no server)."""

from __future__ import annotations

import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import DnsBackend, RRset, RRsetKey, Traits, longest_zone
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea import Reservation, ReservationKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._sync.dns_sync import DnsSync, SyncSettings

ZONE, REVERSE = "site.test", "99.10.in-addr.arpa"


class ZoneMap(DnsBackend):
    """Only what planning reads: the zones and their current RRsets (applying is tested against real servers)."""

    traits = Traits(name="zonemap", native_batch=True, ownership=True, can_list_zone=True)

    def __init__(self, rrsets: t.Iterable[RRset] = ()) -> None:
        self.rrsets = {r.key: r for r in rrsets}

    def find_zone(self, name: str) -> str:
        return longest_zone(name, [ZONE, REVERSE], "the test")

    def get(self, zone, keys):
        return {k: self.rrsets[k] for k in keys if k in self.rrsets}

    def list_zone(self, zone):
        return [r for r in self.rrsets.values() if r.zone == zone]

    def apply(self, zone, changes):
        raise AssertionError("not used")


def host(hostname: str | None, ip: str | None, mac: int = 1) -> Reservation:
    return Reservation(key=ReservationKey(1, 0, mac.to_bytes(6, "big")), ip=ip, hostname=hostname)


def a(name: str, *values: str, owned: bool = True, ttl: int = 600) -> RRset:
    return RRset(ZONE, RRsetKey(f"{name}.{ZONE}", "A"), tuple(values), ttl, owned=owned)


def test_reconcile_creates_updates_and_deletes_only_owned_records_of_selected_names():
    backend = ZoneMap([a("us3-cab1-ru1-idrac", "10.99.0.9"),  # owned, wrong address -> update
                       a("us3-cab1-ru2-idrac", "10.99.0.2", owned=False),  # foreign, right address -> unchanged
                       a("us3-cab1-ru3-idrac", "10.99.0.77", owned=False),  # foreign, wrong address -> conflict
                       a("us3-cab1-ru4-idrac", "10.99.0.4"),  # owned, no reservation -> delete
                       a("www", "10.99.0.100")])  # owned but not a BMC name (a dns_record task's) -> untouched
    sync = DnsSync(backend, SyncSettings(zone=ZONE))
    plan, desired = sync.plan_reconcile([host("us3-cab1-ru1-idrac", "10.99.0.1"), host("us3-cab1-ru2-idrac", "10.99.0.2", 2),
                                         host("us3-cab1-ru3-idrac", "10.99.0.3", 3), host("us3-cab1-ru5-ilo", "10.99.0.5", 5),
                                         host("us3-cab1-ru6-switch", "10.99.0.6", 6), host("us3-cab1-ru7-bmc", None, 7)])
    assert {c.label() for c in plan.changes} == {f"update us3-cab1-ru1-idrac.{ZONE} A", f"delete us3-cab1-ru4-idrac.{ZONE} A",
                                                 f"create us3-cab1-ru5-ilo.{ZONE} A"}
    assert plan.counts()["unchanged"] == 1 and len(plan.conflicts) == 1 and "us3-cab1-ru3-idrac" in plan.conflicts[0]
    assert all(c.after is None or c.after.owned for c in plan.changes) and not desired.invalid


def test_several_reservations_of_one_name_make_one_rrset_and_ptr_follows_the_address():
    sync = DnsSync(ZoneMap(), SyncSettings(zone=ZONE, ptr=True))
    desired = sync.desired([host("US3-cab1-ru1-idrac", "10.99.0.1"), host("us3-cab1-ru1-idrac", "10.99.0.2", 2)])
    assert desired.records[RRsetKey(f"us3-cab1-ru1-idrac.{ZONE}", "A")].values == ("10.99.0.1", "10.99.0.2")
    ptr = desired.records[RRsetKey(f"2.0.{REVERSE}", "PTR")]
    assert ptr.zone == REVERSE and ptr.values == (f"us3-cab1-ru1-idrac.{ZONE}",)


def test_an_event_touches_the_old_and_new_names_and_addresses_only():
    backend = ZoneMap([a("us3-cab1-ru1-idrac", "10.99.0.1"), a("us3-cab1-ru2-idrac", "10.99.0.2"),
                       RRset(REVERSE, RRsetKey(f"1.0.{REVERSE}", "PTR"), (f"us3-cab1-ru1-idrac.{ZONE}",), 600, owned=True),
                       RRset(REVERSE, RRsetKey(f"9.0.{REVERSE}", "PTR"), (f"mail.{ZONE}",), 600, owned=True)])
    sync = DnsSync(backend, SyncSettings(zone=ZONE, ptr=True))
    # us3-cab1-ru1-idrac was renamed us3-cab1-ru9-idrac (same address); ru2 is not part of the event.
    touched = ({"us3-cab1-ru1-idrac", "us3-cab1-ru9-idrac"}, {"10.99.0.1", "10.99.0.9"})
    plan = sync.plan_touching([host("us3-cab1-ru9-idrac", "10.99.0.1")], *touched)[0]
    expected = [f"create us3-cab1-ru9-idrac.{ZONE} A", f"delete us3-cab1-ru1-idrac.{ZONE} A", f"update 1.0.{REVERSE} PTR"]
    assert sorted(c.label() for c in plan.changes) == expected


def test_invalid_hostnames_are_reported_not_planned_and_the_filter_is_a_glob_on_the_first_label():
    sync = DnsSync(ZoneMap(), SyncSettings(zone=ZONE, hostname_filter=("*-idrac", "oob-*")))
    desired = sync.desired([host("bad name!-idrac", "10.99.0.1"), host("oob-r1.other.example", "10.99.0.2", 2),
                            host("x-ilo", "10.99.0.3", 3)])
    assert list(desired.invalid) == ["host 'bad name!-idrac' (subnet 1 hw-address 00:00:00:00:00:01)"]
    assert [k.name for k in desired.records] == [f"oob-r1.other.example.{ZONE}"]
