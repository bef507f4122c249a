"""The dns_sync runner (the EDA door) with Kea's database and the DNS backend faked: the rows of an event applied
in one transaction and acknowledged, check mode acknowledging nothing, a refused row isolated while the others are
acknowledged, and an unreachable backend counting an attempt on every row and failing the task."""

from __future__ import annotations

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import TransportError
from ansible_collections.ddi.kea_dns.plugins.module_utils._module import dns_sync as runner
from ansible_collections.ddi.kea_dns.tests.unit.plugins.module_utils.fakes import ZONE, FakeDatabase, FakeModule, MemoryDns, patch_database


@pytest.fixture
def door(monkeypatch):
    database, dns = FakeDatabase(), MemoryDns()
    patch_database(monkeypatch, database)
    monkeypatch.setattr(runner, "connect", lambda settings: database.connection())
    monkeypatch.setattr(runner, "dns_backend", lambda params, on_secret=None, owned=False: dns)
    return database, dns


def params(*ids: int, **extra) -> dict:
    return {"provider": "powerdns", "zone": ZONE, "ttl": 600, "ptr": False, "ptr_zone": None, "hostname_filter": ["*-idrac"],
            "take_over": False, "owner_id": "kea/default", "events_schema": "kea_dns", "events_channel": "kea_lease_events",
            "retry_max_interval": 30.0, "outbox_ids": list(ids), "db_host": "localhost", "db_port": 5432, "db_name": "kea",
            "db_user": "kea", "db_password": None, **extra}


def test_check_mode_then_apply_and_acknowledge(door):
    database, dns = door
    database.reserve(1, "us3-cab1-ru1-idrac", "10.99.0.1", 1)
    database.reserve(2, "us3-cab1-ru2-idrac", "10.99.0.2", 2)
    checked = runner.sync_rows(FakeModule(params(1, 2), check_mode=True, diff=True))
    assert checked["changed"] and checked["summary"]["created"] == 2 and checked["acknowledged"] == [] and dns.records == {}
    assert database.status == {1: "pending", 2: "pending"}
    done = runner.sync_rows(FakeModule(params(1, 2, 7)))
    assert done["acknowledged"] == [1, 2] and done["not_pending"] == [7] and database.status == {1: "done", 2: "done"}
    assert dns.answers() == {"us3-cab1-ru1-idrac": ("10.99.0.1",), "us3-cab1-ru2-idrac": ("10.99.0.2",)}
    assert "notify {\"acknowledged\": 2}" in database.log
    again = runner.sync_rows(FakeModule(params(1, 2)))
    assert again["changed"] is False and again["not_pending"] == [1, 2]


def test_a_refused_row_is_held_back_and_the_others_acknowledged(door):
    database, dns = door
    for number in (1, 2, 3):
        database.reserve(number, f"us3-cab1-ru{number}-idrac", f"10.99.0.{number}", number)
    dns.refuse = {"us3-cab1-ru2-idrac"}
    with pytest.raises(runner.RowsRefused, match="outbox rows 2: refused by the DNS backend"):
        runner.sync_rows(FakeModule(params(1, 2, 3)))
    assert database.status == {1: "done", 2: "pending", 3: "done"} and database.rows[2].attempts == 1
    assert sorted(dns.answers()) == ["us3-cab1-ru1-idrac", "us3-cab1-ru3-idrac"]


def test_an_unreachable_backend_counts_an_attempt_and_fails(door):
    database, dns = door
    database.reserve(1, "us3-cab1-ru1-idrac", "10.99.0.1", 1)
    dns.down = True
    with pytest.raises(TransportError, match="unreachable"):
        runner.sync_rows(FakeModule(params(1)))
    assert database.status == {1: "pending"} and database.rows[1].attempts == 1 and "unreachable" in database.reasons[1]


def test_another_owners_record_is_a_conflict(door):
    database, dns = door
    database.reserve(1, "us3-cab1-ru1-idrac", "10.99.0.1", 1)
    runner.sync_rows(FakeModule(params(1, owner_id="kea/site1")))
    database.reserve(2, "us3-cab1-ru1-idrac", "10.99.0.9", 1)  # the same name at another site (another database)
    module = FakeModule(params(2, owner_id="kea/site2"))
    found = runner.sync_rows(module)
    assert found["changed"] is False and "belongs to owner kea/site1" in found["conflicts"][0] and module.warnings == found["conflicts"]
    assert dns.answers() == {"us3-cab1-ru1-idrac": ("10.99.0.1",)}
