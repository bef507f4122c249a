"""Unit tests of hostname -> site / cabinet / rack unit / BMC type."""

from __future__ import annotations

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.naming import HostnameParser, Location


@pytest.mark.parametrize(("hostname", "expected"), [
    ("us3-cab10-ru20-idrac", Location("us3", "cab10", 20, "idrac")),
    ("US3-CAB10-RU20-IDRAC", Location("us3", "cab10", 20, "idrac")),
    ("us3-cab10-ru15-ilo.site.com", Location("us3", "cab10", 15, "ilo")),
    ("fra1-cab2-ru01-ilo5", Location("fra1", "cab2", 1, "ilo5")),
    ("us3-cab10-ru20-bmc", Location("us3", "cab10", 20, "bmc")),
    ("us3-cab10-ru20-xcc", Location("us3", "cab10", 20, "xcc")),
    ("us3-cab10-ru20-imm", Location("us3", "cab10", 20, "imm")),
])
def test_default_pattern(hostname, expected):
    assert HostnameParser().parse(hostname) == expected


@pytest.mark.parametrize("hostname", ["us3-cab10-ru20-server", "cab10-ru20-idrac", "us3-rack10-ru20-idrac", "", None])
def test_default_pattern_rejects(hostname):
    assert HostnameParser().parse(hostname) is None
    assert HostnameParser().parse_dict(hostname) == {"site": None, "cabinet": None, "rack_unit": None, "bmc_type": None}


def test_custom_pattern():
    parser = HostnameParser(r"^(?P<bmc_type>bmc)\.(?P<cabinet>r[0-9]+)\.(?P<site>[a-z]+)")
    assert parser.parse("bmc.r12.par.example.com") is None  # only the first label is matched
    parser = HostnameParser(r"^(?P<site>[a-z]+)(?P<cabinet>[0-9]+)")
    assert parser.parse("par12-x") == Location("par", "12", None, None)


@pytest.mark.parametrize(("pattern", "reason"), [("(unclosed", "not a valid regular expression"), ("(?P<site>x)", "cabinet")])
def test_bad_pattern(pattern, reason):
    with pytest.raises(InvalidInputError, match=reason) as error:
        HostnameParser(pattern)
    assert error.value.field == "naming_pattern"
