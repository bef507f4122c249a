"""ddi.kea_dns.dns_sync, the task that applies and acknowledges the outbox rows of one EDA event, on every backend the
daemon writes to (real Knot, PowerDNS, BIND; the Technitium and SOLIDserver emulators through their client code),
with real PostgreSQL (Kea schema + outbox) and real ansible-playbook: check mode tells the truth and writes nothing,
the rows are acknowledged only once applied, a second run changes nothing, and DNS ends equal to the hosts table."""

from __future__ import annotations

import pytest

from tests.harness.ansible import run_tasks
from tests.harness.listener import LISTENER_PASSWORD
from tests.harness.pipeline import INSERT, LISTENER_BACKENDS, MOVE, REMOVE, REVERSE, ZONE, kea_write, listener_target


@pytest.fixture(params=LISTENER_BACKENDS)
def target(request):
    return listener_target(request, request.param)


def sync_task(pg, target, ids, **extra) -> dict:
    return {"ddi.kea_dns.dns_sync": {"db_host": "127.0.0.1", "db_port": pg.port, "db_name": pg.kea_db, "db_user": "kea_dns_listener",
                                     "zone": ZONE, "ptr": True, "ptr_zone": REVERSE, "outbox_ids": ids, **target.options, **extra}}


def pending_ids(pg) -> list[int]:
    return [row[0] for row in pg.kea_sql("SELECT id FROM kea_dns.outbox WHERE status = 'pending' ORDER BY id")]


def state(target, cabinet: str) -> dict[str, list[str]]:
    """This test's records only (the session's servers hold other tests' records too)."""
    return {name: values for name, values in target.state(ptr=True).items()
            if cabinet in name or any(cabinet in value for value in values)}


def test_check_mode_then_apply_then_again_changes_nothing_and_follows_later_changes(pipeline_db, target):
    pg = pipeline_db
    env = {"KEA_DB_PASSWORD": LISTENER_PASSWORD, **target.env}
    kea_write(pg, [(INSERT, ("0a0b20000001", "10.99.40.1", "us3-cab40-ru01-idrac")),
                   (INSERT, ("0a0b20000002", "10.99.40.2", "us3-cab40-ru02-bmc")),
                   (INSERT, ("0a0b20000003", "10.99.40.3", "web01"))])  # no BMC: no record under the default filter
    ids = pending_ids(pg)
    run = run_tasks([dict(sync_task(pg, target, ids), check_mode=True, diff=True), dict(sync_task(pg, target, ids), diff=True),
                     sync_task(pg, target, ids)], env=env)
    check, applied, again = run.results
    assert not check.get("failed") and not applied.get("failed"), run.output[-3000:]
    assert check["changed"] and check["summary"]["created"] == 4 and check["acknowledged"] == []
    assert set(check["diff"]["after"]) == set(applied["diff"]["after"])  # check mode told the truth
    assert applied["changed"] and applied["summary"]["created"] == 4 and applied["acknowledged"] == ids
    assert (again["changed"], again["not_pending"], again["acknowledged"]) == (False, ids, [])
    assert pending_ids(pg) == []
    # The EDA door records each reservation's DNS status as the daemon does.
    assert sorted(pg.kea_sql("SELECT h.hostname, s.status FROM kea_dns.dns_status s JOIN hosts h USING (host_id)")) == [
        ("us3-cab40-ru01-idrac", "synced"), ("us3-cab40-ru02-bmc", "synced"), ("web01", "skipped")]
    assert state(target, "cab40") == {
        f"us3-cab40-ru01-idrac.{ZONE}": ["10.99.40.1"], f"us3-cab40-ru02-bmc.{ZONE}": ["10.99.40.2"],
        f"1.40.{REVERSE}": [f"us3-cab40-ru01-idrac.{ZONE}"], f"2.40.{REVERSE}": [f"us3-cab40-ru02-bmc.{ZONE}"]}
    for secret in target.secrets() + [LISTENER_PASSWORD]:
        assert secret not in run.output

    # A move and a delete, applied with the rows' ids in the opposite order: the current state wins.
    kea_write(pg, [(MOVE, ("10.99.40.12", "us3-cab40-ru02-bmc"))])
    kea_write(pg, [(REMOVE, ("us3-cab40-ru01-idrac",))])
    later = pending_ids(pg)
    run = run_tasks([sync_task(pg, target, list(reversed(later)))], env=env)
    assert run.results[0]["acknowledged"] == later, run.output[-3000:]
    assert state(target, "cab40") == {f"us3-cab40-ru02-bmc.{ZONE}": ["10.99.40.12"], f"12.40.{REVERSE}": [f"us3-cab40-ru02-bmc.{ZONE}"]}

    # The last one deleted: its A and PTR go (and the session's servers are left as this test found them).
    kea_write(pg, [(REMOVE, ("us3-cab40-ru02-bmc",))])
    run = run_tasks([sync_task(pg, target, pending_ids(pg))], env=env)
    assert run.results[0]["summary"]["deleted"] == 2, run.output[-3000:]
    assert state(target, "cab40") == {}


@pytest.mark.parametrize(("extra", "message"), [
    ({"outbox_ids": [0]}, "outbox_ids[0]: invalid value 0: expected a positive outbox id"),
    ({"hostname_filter": []}, "hostname_filter: invalid value []: needs at least one glob"),
    ({"events_schema": "kea-dns"}, "events_schema: invalid value 'kea-dns': expected a lower-case SQL identifier"),
    ({"ttl": 0}, "ttl: invalid value 0: must be at least 1 second"),
])
def test_bad_input_fails_naming_the_field_and_acknowledges_nothing(pipeline_db, powerdns_server, extra, message):
    powerdns_server.reset()
    kea_write(pipeline_db, [(INSERT, ("0a0b20000009", "10.99.41.1", "us3-cab41-ru01-idrac"))])
    ids = pending_ids(pipeline_db)
    task = {"ddi.kea_dns.dns_sync": {"provider": "powerdns", "db_host": "127.0.0.1", "db_port": pipeline_db.port,
                                     "db_name": pipeline_db.kea_db, "db_user": "kea_dns_listener", "zone": ZONE,
                                     "outbox_ids": ids, **extra}}
    run = run_tasks([task], env={"KEA_DB_PASSWORD": LISTENER_PASSWORD, **powerdns_server.env()})
    assert run.results[0].get("failed") and message in run.results[0]["msg"], run.results[0]
    assert pending_ids(pipeline_db) == ids


def test_a_server_down_fails_the_task_and_sets_when_the_rows_come_again(pipeline_db, target):
    """Down is a state of the backend wherever it shows (Knot, Technitium and SOLIDserver reach the server as the
    backend is made, the others at the first read): the rows stay pending with the attempt counted and a time to be
    delivered again, so the EDA source brings them back within seconds, not after its acknowledgment timeout."""
    pg = pipeline_db
    env = {"KEA_DB_PASSWORD": LISTENER_PASSWORD, **target.env}
    kea_write(pg, [(INSERT, ("0a0b20000021", "10.99.42.1", "us3-cab42-ru01-idrac"))])
    ids = pending_ids(pg)
    target.server.stop_server()
    try:
        run = run_tasks([sync_task(pg, target, ids)], env=env)
        assert run.results[0].get("failed"), run.output[-3000:]
        rows = pg.kea_sql("SELECT status, attempts, last_error, delivered_until > clock_timestamp() FROM kea_dns.outbox WHERE id = ANY(%s)",
                          (ids,))
        assert rows == [("pending", 1, run.results[0]["msg"], True)], (rows, run.results[0]["msg"])
    finally:
        target.server.start_server()
    run = run_tasks([sync_task(pg, target, ids)], env=env)
    assert run.results[0].get("acknowledged") == ids, run.output[-3000:]
    assert state(target, "cab42") == {f"us3-cab42-ru01-idrac.{ZONE}": ["10.99.42.1"], f"1.42.{REVERSE}": [f"us3-cab42-ru01-idrac.{ZONE}"]}
    kea_write(pg, [(REMOVE, ("us3-cab42-ru01-idrac",))])
    run = run_tasks([sync_task(pg, target, pending_ids(pg))], env=env)
    assert state(target, "cab42") == {}, run.output[-3000:]
