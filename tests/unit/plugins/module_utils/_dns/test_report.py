"""The drift report's checks of its options: a zone the backend does not have, listed or asked for."""

from __future__ import annotations

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.report import check_zones
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, NotFoundError


def soa_of(name: str) -> str:
    """find_zone of a server authoritative for site.test only (RFC 2136: the SOA it answers)."""
    if name == "site.test" or name.endswith(".site.test"):
        return "site.test"
    raise NotFoundError(f"127.0.0.1 is not authoritative for {name} (REFUSED)")


def test_a_listed_zone_passes_and_another_is_named_with_the_zones_there():
    check_zones(["site.test"], ["site.test"], "powerdns", soa_of)
    with pytest.raises(InvalidInputError) as raised:
        check_zones(["site.test"], ["nowhere.test"], "powerdns", soa_of)
    assert "dns_zone" in str(raised.value) and "nowhere.test" in str(raised.value) and "it has: site.test" in str(raised.value)


def test_without_a_zone_list_the_server_is_asked_which_zone_holds_the_name():
    check_zones(None, ["site.test"], "rfc2136", soa_of)
    with pytest.raises(InvalidInputError) as raised:
        check_zones(None, ["nowhere.test"], "rfc2136", soa_of)
    assert "nowhere.test" in str(raised.value) and "no such zone" in str(raised.value) and "REFUSED" in str(raised.value)
    with pytest.raises(InvalidInputError) as raised:  # a name inside a zone is no zone of its own
        check_zones(None, ["cab1.site.test"], "rfc2136", soa_of)
    assert "the name is in its zone site.test" in str(raised.value)
