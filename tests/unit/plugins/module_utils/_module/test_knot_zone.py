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
