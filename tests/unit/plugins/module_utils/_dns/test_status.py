"""Unit tests of the DNS status of each item after a plan, and of a reconcile that leaves out what the backend refuses."""

from __future__ import annotations

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import RRset, RRsetKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.status import ItemRecords, Status, counts, evaluate
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.sync import Desired, DnsSync, Plan, unplaced_label
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Reservation, ReservationKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.kea import KeaSource
from ansible_collections.ddi.kea_dns.tests.unit.plugins.module_utils.fakes import ZONE, MemoryDns


def key(label: str, rtype: str = "A") -> RRsetKey:
    return RRsetKey(f"{label}.{ZONE}", rtype)


def reservation(number: int, hostname: str | None, ip: str | None = None, family: int = 4) -> Reservation:
    rkey = ReservationKey(1, 0, number.to_bytes(6, "big"), family)
    if family == 6:
        return Reservation(rkey, hostname=hostname, host_id=number, ipv6_addresses=(ip,) if ip else ())
    return Reservation(rkey, ip=ip, hostname=hostname, host_id=number)


def test_each_state_and_its_reason():
    plan = Plan()
    plan.conflict(key("taken"), "taken A holds 192.0.2.1 and belongs to owner ops/manual")
    plan.refused[key("refused")] = "HTTP 422: conflicts with a CNAME"
    desired = Desired(invalid={unplaced_label(key("nozone")): "no zone of the backend holds nozone"})
    items = {"ok": ItemRecords((key("ok"),)), "taken": ItemRecords((key("taken"), key("1.0.99.10", "PTR"))),
             "refused": ItemRecords((key("refused"),)), "nozone": ItemRecords((key("nozone"),)),
             "filtered": ItemRecords(skipped="not selected"), "route": ItemRecords(pending="no address yet")}
    found = evaluate(items, plan, desired)
    assert found == {"ok": Status("synced"), "taken": Status("conflict", "taken A holds 192.0.2.1 and belongs to owner ops/manual"),
                     "refused": Status("failed", "refused by the DNS backend: HTTP 422: conflicts with a CNAME"),
                     "nozone": Status("skipped", "no zone of the backend holds nozone"),
                     "filtered": Status("skipped", "not selected"), "route": Status("pending", "no address yet")}
    assert counts(found.values()) == {"pending": 1, "synced": 1, "failed": 1, "skipped": 2, "conflict": 1}


def test_a_reservation_implies_its_name_and_ptr_or_says_why_none():
    source = KeaSource(zone=ZONE, ptr=True)
    assert source.records_of(reservation(1, "us3-cab1-ru1-idrac", "10.99.0.1")) == ItemRecords(
        (key("us3-cab1-ru1-idrac"), RRsetKey("1.0.99.10.in-addr.arpa", "PTR")))
    assert source.records_of(reservation(2, "us3-cab1-ru1-idrac", "2001:db8::1", 6)).keys[0] == key("us3-cab1-ru1-idrac", "AAAA")
    assert source.records_of(reservation(3, None, "10.99.0.3")).skipped == "no hostname"
    assert "not selected by hostname_filter" in source.records_of(reservation(4, "web01", "10.99.0.4")).skipped
    assert source.records_of(reservation(5, "us3-cab1-ru5-idrac", None, 6)).skipped == "no address"
    assert "us3 cab1!-idrac" in source.records_of(reservation(6, "us3 cab1!-idrac", "10.99.0.6")).skipped


def test_a_reconcile_leaves_out_what_the_backend_refuses_and_applies_the_rest():
    """The backend refuses its whole batch; halving finds the one refused change, the other seven are applied."""
    dns = MemoryDns()
    dns.refuse = {"us3-cab1-ru5-idrac"}
    source = KeaSource(zone=ZONE)
    reservations = [reservation(n, f"us3-cab1-ru{n}-idrac", f"10.99.0.{n}") for n in range(1, 9)]
    plan, desired = DnsSync(dns, source).reconcile(reservations)
    assert list(plan.refused) == [key("us3-cab1-ru5-idrac")] and "refused us3-cab1-ru5-idrac" in plan.refused[key("us3-cab1-ru5-idrac")]
    assert len(plan.changes) == 7 and sorted(r.key.name.split(".")[0] for r in dns.records.values()) == [
        f"us3-cab1-ru{n}-idrac" for n in (1, 2, 3, 4, 6, 7, 8)]
    found = evaluate({r.host_id: source.records_of(r) for r in reservations}, plan, desired)
    assert found[5].status == "failed" and all(found[n] == Status("synced") for n in (1, 2, 3, 4, 6, 7, 8))
    assert isinstance(dns.records[key("us3-cab1-ru1-idrac")], RRset)
