"""Unit tests of the SOLIDserver backend's pure parts: WHERE-filter values, row parsing, wire values (no server)."""

from __future__ import annotations

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import RRsetKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.solidserver import _literal, _row, _where, _wire_value
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, KeaDnsError, PartiallyAppliedError


def test_where_quotes_checked_values():
    assert _where(rr_full_name="bmc-1.site.test", dns_id="3") == "rr_full_name='bmc-1.site.test' and dns_id='3'"


@pytest.mark.parametrize("value", ["x' or '1'='1", "a b", "zone%", "x\\'", "name\n"])
def test_where_refuses_values_that_could_change_the_filter(value):
    with pytest.raises(InvalidInputError) as caught:
        _literal(value, "rr_full_name")
    assert caught.value.field == "rr_full_name" and caught.value.value == value


def test_rows_are_read_in_canonical_form():
    row = _row({"rr_id": "7", "rr_type": "AAAA", "rr_full_name": "BMC.site.test", "ttl": "600",
                "value1": "2001:0db8:0000:0000:0000:0000:0000:0001", "rr_class_parameters": "a=b&managed-by=ddi.kea_dns"})
    assert (row.key, row.value, row.ttl, row.owner, row.rr_id) == (RRsetKey("bmc.site.test", "AAAA"), "2001:db8::1", 600, "kea/default", "7")
    ptr = _row({"rr_id": "8", "rr_type": "PTR", "rr_full_name": "1.0.99.10.in-addr.arpa", "ttl": "60", "value1": "BMC.site.test."})
    assert (ptr.value, ptr.owner) == ("bmc.site.test", None)
    site2 = _row({"rr_id": "10", "rr_type": "A", "rr_full_name": "h.site.test", "value1": "10.0.0.1",
                  "rr_class_parameters": "managed-by=ddi.kea_dns&owner=kea%2Fsite2&ref=subnet-2%2Fhw-address%2Faa"})
    assert site2.owner == "kea/site2"
    assert _row({"rr_id": "9", "rr_type": "MX", "value1": "10 mx.site.test"}) is None


def test_aaaa_is_written_expanded():
    assert _wire_value("AAAA", "2001:db8::1") == "2001:0db8:0000:0000:0000:0000:0000:0001"
    assert _wire_value("A", "10.0.0.1") == "10.0.0.1"


def test_partially_applied_error_names_what_was_applied():
    applied = [f"create h{i}.site.test A" for i in range(12)]
    error = PartiallyAppliedError(KeaDnsError("refused h12"), applied)
    assert str(error).startswith("refused h12; 12 change(s) were applied before the failure (result key 'applied'): create h0")
    assert "and 2 more" in str(error) and error.applied == applied
    assert str(PartiallyAppliedError(KeaDnsError("x"), [])) == "x; nothing was applied"
