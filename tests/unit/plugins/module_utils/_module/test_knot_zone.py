"""Unit tests of knot_zone's planning: static records win, CNAME conflicts, validation before any write."""

from __future__ import annotations

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._backup.knot_zones import with_changes, without_serial
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import DnsBackend, RRset, RRsetKey, Traits
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.plan import plan_records
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.knot_zone import desired_records


class OneZone(DnsBackend):
    traits = Traits(name="knot", native_batch=True, ownership=False, can_list_zone=True)

    def find_zone(self, name):
        return "site.test"

    def get(self, zone, keys):
        return {}

    def list_zone(self, zone):
        return []

    def apply(self, zone, changes):
        raise AssertionError("the planner never writes")


def plan(current, **params):
    return plan_records(current, desired_records(dict({"ttl": 600}, **params), OneZone(), "site.test"), "replace")[0]


def rrset(name, rtype, *values):
    return RRset("site.test", RRsetKey(name, rtype), tuple(values), 600)


def test_static_records_win_over_the_zone_and_over_records():
    current = {RRsetKey("web.site.test", "A"): rrset("web.site.test", "A", "10.0.0.1", "10.0.0.2"),
               RRsetKey("other.site.test", "A"): rrset("other.site.test", "A", "10.0.0.9")}
    changes = plan(current, records=[{"name": "web", "value": "10.0.0.7"}], static_records=[{"name": "web", "value": "10.0.0.5"}])
    assert [(c.action, c.after.values) for c in changes] == [("update", ("10.0.0.5",))]


def test_a_static_cname_replaces_the_other_records_of_its_name_and_the_other_way_round():
    current = {RRsetKey("dhcp.site.test", "A"): rrset("dhcp.site.test", "A", "10.0.0.3"),
               RRsetKey("dhcp.site.test", "TXT"): rrset("dhcp.site.test", "TXT", "note"),
               RRsetKey("ns2.site.test", "CNAME"): rrset("ns2.site.test", "CNAME", "ns1.site.test")}
    changes = plan(current, static_records=[{"name": "dhcp", "type": "CNAME", "value": "kea.site.test"}, {"name": "ns2", "value": "10.0.0.2"}])
    assert sorted(c.label() for c in changes) == ["create dhcp.site.test CNAME", "create ns2.site.test A", "delete dhcp.site.test A",
                                                  "delete dhcp.site.test TXT", "delete ns2.site.test CNAME"]


@pytest.mark.parametrize(("params", "message"), [
    ({"static_records": [{"name": "ok", "value": "10.0.0.1"}, {"name": "bad", "value": "10.0.0.300"}]},
     r"^static_records\[1\]\.value: invalid value '10.0.0.300'"),
    ({"static_records": [{"name": "x", "value": "10.0.0.1", "state": "absent"}]}, r"^static_records\[0\]\.state: .*always present"),
    ({"static_records": [{"name": "x", "value": "10.0.0.1"}, {"name": "x", "value": "10.0.0.2"}]},
     r"^static_records\[1\]: .*also given as static_records\[0\]"),
    ({"static_records": [{"name": "x", "type": "CNAME", "value": "y.site.test"}, {"name": "x", "value": "10.0.0.2"}]}, "cannot share its name"),
    ({"records": [{"name": "x.other.test", "zone": "other.test", "value": "10.0.0.1"}]}, "not in zone site.test"),
    ({"static_records": ["x 600 A 10.0.0.1"]}, r"^static_records\[0\]: invalid value .*expected a dictionary"),
])
def test_invalid_items_fail_before_anything_is_written(params, message):
    with pytest.raises(InvalidInputError, match=message):
        desired_records(dict({"ttl": 600}, **params), OneZone(), "site.test")


def test_end_state_of_a_restore_plus_merge_ignores_the_serial():
    backed_up = ["site.test. 300 SOA ns1.site.test. hostmaster.site.test. 7 3600 600 86400 300", "web.site.test. 600 A 10.0.0.1"]
    changes = plan_records({RRsetKey("web.site.test", "A"): rrset("web.site.test", "A", "10.0.0.1")},
                           desired_records({"ttl": 600, "static_records": [{"name": "web", "value": "10.0.0.5"}]}, OneZone(), "site.test"))[0]
    end = with_changes(backed_up, changes)
    assert end == ["site.test. 300 SOA ns1.site.test. hostmaster.site.test. 7 3600 600 86400 300", "web.site.test. 600 A 10.0.0.5"]
    after_merge = ["site.test. 300 SOA ns1.site.test. hostmaster.site.test. 8 3600 600 86400 300", "web.site.test. 600 A 10.0.0.5"]
    assert without_serial(end) == without_serial(after_merge)


class FakeKnot(OneZone):
    """What the present path of the runner uses of KnotBackend: the zones, a read, one transaction, a flush. The
    records are the server's (``SERVER``), so that a second task finds what the first wrote."""

    SERVER: dict = {}
    made: list = []

    def __init__(self, settings):
        self.settings = settings
        self.where = f"Knot control socket {settings.socket}"
        self.transactions: list = []
        self.flushed: list = []
        self.closed = False
        FakeKnot.made.append(self)

    def zones(self):
        return ["site.test"]

    def get(self, zone, keys):
        return {key: self.SERVER[key] for key in keys if key in self.SERVER}

    def apply(self, zone, changes, soa=None):
        self.transactions.append((zone, sorted(change.label() for change in changes)))
        for change in changes:
            if change.after is None:
                self.SERVER.pop(change.key, None)
            else:
                self.SERVER[change.key] = change.after

    def flush(self, zone):
        self.flushed.append(zone)

    def close(self):
        self.closed = True


@pytest.fixture
def knot(monkeypatch):
    from ansible_collections.ddi.kea_dns.plugins.module_utils._module import knot_zone  # pylint: disable=import-outside-toplevel

    monkeypatch.setattr(knot_zone, "KnotBackend", FakeKnot)
    FakeKnot.SERVER, FakeKnot.made = {}, []
    return knot_zone


def test_the_runner_plans_in_check_mode_then_applies_one_transaction_then_changes_nothing(knot):
    from ansible_collections.ddi.kea_dns.tests.unit.plugins.module_utils.fakes import FakeModule  # pylint: disable=import-outside-toplevel

    params = {"state": "present", "zone": "site.test", "zones": None, "ttl": 600, "knot_socket": "/run/knot/knot.sock", "knot_timeout": 5.0,
              "flush": True, "records": [{"name": "web", "value": "10.0.0.1"}, {"name": "old", "state": "absent"}],
              "static_records": [{"name": "ns1", "value": "10.0.0.53"}]}
    planned = knot.run_knot_zone(FakeModule(params, check_mode=True, diff=True))
    assert planned["changed"] and planned["summary"]["created"] == 2 and FakeKnot.SERVER == {}
    assert FakeKnot.made[-1].transactions == [] and FakeKnot.made[-1].closed
    assert sorted(planned["diff"]["after"]) == ["ns1.site.test A", "web.site.test A"]
    applied = knot.run_knot_zone(FakeModule(params))
    assert applied["summary"] == planned["summary"] and FakeKnot.made[-1].flushed == ["site.test"]
    assert FakeKnot.made[-1].transactions == [("site.test", ["create ns1.site.test A", "create web.site.test A"])]
    again = knot.run_knot_zone(FakeModule(params))
    assert again["changed"] is False and again["summary"]["unchanged"] == 3 and FakeKnot.made[-1].transactions == []


@pytest.mark.parametrize(("params", "field"), [({"state": "present", "zone": None}, "zone"),
                                               ({"state": "backup", "zone": None, "records": [{"name": "a", "value": "10.0.0.1"}]}, "zone"),
                                               ({"state": "present", "zone": "site.test", "zones": ["site.test"]}, "zones"),
                                               ({"state": "restore", "zone": None, "archive": None}, "archive"),
                                               ({"state": "present", "zone": "other.test"}, "other.test")])
def test_the_runner_names_the_field_of_bad_input_before_anything_is_done(knot, params, field):
    from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import KeaDnsError  # pylint: disable=import-outside-toplevel
    from ansible_collections.ddi.kea_dns.tests.unit.plugins.module_utils.fakes import FakeModule  # pylint: disable=import-outside-toplevel

    base = {"zones": None, "ttl": 600, "knot_socket": "/run/knot/knot.sock", "knot_timeout": 5.0, "flush": False, "records": None,
            "static_records": None, "archive": None, "archive_format": "manifest"}
    with pytest.raises(KeaDnsError) as failed:
        knot.run_knot_zone(FakeModule({**base, **params}))
    assert field in str(failed.value)
    assert all(not made.transactions for made in FakeKnot.made)
