"""Unit tests of the sync plan: which records reservations imply and what may be changed (no server)."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import DnsBackend, RRset, RRsetKey, Traits, longest_zone, run_batch
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.ownership import DEFAULT_OWNER
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.sync import DnsSync
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import TransportError
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Reservation, ReservationKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.kea import KeaSource, Touched
from ansible_collections.ddi.kea_dns.tests.unit.plugins.module_utils.fakes import MemoryDns

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


def a(name: str, *values: str, owned: bool = True, ttl: int = 600, owner: str = DEFAULT_OWNER) -> RRset:
    return RRset(ZONE, RRsetKey(f"{name}.{ZONE}", "A"), tuple(values), ttl, owner=owner if owned else None)


def test_reconcile_creates_updates_and_deletes_only_owned_records_of_selected_names():
    backend = ZoneMap([a("us3-cab1-ru1-idrac", "10.99.0.9"),  # owned, wrong address -> update
                       a("us3-cab1-ru2-idrac", "10.99.0.2", owned=False),  # foreign, right address -> unchanged
                       a("us3-cab1-ru3-idrac", "10.99.0.77", owned=False),  # foreign, wrong address -> conflict
                       a("us3-cab1-ru4-idrac", "10.99.0.4"),  # owned, no reservation -> delete
                       a("www", "10.99.0.100")])  # owned but not a BMC name (a dns_record task's) -> untouched
    sync = DnsSync(backend, KeaSource(zone=ZONE))
    plan, desired = sync.reconcile([host("us3-cab1-ru1-idrac", "10.99.0.1"), host("us3-cab1-ru2-idrac", "10.99.0.2", 2),
                                    host("us3-cab1-ru3-idrac", "10.99.0.3", 3), host("us3-cab1-ru5-ilo", "10.99.0.5", 5),
                                    host("us3-cab1-ru6-switch", "10.99.0.6", 6), host("us3-cab1-ru7-bmc", None, 7)], dry_run=True)
    assert {c.label() for c in plan.changes} == {f"update us3-cab1-ru1-idrac.{ZONE} A", f"delete us3-cab1-ru4-idrac.{ZONE} A",
                                                 f"create us3-cab1-ru5-ilo.{ZONE} A"}
    assert plan.counts()["unchanged"] == 1 and len(plan.conflicts) == 1 and "us3-cab1-ru3-idrac" in plan.conflicts[0]
    assert all(c.after is None or c.after.owned for c in plan.changes) and not desired.invalid


def test_several_reservations_of_one_name_make_one_rrset_and_ptr_follows_the_address():
    sync = DnsSync(ZoneMap(), KeaSource(zone=ZONE, ptr=True))
    desired = sync.source.desired([host("US3-cab1-ru1-idrac", "10.99.0.1"), host("us3-cab1-ru1-idrac", "10.99.0.2", 2)], sync.backend.find_zone)
    assert desired.records[RRsetKey(f"us3-cab1-ru1-idrac.{ZONE}", "A")].values == ("10.99.0.1", "10.99.0.2")
    ptr = desired.records[RRsetKey(f"2.0.{REVERSE}", "PTR")]
    assert ptr.zone == REVERSE and ptr.values == (f"us3-cab1-ru1-idrac.{ZONE}",)


def test_an_event_touches_the_old_and_new_names_and_addresses_only():
    backend = ZoneMap([a("us3-cab1-ru1-idrac", "10.99.0.1"), a("us3-cab1-ru2-idrac", "10.99.0.2"),
                       RRset(REVERSE, RRsetKey(f"1.0.{REVERSE}", "PTR"), (f"us3-cab1-ru1-idrac.{ZONE}",), 600, owner=DEFAULT_OWNER),
                       RRset(REVERSE, RRsetKey(f"9.0.{REVERSE}", "PTR"), (f"mail.{ZONE}",), 600, owner=DEFAULT_OWNER)])
    sync = DnsSync(backend, KeaSource(zone=ZONE, ptr=True))
    # us3-cab1-ru1-idrac was renamed us3-cab1-ru9-idrac (same address); ru2 is not part of the event.
    touched = ({"us3-cab1-ru1-idrac", "us3-cab1-ru9-idrac"}, {"10.99.0.1", "10.99.0.9"})
    plan = sync.plan_touching([host("us3-cab1-ru9-idrac", "10.99.0.1")], Touched(*touched))[0]
    expected = [f"create us3-cab1-ru9-idrac.{ZONE} A", f"delete us3-cab1-ru1-idrac.{ZONE} A", f"update 1.0.{REVERSE} PTR"]
    assert sorted(c.label() for c in plan.changes) == expected


def test_invalid_hostnames_are_reported_not_planned_and_the_filter_is_a_glob_on_the_first_label():
    sync = DnsSync(ZoneMap(), KeaSource(zone=ZONE, hostname_filter=("*-idrac", "oob-*")))
    desired = sync.source.desired([host("bad name!-idrac", "10.99.0.1"), host("oob-r1.other.example", "10.99.0.2", 2),
                                   host("x-ilo", "10.99.0.3", 3)], sync.backend.find_zone)
    assert list(desired.invalid) == ["host 'bad name!-idrac' (subnet 1 hw-address 00:00:00:00:00:01)"]
    assert [k.name for k in desired.records] == [f"oob-r1.other.example.{ZONE}"]


class Unreachable(ZoneMap):
    def find_zone(self, name: str) -> str:
        raise TransportError("the test server did not answer")


def test_a_zone_lookup_that_fails_in_transport_fails_the_plan_instead_of_dropping_the_record():
    """Read as "no record", an unreachable server would make a reconcile delete owned PTRs, and a batch wait on every
    lookup in turn; it must fail the batch, which is retried."""
    sync = DnsSync(Unreachable([a("us3-cab1-ru1-idrac", "10.99.0.1")]), KeaSource(zone=ZONE, ptr=True))
    with pytest.raises(TransportError):
        sync.reconcile([host("us3-cab1-ru1-idrac", "10.99.0.1")], dry_run=True)
    with pytest.raises(TransportError):
        sync.plan_touching([host("us3-cab1-ru1-idrac", "10.99.0.1")], Touched({"us3-cab1-ru1-idrac"}, {"10.99.0.1"}))


class Flaky(ZoneMap):
    """Fails the first read with a dead connection, as a server that restarted since the last batch."""

    def __init__(self, rrsets=()) -> None:
        super().__init__(rrsets)
        self.reads = self.closed = 0

    def get(self, zone, keys):
        self.reads += 1
        if self.reads == 1:
            raise TransportError("connection reset")
        return super().get(zone, keys)

    def close(self) -> None:
        self.closed += 1


def test_a_batch_whose_connection_died_runs_once_more_on_a_new_one():
    backend = Flaky([a("us3-cab1-ru1-idrac", "10.99.0.1")])
    sync = DnsSync(backend, KeaSource(zone=ZONE))
    plan, _desired = sync.touching([host("us3-cab1-ru1-idrac", "10.99.0.1")], Touched({"us3-cab1-ru1-idrac"}, set()))
    assert backend.reads == 2 and backend.closed == 1 and plan.unchanged == 1 and not plan.changes


def test_run_batch_raises_the_second_failure_and_releases_single_client_connections():
    class Dead(Flaky):
        traits = Traits(name="dead", native_batch=True, ownership=True, can_list_zone=True, release_after_batch=True)

        def get(self, zone, keys):
            self.reads += 1
            raise TransportError("connection refused")
    backend = Dead()
    with pytest.raises(TransportError):
        run_batch(backend, backend.get, ZONE, [])
    assert backend.reads == 2 and backend.closed == 2  # dropped after the first failure, released at the end


class CountingZoneMap(ZoneMap):
    """ZoneMap that applies, and counts what reconcile() asks of it per batch."""

    traits = Traits(name="zonemap", native_batch=True, ownership=True, can_list_zone=True, release_after_batch=True)

    def __init__(self, rrsets: t.Iterable[RRset] = ()) -> None:
        super().__init__(rrsets)
        self.calls: list[str] = []

    def list_zone(self, zone):
        self.calls.append(f"list {zone}")
        return super().list_zone(zone)

    def apply(self, zone, changes):
        self.calls.append(f"apply {zone} {len(changes)}")
        for change in changes:
            if change.after is None:
                del self.rrsets[change.key]
            else:
                self.rrsets[change.key] = change.after

    def close(self):
        self.calls.append("close")


def test_reconcile_reads_plans_and_applies_one_zone_after_the_other():
    backend = CountingZoneMap([a("us3-cab1-ru4-idrac", "10.99.0.4")])  # owned, no reservation: deleted
    sync = DnsSync(backend, KeaSource(zone=ZONE, ptr=True))
    plan, desired = sync.reconcile([host("us3-cab1-ru1-idrac", "10.99.0.1"), host("us3-cab1-ru2-idrac", "10.99.0.2", 2)])
    assert backend.calls == ["close", f"list {REVERSE}", f"apply {REVERSE} 2", "close", f"list {ZONE}", f"apply {ZONE} 3", "close"]
    assert plan.counts() == {"created": 4, "updated": 0, "deleted": 1, "conflicts": 0, "unchanged": 0} and len(desired.records) == 4
    again, _desired = sync.reconcile([host("us3-cab1-ru1-idrac", "10.99.0.1"), host("us3-cab1-ru2-idrac", "10.99.0.2", 2)])
    assert again.counts()["unchanged"] == 4 and not again.changes


def test_a_reconcile_sends_the_backends_chunk_of_changes_per_call():
    backend = CountingZoneMap()
    backend.traits = Traits(name="zonemap", native_batch=True, ownership=True, can_list_zone=True, release_after_batch=True,
                            reconcile_chunk=2)
    DnsSync(backend, KeaSource(zone=ZONE)).reconcile([host(f"us3-cab1-ru{n}-idrac", f"10.99.0.{n}", n) for n in range(1, 6)])
    assert [c for c in backend.calls if c.startswith("apply")] == [f"apply {ZONE} 2", f"apply {ZONE} 2", f"apply {ZONE} 1"]


def test_without_ptr_zone_a_reconcile_reads_every_reverse_zone_the_backend_lists():
    """A reverse zone no current reservation points into still holds the owned PTRs of reservations deleted while
    nothing ran: the reconcile reads it (the backend lists its zones) and deletes them, and only them."""
    dns = MemoryDns(zones=(ZONE, REVERSE, "98.10.in-addr.arpa", "other.test"))
    gone = RRset("98.10.in-addr.arpa", RRsetKey("5.0.98.10.in-addr.arpa", "PTR"), (f"us3-cab9-ru5-idrac.{ZONE}",), 600, owner=DEFAULT_OWNER)
    foreign = RRset("98.10.in-addr.arpa", RRsetKey("6.0.98.10.in-addr.arpa", "PTR"), (f"us3-cab9-ru6-idrac.{ZONE}",), 600)
    dns.records.update({gone.key: gone, foreign.key: foreign})
    plan, _desired = DnsSync(dns, KeaSource(zone=ZONE, ptr=True)).reconcile([host("us3-cab1-ru1-idrac", "10.99.0.1")])
    assert sorted(c.label() for c in plan.changes) == [f"create 1.0.{REVERSE} PTR", f"create us3-cab1-ru1-idrac.{ZONE} A",
                                                       "delete 5.0.98.10.in-addr.arpa PTR"]
    assert "list other.test" not in dns.calls and "list 98.10.in-addr.arpa" in dns.calls
    # with ptr_zone, only that zone is read; without ptr, no reverse zone
    dns.calls.clear()
    DnsSync(dns, KeaSource(zone=ZONE, ptr=True, ptr_zone=REVERSE)).reconcile([], dry_run=True)
    DnsSync(dns, KeaSource(zone=ZONE)).reconcile([], dry_run=True)
    assert [call for call in dns.calls if call.startswith("list")] == [f"list {REVERSE}", f"list {ZONE}", f"list {ZONE}"]


V6_REVERSE = "0.1.0.0.8.b.d.0.1.0.0.2.ip6.arpa"


def host6(hostname: str, *addresses: str, duid: int = 1) -> Reservation:
    return Reservation(key=ReservationKey(10, 1, duid.to_bytes(10, "big"), family=6), hostname=hostname, ipv6_addresses=addresses)


def test_dhcpv6_reservations_make_aaaa_records_and_ip6_arpa_ptrs_beside_the_a_records():
    dns = MemoryDns(zones=(ZONE, REVERSE, V6_REVERSE))
    sync = DnsSync(dns, KeaSource(zone=ZONE, ptr=True))
    plan, _desired = sync.reconcile([host("us3-cab1-ru1-idrac", "10.99.0.1"), host6("us3-cab1-ru1-idrac", "2001:db8:10::20", "2001:db8:10::21"),
                                     host6("web01", "2001:db8:10::99", duid=2)])  # not a BMC name: nothing
    aaaa = dns.records[RRsetKey(f"us3-cab1-ru1-idrac.{ZONE}", "AAAA")]
    assert aaaa.values == ("2001:db8:10::20", "2001:db8:10::21") and aaaa.origin.ref() == "subnet6-10/duid/00:00:00:00:00:00:00:00:00:01"
    ptr = dns.records[RRsetKey("0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "PTR")]
    assert ptr.zone == V6_REVERSE and ptr.values == (f"us3-cab1-ru1-idrac.{ZONE}",)
    assert plan.counts()["created"] == 5  # A, AAAA, the v4 PTR and two v6 PTRs
    # a DHCPv6 change touches the AAAA record of its name and the PTRs of its addresses, never the A record
    plan, _desired = sync.touching([host("us3-cab1-ru1-idrac", "10.99.0.1"), host6("us3-cab1-ru1-idrac", "2001:db8:10::20")],
                                   Touched(frozenset(), {"2001:db8:10::20", "2001:db8:10::21"}, {"us3-cab1-ru1-idrac"}))
    assert sorted(c.label() for c in plan.changes) == [
        "delete 1.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.8.b.d.0.1.0.0.2.ip6.arpa PTR", f"update us3-cab1-ru1-idrac.{ZONE} AAAA"]
    # the reservation gone: a reconcile deletes its AAAA and PTRs, and keeps the A record
    plan, _desired = sync.reconcile([host("us3-cab1-ru1-idrac", "10.99.0.1")])
    assert sorted(c.label() for c in plan.changes) == [
        "delete 0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.8.b.d.0.1.0.0.2.ip6.arpa PTR", f"delete us3-cab1-ru1-idrac.{ZONE} AAAA"]
