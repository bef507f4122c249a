"""docs/backends/knot.md: a TSIG key limited to the record types the collection writes still does its work through
ddi.kea_dns.dns_record (RFC 2136), and anything else it is refused, with nothing applied."""

from __future__ import annotations

from tests.harness.ansible import run_tasks
from tests.harness.dns_servers import Knot


def test_a_tsig_key_limited_to_a_aaaa_ptr_txt():
    with Knot(update_types=["A", "AAAA", "PTR", "TXT"]) as knot:
        record = {"provider": "rfc2136", "zone": "site.test"}
        run = run_tasks([
            {"ddi.kea_dns.dns_record": dict(record, name="us3-cab10-ru20-idrac", value="10.99.0.50", ptr=True)},
            {"ddi.kea_dns.dns_record": dict(record, name="alias", type="CNAME", value="us3-cab10-ru20-idrac.site.test")},
        ], env=knot.rfc2136_env())
        allowed, refused = run.results
        assert allowed["changed"] is True and allowed["summary"]["created"] == 2, allowed
        assert knot.query("us3-cab10-ru20-idrac.site.test") == ["10.99.0.50"]
        assert knot.query("50.0.99.10.in-addr.arpa", "PTR") == ["us3-cab10-ru20-idrac.site.test"]
        # Knot answers a type outside the key's update-type as it answers an unknown key (TSIG BADKEY).
        assert refused.get("failed") and "not allowed this update" in refused["msg"] and "nothing was applied" in refused["msg"], refused
        assert knot.query("alias.site.test", "CNAME") == []
        assert knot.key_secret not in run.output
