"""Unit tests of the DNS record model and plan (no servers)."""

from __future__ import annotations

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import (
    DnsBackend,
    RRset,
    RRsetKey,
    Traits,
    absolute_name,
    fqdn,
    longest_zone,
    parse_name,
    parse_value,
    to_presentation,
)
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.plan import desired_from_params, plan_records
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import ConflictError, InvalidInputError, NotFoundError


class ZonesOnly(DnsBackend):
    """Knows two zones; finds them by longest match. Nothing else is needed by the planner."""

    traits = Traits(name="test", native_batch=True, ownership=True, can_list_zone=True)

    def find_zone(self, name):
        for zone in ("99.10.in-addr.arpa", "site.test"):
            if name == zone or name.endswith("." + zone):
                return zone
        raise AssertionError(name)

    def get(self, zone, keys):
        return {}

    def list_zone(self, zone):
        return []

    def apply(self, zone, changes):
        raise AssertionError("the planner never applies")


def test_names_and_values():
    assert absolute_name("us3-cab10-ru20-idrac", "site.test") == "us3-cab10-ru20-idrac.site.test"
    assert absolute_name("X.Site.Test.", "site.test") == "x.site.test"
    assert absolute_name("@", "site.test") == "site.test"
    assert parse_value("AAAA", "2001:DB8:0:0::1") == "2001:db8::1"
    assert parse_value("CNAME", "Target.Site.Test.") == "target.site.test"
    for rtype, value in (("A", "2001:db8::1"), ("AAAA", "10.0.0.1"), ("CNAME", "a b"), ("TXT", "x\ny")):
        with pytest.raises(InvalidInputError, match="^value: invalid value"):
            parse_value(rtype, value)


def test_trailing_dot_is_absolute_and_must_lie_in_the_zone():
    """Issue 17: zone site.test + name 6.2.0.192.in-addr.arpa. was written as 6.2.0.192.in-addr.arpa.site.test."""
    assert absolute_name("H1.site.test.", "site.test") == "h1.site.test"
    assert absolute_name("site.test.", "site.test") == "site.test"
    assert absolute_name("h1.site.test", "site.test") == "h1.site.test"  # no dot, already in the zone: not doubled
    assert absolute_name("h1.sub", "site.test") == "h1.sub.site.test"  # no dot: relative
    for name in ("6.2.0.192.in-addr.arpa.", "h2.99.10.in-addr.arpa.", "test.", "othersite.test."):
        with pytest.raises(InvalidInputError) as error:
            absolute_name(name, "site.test", "records[2].name")
        assert (error.value.field, error.value.value) == ("records[2].name", name)
        assert f"the absolute name {name} (trailing dot) is not in zone site.test" in error.value.reason, error.value.reason


def test_absolute_name_outside_the_zone_fails_the_record():
    with pytest.raises(InvalidInputError, match=r"^name: invalid value '6\.2\.0\.192\.in-addr\.arpa\.': the absolute name "
                                                r"6\.2\.0\.192\.in-addr\.arpa\. \(trailing dot\) is not in zone site\.test"):
        desired_from_params({"zone": "site.test", "name": "6.2.0.192.in-addr.arpa.", "type": "PTR", "value": "h1.site.test."}, ZonesOnly())
    # The same name in the zone that holds it, or without a zone (found on the server), is written where it belongs.
    for params in ({"zone": "99.10.in-addr.arpa", "name": "50.0.99.10.in-addr.arpa."}, {"name": "50.0.99.10.in-addr.arpa."}):
        (record,) = desired_from_params(dict(params, type="PTR", value="h1.site.test."), ZonesOnly())
        assert (record.zone, record.key.name) == ("99.10.in-addr.arpa", "50.0.99.10.in-addr.arpa")


def test_reservation_hostnames_keep_their_rule():
    """fqdn() of a reservation's hostname ignores a trailing dot on purpose (kept as it was)."""
    assert fqdn("us3-cab10-ru20-idrac", "site.test") == "us3-cab10-ru20-idrac.site.test"
    assert fqdn("us3-cab10-ru20-idrac.site.test.", "site.test") == "us3-cab10-ru20-idrac.site.test"
    assert fqdn("h1.other.test.", "site.test") == "h1.other.test.site.test"
    assert fqdn("h1.other.test.", None) == "h1.other.test"


def test_ptr_follows_a_record_into_reverse_zone():
    records = desired_from_params({"zone": "site.test", "name": "h1", "value": "10.99.0.50", "ptr": True}, ZonesOnly())
    assert [(r.zone, r.key.label(), r.values) for r in records] == [
        ("site.test", "h1.site.test A", ("10.99.0.50",)),
        ("99.10.in-addr.arpa", "50.0.99.10.in-addr.arpa PTR", ("h1.site.test",)),
    ]


def current(values, ttl=600):
    return {RRsetKey("h1.site.test", "A"): RRset("site.test", RRsetKey("h1.site.test", "A"), tuple(values), ttl)}


def want(**params):
    return desired_from_params(dict({"zone": "site.test", "name": "h1"}, **params), ZonesOnly())


def test_plan_replace_keep_fail_and_absent():
    changes, unchanged = plan_records(current(["10.0.0.1"]), want(value="10.0.0.1"))
    assert (changes, unchanged) == ([], 1)
    changes = plan_records(current(["10.0.0.1"]), want(value="10.0.0.1", ttl=300))[0]
    assert changes[0].after.ttl == 300
    assert plan_records(current(["10.0.0.1"]), want(value="10.0.0.2"), "keep") == ([], 1)
    with pytest.raises(ConflictError, match="already holds 10.0.0.1"):
        plan_records(current(["10.0.0.1"]), want(value="10.0.0.2"), "fail")
    changes = plan_records(current(["10.0.0.1", "10.0.0.2"]), want(value="10.0.0.2", state="absent"))[0]
    assert changes[0].after.values == ("10.0.0.1",)
    changes = plan_records(current(["10.0.0.1"]), want(state="absent"))[0]
    assert changes[0].after is None
    assert plan_records({}, want(state="absent")) == ([], 1)


def test_duplicate_and_missing_value():
    with pytest.raises(InvalidInputError, match="also given"):
        plan_records({}, want(value="10.0.0.1") + want(value="10.0.0.2"))
    with pytest.raises(InvalidInputError, match="needs value or values"):
        want()


def test_presentation_text_and_longest_zone():
    assert to_presentation("TXT", 'say "hi" \\ bye') == '"say \\"hi\\" \\\\ bye"'
    assert to_presentation("CNAME", "target.site.test") == "target.site.test."
    assert to_presentation("A", "10.0.0.1") == "10.0.0.1"
    assert longest_zone("a.b.site.test", ["site.test", "b.site.test", "other.test"], "x") == "b.site.test"
    with pytest.raises(NotFoundError, match="no zone on server-x holds a.nowhere"):
        longest_zone("a.nowhere", ["site.test"], "server-x")


def test_unknown_item_option_names_the_item():
    with pytest.raises(InvalidInputError, match=r"^records\[3\]: invalid value 'vlaue': unknown option"):
        desired_from_params({"zone": "site.test", "name": "h1", "vlaue": "10.0.0.1"}, ZonesOnly(), "records[3]")


@pytest.mark.parametrize("name", ["bmc\n.site.test", "bmc.site.test\n", "bmc'.site.test", "bmc .site.test"])
def test_names_with_line_breaks_quotes_or_spaces_are_refused(name):
    with pytest.raises(InvalidInputError, match="^name: invalid value"):
        parse_name(name)
