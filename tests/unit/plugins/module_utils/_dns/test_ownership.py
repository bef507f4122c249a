"""Owner ids: the marks, the marks written before owner ids, the TXT marker wrapper and the planner with two owners."""

from __future__ import annotations

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns import ownership
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import Change, DnsBackend, RRset, RRsetKey, Traits, longest_zone
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.owner_txt import OwnerTxtBackend
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.sync import DnsSync
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Reservation, ReservationKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.kea import KeaSource

ZONE = "site.test"
KEY = ReservationKey(1, 0, bytes.fromhex("aabbccddeeff"))


def test_marks_round_trip_and_old_marks_are_the_default_owner():
    text = ownership.format_mark("kea/site2", KEY, "A")
    assert text == "managed-by ddi.kea_dns A owner=kea/site2 ref=subnet-1/hw-address/aa:bb:cc:dd:ee:ff"
    assert ownership.parse_mark(text) == ownership.Mark("kea/site2", "subnet-1/hw-address/aa:bb:cc:dd:ee:ff", "A")
    assert ownership.parse_mark("managed-by ddi.kea_dns") == ownership.Mark("kea/default")  # a PowerDNS / Technitium comment
    assert ownership.parse_mark("managed-by ddi.kea_dns PTR") == ownership.Mark("kea/default", None, "PTR")  # a TXT marker value
    assert ownership.parse_mark("managed-by ddi.kea_dnsx") is None and ownership.parse_mark("hand-made") is None
    assert ownership.parse_mark(None) is None
    assert ownership.parse_parameters([("managed-by", "ddi.kea_dns")]) == ownership.Mark("kea/default")
    assert ownership.parse_parameters(ownership.mark_parameters("k8s/prod", KEY)).owner == "k8s/prod"
    assert len(ReservationKey(1, 1, bytes(range(100))).ref()) < 100  # a long DUID by its digest: fits a TXT string


@pytest.mark.parametrize("value", ["Kea/Site2", "kea site2", "kea/site2=", "", "-kea", "a" * 65, None])
def test_bad_owner_ids_name_the_field(value):
    with pytest.raises(InvalidInputError, match="^owner_id: "):
        ownership.check_owner_id(value)


class Plain(DnsBackend):
    """A backend with no owner metadata of its own (as Knot and RFC 2136), in memory."""

    traits = Traits(name="plain", native_batch=True, ownership=False, can_list_zone=True)

    def __init__(self) -> None:
        self.records: dict = {}

    def find_zone(self, name):
        return longest_zone(name, [ZONE], "the test")

    def get(self, zone, keys):
        return {k: self.records[k] for k in keys if k in self.records}

    def list_zone(self, zone):
        return list(self.records.values())

    def apply(self, zone, changes):
        for change in changes:
            if change.after is None:
                self.records.pop(change.key, None)
            else:
                self.records[change.key] = RRset(zone, change.key, change.after.values, change.after.ttl)  # no metadata kept


def host(name: str, ip: str, mac: int, subnet: int = 1) -> Reservation:
    return Reservation(ReservationKey(subnet, 0, mac.to_bytes(6, "big")), ip=ip, hostname=name)


def marker_values(inner: Plain, name: str) -> list[str]:
    return list(inner.records[RRsetKey(f"_kea-dns.{name}.{ZONE}", "TXT")].values)


def test_two_owners_share_a_zone_through_txt_markers():
    inner = Plain()
    site1 = DnsSync(OwnerTxtBackend(inner), KeaSource(zone=ZONE, owner_id="kea/site1"))
    site2 = DnsSync(OwnerTxtBackend(inner), KeaSource(zone=ZONE, owner_id="kea/site2"))
    site1.reconcile([host("a-idrac", "10.0.0.1", 1), host("both-idrac", "10.0.0.2", 2)])
    assert marker_values(inner, "a-idrac") == ["managed-by ddi.kea_dns A owner=kea/site1 ref=subnet-1/hw-address/00:00:00:00:00:01"]
    plan, _desired = site2.reconcile([host("both-idrac", "10.0.9.2", 9, 2), host("b-idrac", "10.0.0.3", 3, 2)])
    assert [c.label() for c in plan.changes] == [f"create b-idrac.{ZONE} A"]
    assert plan.conflicts == [f"both-idrac.{ZONE} A holds 10.0.0.2, not 10.0.9.2, and belongs to owner kea/site1 (this sync is kea/site2): "
                              "left alone"]
    # site1 drops both-idrac: it deletes its own record, and leaves b-idrac (site2's) alone
    plan, _desired = site1.reconcile([host("a-idrac", "10.0.0.1", 1)])
    assert [c.label() for c in plan.changes] == [f"delete both-idrac.{ZONE} A"]
    # site2 then creates its both-idrac, and take_over never takes a record of another owner
    plan, _desired = site2.reconcile([host("both-idrac", "10.0.9.2", 9, 2), host("b-idrac", "10.0.0.3", 3, 2)])
    assert [c.label() for c in plan.changes] == [f"create both-idrac.{ZONE} A"]
    taker = DnsSync(OwnerTxtBackend(inner), KeaSource(zone=ZONE, owner_id="kea/site3"), take_over=True)
    plan, _desired = taker.reconcile([host("a-idrac", "10.0.3.1", 31)], dry_run=True)
    assert plan.changes == [] and "belongs to owner kea/site1" in plan.conflicts[0]


def test_markers_written_before_owner_ids_are_the_default_owner_and_nothing_is_rewritten():
    inner = Plain()
    key, marker = RRsetKey(f"a-idrac.{ZONE}", "A"), RRsetKey(f"_kea-dns.a-idrac.{ZONE}", "TXT")
    inner.records = {key: RRset(ZONE, key, ("10.0.0.1",), 600), marker: RRset(ZONE, marker, ("managed-by ddi.kea_dns A",), 600)}
    sync = DnsSync(OwnerTxtBackend(inner), KeaSource(zone=ZONE))
    plan, _desired = sync.reconcile([host("a-idrac", "10.0.0.1", 1)])
    assert plan.changes == [] and plan.unchanged == 1 and marker_values(inner, "a-idrac") == ["managed-by ddi.kea_dns A"]
    plan, _desired = sync.reconcile([host("a-idrac", "10.0.0.9", 1)])  # a change rewrites the marker in the new form
    assert [c.label() for c in plan.changes] == [f"update a-idrac.{ZONE} A"]
    assert marker_values(inner, "a-idrac") == ["managed-by ddi.kea_dns A owner=kea/default ref=subnet-1/hw-address/00:00:00:00:00:01"]
    other = DnsSync(OwnerTxtBackend(inner), KeaSource(zone=ZONE, owner_id="kea/site2"))
    assert other.reconcile([])[0].changes == []  # the default owner's records are not site2's to delete


def test_a_marker_keeps_the_marks_of_other_types_and_unmarked_writes_drop_theirs():
    inner = Plain()
    backend = OwnerTxtBackend(inner)
    a, txt = RRsetKey(f"h.{ZONE}", "A"), RRsetKey(f"h.{ZONE}", "TXT")
    backend.apply(ZONE, [Change(None, RRset(ZONE, a, ("10.0.0.1",), owner="kea/default")),
                         Change(None, RRset(ZONE, txt, ("x",), owner="kea/default"))])
    assert len(marker_values(inner, "h")) == 2
    backend.close()
    found = backend.get(ZONE, [a, txt])
    backend.apply(ZONE, [Change(found[txt], RRset(ZONE, txt, ("y",)))])  # rewritten without a mark
    assert marker_values(inner, "h") == ["managed-by ddi.kea_dns A owner=kea/default"]
