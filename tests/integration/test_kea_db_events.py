"""ddi.kea_dns.kea_db_events against a real PostgreSQL with Kea's schema: outbox, triggers, NOTIFY, listener role."""

from __future__ import annotations

import json
import re
import select
import time

import psycopg2
import pytest

from tests.harness.ansible import run_tasks

PASSWORD = "listener-pw-81f2"
INSERT = ("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) "
          "VALUES (decode('aabbccddeeff', 'hex'), 0, 1, ('10.99.0.50'::inet - '0.0.0.0'::inet), 'us3-cab10-ru20-idrac')")


def task(**args) -> dict:
    return {"ddi.kea_dns.kea_db_events": args}


@pytest.fixture
def events_db(kea_db):
    yield kea_db
    run_tasks([task(state="absent")], env=kea_db.admin_env())


def outbox(pg) -> list[tuple]:
    return pg.kea_sql("SELECT operation, old_row->>'hostname', new_row->>'ipv4_address', status FROM kea_dns.outbox ORDER BY id")


def test_install_is_idempotent_and_check_mode_changes_nothing(events_db):
    env = events_db.admin_env()
    run = run_tasks([dict(task(listener_password=PASSWORD), check_mode=True, diff=True),
                     task(listener_password=PASSWORD), task(listener_password=PASSWORD),
                     task(listener_password=PASSWORD + "-new"), task(listener_password=PASSWORD)], env=env, args=["-vvv"])
    check, install, again, new_password, old_password = run.results
    assert check["changed"] is True and check["diff"]["before"]["schema"] is False, check
    assert install["changed"] is True and install["state"]["triggers"] == [
        "kea_dns_hosts_delete", "kea_dns_hosts_insert", "kea_dns_hosts_update", "kea_dns_hosts_v6_delete", "kea_dns_hosts_v6_insert",
        "kea_dns_hosts_v6_update", "kea_dns_ipv6_reservations", "kea_dns_v6_pending_flush"]
    assert again["changed"] is False and again["password_changed"] is False
    assert new_password["changed"] is True and new_password["statements"] == 0 and new_password["password_changed"] is True
    assert old_password["changed"] is True
    assert PASSWORD not in run.output
    assert events_db.kea_sql("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'kea_dns_%'") == [(8,)]


def test_triggers_write_the_outbox_and_notify(events_db):
    run = run_tasks([task(listener_password=PASSWORD)], env=events_db.admin_env())
    assert run[0]["changed"], run[0].get("msg")
    listener = events_db.connect_as("kea_dns_listener", PASSWORD)
    listener.autocommit = True
    listener.cursor().execute("LISTEN kea_lease_events")
    kea = events_db.connect_as(events_db.kea_user, events_db.kea_password)  # Kea's own user needs no right on kea_dns
    with kea, kea.cursor() as cursor:
        cursor.execute(INSERT)
    with kea, kea.cursor() as cursor:
        cursor.execute("UPDATE hosts SET ipv4_address = ('10.99.0.51'::inet - '0.0.0.0'::inet)")
        cursor.execute("UPDATE hosts SET dhcp4_client_classes = 'bmc'")  # not DNS-relevant: no event
        cursor.execute("DELETE FROM hosts")
    kea.close()
    deadline = time.monotonic() + 5
    while len(listener.notifies) < 3 and time.monotonic() < deadline:  # the three may arrive in separate reads
        select.select([listener], [], [], 0.5)
        listener.poll()
    payloads = [json.loads(n.payload) for n in listener.notifies]
    assert [p["operation"] for p in payloads] == ["INSERT", "UPDATE", "DELETE"]
    assert payloads[0] == {"operation": "INSERT", "hostname": "us3-cab10-ru20-idrac", "ipv4_address": 174260274,
                           "dhcp_identifier": "aabbccddeeff", "outbox_id": payloads[0]["outbox_id"]}
    assert outbox(events_db) == [("INSERT", None, "174260274", "pending"), ("UPDATE", "us3-cab10-ru20-idrac", "174260275", "pending"),
                                 ("DELETE", "us3-cab10-ru20-idrac", None, "pending")]
    with listener.cursor() as cursor:  # least privilege: read hosts, work the outbox, nothing else
        cursor.execute("SELECT count(*) FROM hosts")
        cursor.execute("UPDATE kea_dns.outbox SET status = 'done'")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cursor.execute(INSERT)
    with listener.cursor() as cursor, pytest.raises(psycopg2.errors.InsufficientPrivilege):
        cursor.execute("INSERT INTO kea_dns.outbox (operation) VALUES ('INSERT')")
    listener.close()


def test_removal_leaves_kea_working(events_db):
    env = events_db.admin_env()
    run = run_tasks([task(), task(state="absent"), task(state="absent")], env=env)
    assert [r["changed"] for r in run.results] == [True, True, False]
    events_db.kea_sql(INSERT)
    assert events_db.kea_sql("SELECT count(*) FROM pg_namespace WHERE nspname = 'kea_dns'") == [(0,)]
    assert events_db.kea_sql("SELECT count(*) FROM hosts") == [(1,)]


def test_role_installs_once_then_changes_nothing(events_db):
    role = {"ansible.builtin.include_role": {"name": "ddi.kea_dns.kea_db_events"}}
    variables = {"kea_db_events_db_host": events_db.sock, "kea_db_events_db_port": events_db.port,
                 "kea_db_events_listener_password": PASSWORD}
    recaps = []
    for _round in range(2):
        run = run_tasks([role], variables=variables)
        assert run.returncode == 0, run.output[-3000:]
        recaps.append(int(re.search(r"localhost\s*:.*changed=(\d+)", run.output).group(1)))
    assert recaps == [2, 1], recaps  # the role's task once, plus the harness's own result file each time
    listener = events_db.connect_as("kea_dns_listener", PASSWORD)
    listener.close()


def test_install_over_an_earlier_outbox_adds_the_lease_columns_and_keeps_pending_rows(events_db):
    env = events_db.admin_env()
    assert run_tasks([task(listener_password=PASSWORD)], env=env)[0]["changed"]
    events_db.kea_sql(INSERT)
    # The outbox as the release before acknowledged delivery made it: no lease columns, its own fingerprint.
    events_db.kea_sql("ALTER TABLE kea_dns.outbox DROP COLUMN delivered_until, DROP COLUMN delivered_to")
    events_db.kea_sql("COMMENT ON SCHEMA kea_dns IS 'ddi.kea_dns events 0123456789abcdef'")
    run = run_tasks([task(listener_password=PASSWORD), task(listener_password=PASSWORD)], env=env)
    upgrade, again = run.results
    assert upgrade["changed"] is True and again["changed"] is False, run.output[-2000:]
    columns = events_db.kea_sql("SELECT column_name FROM information_schema.columns WHERE table_schema = 'kea_dns' "
                                "AND table_name = 'outbox' AND column_name LIKE 'delivered_%' ORDER BY 1")
    assert columns == [("delivered_to",), ("delivered_until",)]
    assert outbox(events_db) == [("INSERT", None, "174260274", "pending")]
