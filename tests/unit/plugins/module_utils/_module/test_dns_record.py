"""The dns_record runner with a DNS backend in memory: check mode changes nothing and shows the same plan, apply,
idempotence, diff, PTR beside A, and a failure in a later zone naming what was applied."""

from __future__ import annotations

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import RRset, RRsetKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import ConflictError, InvalidInputError, PartiallyAppliedError
from ansible_collections.ddi.kea_dns.plugins.module_utils._module import dns_record
from ansible_collections.ddi.kea_dns.tests.unit.plugins.module_utils.fakes import FakeModule, MemoryDns

BASE = {"provider": "powerdns", "zone": "site.test", "type": "A", "ttl": 600, "state": "present", "ptr": False, "ptr_zone": None,
        "on_existing": "replace", "name": None, "value": None, "values": None, "records": None, "owner_id": None}


@pytest.fixture
def dns(monkeypatch):
    backend = MemoryDns()

    def made(params, on_secret=None, owned=False):
        backend.owned_asked = owned
        return backend

    monkeypatch.setattr(dns_record, "dns_backend", made)
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


def test_with_owner_id_only_this_owners_records_change_and_the_others_are_conflicts(dns):
    """The planner of every source: a record of another owner, or with no mark, is reported and never touched."""
    theirs = RRset("site.test", RRsetKey("www.site.test", "A"), ("10.99.0.9",), 600, owner="kea/default")
    nobody = RRset("site.test", RRsetKey("mail.site.test", "A"), ("10.99.0.7",), 600)
    dns.records.update({theirs.key: theirs, nobody.key: nobody})
    params = task(owner_id="team/web", records=[{"name": "www", "value": "10.99.0.80"}, {"name": "mail", "value": "10.99.0.70"},
                                                {"name": "api", "value": "10.99.0.81"}])
    module = FakeModule(params)
    outcome = dns_record.apply_records(module)
    assert dns.owned_asked is True  # TXT markers where the backend keeps no owner metadata
    assert outcome["summary"] == {"created": 1, "updated": 0, "deleted": 0, "unchanged": 0}
    assert [c["name"] for c in outcome["changes"]] == ["api.site.test"] and dns.records[RRsetKey("api.site.test", "A")].owner == "team/web"
    assert len(outcome["conflicts"]) == 2 and module.warnings == outcome["conflicts"]
    assert "belongs to owner kea/default" in outcome["conflicts"][1] and "does not manage it" in outcome["conflicts"][0]
    assert dns.records[theirs.key] == theirs and dns.records[nobody.key] == nobody
    # its own record follows the task; absent deletes only its own
    dns_record.apply_records(FakeModule(task(owner_id="team/web", name="api", value="10.99.0.82")))
    assert dns.records[RRsetKey("api.site.test", "A")].values == ("10.99.0.82",)
    gone = dns_record.apply_records(FakeModule(task(owner_id="team/web", records=[{"name": "api"}, {"name": "www"}], state="absent")))
    assert gone["summary"]["deleted"] == 1 and RRsetKey("api.site.test", "A") not in dns.records and theirs.key in dns.records
    # on_existing=fail fails on a conflict before anything is written
    with pytest.raises(ConflictError) as failed:
        dns_record.apply_records(FakeModule(task(owner_id="team/web", on_existing="fail", records=[
            {"name": "new", "value": "10.99.0.90"}, {"name": "www", "value": "10.99.0.80"}])))
    assert "www.site.test A" in str(failed.value) and RRsetKey("new.site.test", "A") not in dns.records


@pytest.mark.parametrize(("params", "field"), [({"owner_id": "Team Web", "name": "x", "value": "10.99.0.1"}, "owner_id"),
                                               ({"owner_id": "team/web", "name": "x", "value": "10.99.0.1", "state": "absent"}, "values")])
def test_with_owner_id_bad_input_names_the_field(dns, params, field):
    with pytest.raises(InvalidInputError) as failed:
        dns_record.apply_records(FakeModule(task(**params)))
    assert field in str(failed.value) and dns.records == {}
