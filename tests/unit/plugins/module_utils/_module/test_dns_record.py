"""The dns_record runner with a DNS backend in memory: check mode changes nothing and shows the same plan, apply,
idempotence, diff, PTR beside A, and a failure in a later zone naming what was applied."""

from __future__ import annotations

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import PartiallyAppliedError
from ansible_collections.ddi.kea_dns.plugins.module_utils._module import dns_record
from ansible_collections.ddi.kea_dns.tests.unit.plugins.module_utils.fakes import FakeModule, MemoryDns

BASE = {"provider": "powerdns", "zone": "site.test", "type": "A", "ttl": 600, "state": "present", "ptr": False, "ptr_zone": None,
        "on_existing": "replace", "name": None, "value": None, "values": None, "records": None}


@pytest.fixture
def dns(monkeypatch):
    backend = MemoryDns()
    monkeypatch.setattr(dns_record, "dns_backend", lambda params, on_secret=None: backend)
    return backend


def task(**params) -> dict:
    return {**BASE, **params}


def test_check_mode_then_apply_then_nothing_to_do(dns):
    params = task(records=[{"name": "web", "value": "10.99.0.8"}, {"name": "db", "value": "10.99.0.9"}], ptr=True)
    planned = dns_record.apply_records(FakeModule(params, check_mode=True, diff=True))
    assert planned["changed"] and planned["summary"]["created"] == 4 and dns.records == {}
    applied = dns_record.apply_records(FakeModule(params, diff=True))
    assert {k: v for k, v in applied.items() if k != "diff"} == {k: v for k, v in planned.items() if k != "diff"}
    assert applied["diff"] == planned["diff"]
    assert {(k.name, k.type): r.values for k, r in dns.records.items()} == {
        ("web.site.test", "A"): ("10.99.0.8",), ("db.site.test", "A"): ("10.99.0.9",),
        ("8.0.99.10.in-addr.arpa", "PTR"): ("web.site.test",), ("9.0.99.10.in-addr.arpa", "PTR"): ("db.site.test",)}
    again = dns_record.apply_records(FakeModule(params))
    assert again["changed"] is False and again["summary"]["unchanged"] == 4
    assert dns.calls.count("close") == 3  # the backend is released after every task


def test_a_failure_in_a_later_zone_names_what_was_applied(dns):
    dns.refuse = {"9"}  # the PTR 9.0.99.10.in-addr.arpa
    params = task(records=[{"name": "db", "value": "10.99.0.9"}], ptr=True)
    with pytest.raises(PartiallyAppliedError) as failed:
        dns_record.apply_records(FakeModule(params))
    assert failed.value.applied == ["create db.site.test A"] and "refused" in str(failed.value)


def test_info_lists_a_name_or_the_zone(dns):
    dns_record.apply_records(FakeModule(task(name="web", value="10.99.0.8")))
    one = dns_record.list_records(FakeModule({**BASE, "name": "web", "type": None}))
    assert [r["name"] for r in one["records"]] == ["web.site.test"] and one["changed"] is False
    assert [r["name"] for r in dns_record.list_records(FakeModule({**BASE, "type": "A"}))["records"]] == ["web.site.test"]
