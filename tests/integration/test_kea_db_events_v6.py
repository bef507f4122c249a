"""The DHCPv6 change feed of kea_db_events against a real PostgreSQL with Kea's schema: one outbox row per DHCPv6
reservation and transaction, whatever order its hosts and ipv6_reservations rows are written in (the module's, Kea's,
a delete by cascade), and an upgrade from the release without it that keeps pending rows."""

from __future__ import annotations

import json
import select
import time

import pytest

from tests.harness.ansible import run_tasks

PASSWORD = "listener-pw-v6-41c9"
HOST = ("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp6_subnet_id, hostname) "
        "VALUES (decode('00030001aabbccddee01', 'hex'), 1, 10, 'v6-cab1-ru1-idrac')")
ADDRESS = ("INSERT INTO ipv6_reservations (address, prefix_len, type, host_id) "
           "SELECT %s, %s, %s, host_id FROM hosts WHERE hostname = 'v6-cab1-ru1-idrac'")


@pytest.fixture
def feed_db(kea_db):
    assert run_tasks([{"ddi.kea_dns.kea_db_events": {"listener_password": PASSWORD}}], env=kea_db.admin_env())[0]["changed"]
    yield kea_db
    run_tasks([{"ddi.kea_dns.kea_db_events": {"state": "absent"}}], env=kea_db.admin_env())


def outbox(pg) -> list[tuple]:
    """operation, and the family, hostname and DHCPv6 addresses of the old and new values, of each row."""
    rows = pg.kea_sql("SELECT operation, old_row, new_row FROM kea_dns.outbox ORDER BY id")

    def brief(value):
        return None if value is None else (value.get("family", 4), value["hostname"], value.get("ipv6_addresses"))
    return [(operation, brief(old), brief(new)) for operation, old, new in rows]


def kea(pg, *statements) -> None:
    """One transaction as Kea's own user (who has no right on the kea_dns schema)."""
    connection = pg.connect_as(pg.kea_user, pg.kea_password)
    with connection, connection.cursor() as cursor:
        for statement in statements:
            if isinstance(statement, tuple):
                cursor.execute(*statement)
            else:
                cursor.execute(statement)
    connection.close()


def test_kea_order_one_row_per_reservation_and_transaction(feed_db):
    listener = feed_db.connect_as("kea_dns_listener", PASSWORD)
    listener.autocommit = True
    listener.cursor().execute("LISTEN kea_lease_events")
    # Kea's order: the host row first, then its addresses, in one transaction -> one INSERT with both addresses.
    kea(feed_db, HOST, (ADDRESS, ("2001:db8:10::2", 128, 0)), (ADDRESS, ("2001:db8:10::1", 128, 0)), (ADDRESS, ("2001:db8:1::", 56, 2)))
    # An address added, and the hostname changed, in one transaction -> one UPDATE.
    kea(feed_db, (ADDRESS, ("2001:db8:10::3", 128, 0)), "UPDATE hosts SET hostname = 'v6-cab1-ru9-idrac'")
    # A change undone in the same transaction -> nothing.
    kea(feed_db, "UPDATE hosts SET hostname = 'other'", "UPDATE hosts SET hostname = 'v6-cab1-ru9-idrac'")
    # A prefix changed only (never in DNS) -> nothing either: the feed carries the addresses.
    kea(feed_db, "UPDATE ipv6_reservations SET prefix_len = 48 WHERE type = 2")
    # The host deleted, its addresses by the cascade -> one DELETE with the addresses it had.
    kea(feed_db, "DELETE FROM hosts")
    assert outbox(feed_db) == [
        ("INSERT", None, (6, "v6-cab1-ru1-idrac", ["2001:db8:10::1", "2001:db8:10::2"])),
        ("UPDATE", (6, "v6-cab1-ru1-idrac", ["2001:db8:10::1", "2001:db8:10::2"]),
         (6, "v6-cab1-ru9-idrac", ["2001:db8:10::1", "2001:db8:10::2", "2001:db8:10::3"])),
        ("DELETE", (6, "v6-cab1-ru9-idrac", ["2001:db8:10::1", "2001:db8:10::2", "2001:db8:10::3"]), None),
    ]
    deadline = time.monotonic() + 5
    while len(listener.notifies) < 3 and time.monotonic() < deadline:
        select.select([listener], [], [], 0.5)
        listener.poll()
    payloads = [json.loads(n.payload) for n in listener.notifies]
    assert [(p["operation"], p["family"], p["hostname"]) for p in payloads] == [
        ("INSERT", 6, "v6-cab1-ru1-idrac"), ("UPDATE", 6, "v6-cab1-ru9-idrac"), ("DELETE", 6, "v6-cab1-ru9-idrac")]
    assert feed_db.kea_sql("SELECT count(*) FROM kea_dns.v6_pending") == [(0,)]
    listener.close()


def test_the_module_and_both_families(feed_db):
    """The module's writes (its own order: hosts rows, then addresses; updates touch only the differing rows), a row
    with both families, and families kept apart: a DHCPv4 change makes a DHCPv4 row only, and the other way round."""
    env = feed_db.env()
    v6 = {"family": 6, "duid": "00:03:00:01:aa:bb:cc:dd:ee:02", "subnet_id": 10, "ipv6_addresses": ["2001:db8:10::20"], "hostname": "v6-a-idrac"}
    run = run_tasks([
        {"ddi.kea_dns.kea_reservation": v6},
        {"ddi.kea_dns.kea_reservation": {**v6, "ipv6_addresses": ["2001:db8:10::21"]}},
        {"ddi.kea_dns.kea_reservation": {"mac": "aa:bb:cc:dd:ee:03", "subnet_id": 1, "ip": "10.99.0.3", "hostname": "v4-b-idrac"}},
        {"ddi.kea_dns.kea_reservation": {**v6, "state": "absent"}},
    ], env=env)
    assert all(result["changed"] for result in run.results), run.output[-3000:]
    assert outbox(feed_db) == [
        ("INSERT", None, (6, "v6-a-idrac", ["2001:db8:10::20"])),
        ("UPDATE", (6, "v6-a-idrac", ["2001:db8:10::20"]), (6, "v6-a-idrac", ["2001:db8:10::21"])),
        ("INSERT", None, (4, "v4-b-idrac", None)),
        ("DELETE", (6, "v6-a-idrac", ["2001:db8:10::21"]), None),
    ]
    feed_db.kea_sql("TRUNCATE kea_dns.outbox")
    # A row holding both: removing its DHCPv6 reservation makes one DHCPv6 DELETE and no DHCPv4 row.
    kea(feed_db, "INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, dhcp6_subnet_id, hostname) "
                 "VALUES (decode('aabbccddee04', 'hex'), 0, 1, ('10.99.0.4'::inet - '0.0.0.0'::inet), 10, 'both-idrac')",
        "INSERT INTO ipv6_reservations (address, prefix_len, type, host_id) SELECT '2001:db8:10::4', 128, 0, host_id FROM hosts "
        "WHERE hostname = 'both-idrac'")
    run = run_tasks([{"ddi.kea_dns.kea_reservation": {"mac": "aa:bb:cc:dd:ee:04", "family": 6, "subnet_id": 10, "state": "absent"}}], env=env)
    assert run[0]["changed"], run.output[-3000:]
    assert outbox(feed_db) == [("INSERT", None, (4, "both-idrac", None)), ("INSERT", None, (6, "both-idrac", ["2001:db8:10::4"])),
                               ("DELETE", (6, "both-idrac", ["2001:db8:10::4"]), None)]


def test_install_over_the_release_without_dhcpv6_keeps_pending_rows(feed_db):
    """The objects of the previous release (three DHCPv4 triggers, no v6_pending) with a pending row: installing this
    release adds the DHCPv6 feed and keeps the row; a second install changes nothing."""
    feed_db.kea_sql("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) "
                    "VALUES (decode('aabbccddee05', 'hex'), 0, 1, ('10.99.0.5'::inet - '0.0.0.0'::inet), 'pending-idrac')")
    feed_db.kea_sql("DROP TRIGGER kea_dns_hosts_v6_insert ON hosts; DROP TRIGGER kea_dns_hosts_v6_update ON hosts; "
                    "DROP TRIGGER kea_dns_hosts_v6_delete ON hosts; DROP TRIGGER kea_dns_ipv6_reservations ON ipv6_reservations; "
                    "DROP TABLE kea_dns.v6_pending; DROP FUNCTION kea_dns.v6_touched(); DROP FUNCTION kea_dns.v6_flush(); "
                    "COMMENT ON SCHEMA kea_dns IS 'ddi.kea_dns events 0123456789abcdef'")
    run = run_tasks([{"ddi.kea_dns.kea_db_events": {"listener_password": PASSWORD}}] * 2, env=feed_db.admin_env())
    upgrade, again = run.results
    assert upgrade["changed"] is True and again["changed"] is False, run.output[-2000:]
    assert outbox(feed_db) == [("INSERT", None, (4, "pending-idrac", None))]
    kea(feed_db, HOST, (ADDRESS, ("2001:db8:10::9", 128, 0)))
    assert outbox(feed_db)[-1] == ("INSERT", None, (6, "v6-cab1-ru1-idrac", ["2001:db8:10::9"]))
