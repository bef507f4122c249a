"""The event source ddi.kea_dns.kea_events in process: its main() on a real asyncio queue against real PostgreSQL
(Kea schema + the kea_db_events outbox), logged in as the least-privileged listener role.

The source is loaded the way ansible-rulebook loads it (runpy.run_path of the file inside a collections
directory), so these tests also prove that it imports the collection's core from where it is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import runpy
import threading
import time

import psycopg2
import pytest

from tests.harness.ansible import collections_path
from tests.harness.listener import LISTENER_PASSWORD

INSERT = ("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) "
          "VALUES (decode(%s, 'hex'), 0, 1, (%s::inet - '0.0.0.0'::inet), %s)")
SOURCE = os.path.join("ansible_collections", "ddi", "kea_dns", "extensions", "eda", "plugins", "event_source", "kea_events.py")


@pytest.fixture(scope="module")
def source():
    return runpy.run_path(os.path.join(collections_path(), SOURCE))


def args_for(pg, **extra):
    return {"db_host": "127.0.0.1", "db_port": pg.port, "db_name": pg.kea_db, "db_user": "kea_dns_listener",
            "db_password": LISTENER_PASSWORD, "dns_zone": "site.test", "poll_interval": 30, "retry_max_interval": 1, **extra}


def mac(number: int) -> str:
    return f"0a0b0c{number:06x}"


def acknowledge(pg, ids) -> None:
    """What the module dns_sync does once it applied the rows of an event: mark them done, NOTIFY."""
    pg.kea_sql("UPDATE kea_dns.outbox SET status = 'done', processed_at = clock_timestamp() WHERE id = ANY(%s)", (list(ids),))
    pg.kea_sql("SELECT pg_notify('kea_lease_events', '{\"acknowledged\": 1}')")


class Running:
    """The source's main() as a task on this loop, with the queue it fills; with ``pg``, every event taken is
    acknowledged as dns_sync would (``acknowledge``) as soon as it is taken."""

    def __init__(self, source, args, pg=None):
        self.queue: asyncio.Queue = asyncio.Queue()
        self.pg = pg
        self.task = asyncio.create_task(source["main"](self.queue, args))

    async def events(self, count: int, timeout: float = 30) -> list[dict]:
        found = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            if self.task.done():
                self.task.result()  # raises what stopped the source
            try:
                event = await asyncio.wait_for(self.queue.get(), max(0.01, min(1.0, deadline - time.monotonic())))
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{len(found)} events of {count} after {timeout} s: {found}") from None
                continue
            found.append(event)
            if self.pg is not None:
                await asyncio.to_thread(acknowledge, self.pg, event["outbox_ids"])
        return found

    async def changes(self, count: int, timeout: float = 30) -> list[dict]:
        """The changes of the events taken until ``count`` changes came."""
        found: list[dict] = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            found += [change for event in await self.events(1, max(0.1, deadline - time.monotonic())) for change in event["changes"]]
        return found

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def outbox_status(pg) -> dict[str, int]:
    return dict(pg.kea_sql("SELECT status, count(*) FROM kea_dns.outbox GROUP BY status"))


def test_insert_update_delete_become_events_in_order_with_the_documented_keys(source, pipeline_db):
    events_module = source["events"]

    async def scenario():
        running = Running(source, args_for(pipeline_db), pipeline_db)
        await asyncio.sleep(0.5)
        found = []
        for statement, params in ((INSERT, (mac(1), "10.99.0.50", "us3-cab10-ru20-idrac")),
                                  ("UPDATE hosts SET ipv4_address = ('10.99.0.51'::inet - '0.0.0.0'::inet), hostname = 'us3-cab11-ru02-ilo'", None),
                                  ("DELETE FROM hosts", None)):
            await asyncio.to_thread(pipeline_db.kea_sql, statement, params)
            found += await running.events(1)  # a lone change goes out at once, as an event of its own
        await running.stop()
        return found

    insert, update, delete = asyncio.run(scenario())
    for event in (insert, update, delete):
        assert tuple(event) == events_module.EVENT_KEYS
        assert event["outbox_ids"] == [event["outbox_id"]] and len(event["changes"]) == 1
        assert tuple(event["changes"][0]) == (*events_module.CHANGE_KEYS, "outbox_ids")
    assert (insert["operation"], insert["hostname"], insert["ip"], insert["mac"], insert["site"], insert["cabinet"],
            insert["rack_unit"], insert["bmc_type"], insert["fqdn"], insert["subnet_id"]) == \
        ("INSERT", "us3-cab10-ru20-idrac", "10.99.0.50", "0a:0b:0c:00:00:01", "us3", "cab10", 20, "idrac",
         "us3-cab10-ru20-idrac.site.test", 1)
    assert (update["operation"], update["hostname"], update["ip"], update["old"]["hostname"], update["old"]["ip"]) == \
        ("UPDATE", "us3-cab11-ru02-ilo", "10.99.0.51", "us3-cab10-ru20-idrac", "10.99.0.50")
    assert (delete["operation"], delete["hostname"], delete["ip"], delete["old"]) == ("DELETE", "us3-cab11-ru02-ilo", "10.99.0.51", None)
    assert insert["outbox_id"] < update["outbox_id"] < delete["outbox_id"]
    assert insert["changed_at"].endswith("Z")
    assert outbox_status(pipeline_db) == {"done": 3}


def test_changes_made_while_stopped_are_handed_over_on_start_in_batches(source, pipeline_db):
    for number in range(250):  # more than two batches
        pipeline_db.kea_sql(INSERT, (mac(number), f"10.99.{number // 200}.{number % 200 + 1}", f"us3-cab10-ru{number:03d}-idrac"))

    async def scenario():
        running = Running(source, args_for(pipeline_db, batch_size=100), pipeline_db)
        found = await running.events(3)
        await running.stop()
        return found

    found = asyncio.run(scenario())
    assert [len(event["outbox_ids"]) for event in found] == [100, 100, 50]
    assert [event["operation"] for event in found] == ["BATCH"] * 3
    changes = [change for event in found for change in event["changes"]]
    assert [change["hostname"] for change in changes] == [f"us3-cab10-ru{number:03d}-idrac" for number in range(250)]
    assert outbox_status(pipeline_db) == {"done": 250}


def test_the_next_event_waits_for_the_acknowledgment_and_rows_not_acknowledged_come_again(source, pipeline_db):
    async def scenario():
        first = Running(source, args_for(pipeline_db, ack_timeout=6))
        await asyncio.sleep(0.5)
        await asyncio.to_thread(pipeline_db.kea_sql, INSERT, (mac(1), "10.99.0.50", "us3-cab10-ru01-idrac"))
        handed = (await first.events(1))[0]
        await asyncio.to_thread(pipeline_db.kea_sql, INSERT, (mac(2), "10.99.0.51", "us3-cab10-ru02-idrac"))
        await asyncio.sleep(2)
        assert first.queue.empty()  # not acknowledged: nothing else is handed over
        leased = await asyncio.to_thread(pipeline_db.kea_sql, "SELECT status, delivered_to IS NOT NULL FROM kea_dns.outbox ORDER BY id")
        assert leased == [("pending", True), ("pending", False)]
        again = (await first.events(1, timeout=15))[0]  # the lease ran out: the row comes again, with the one behind it
        assert again["outbox_ids"] == [handed["outbox_ids"][0], handed["outbox_ids"][0] + 1]
        await first.stop()  # stopped without acknowledging: the next source takes the rows at once
        started = time.monotonic()
        second = Running(source, args_for(pipeline_db, ack_timeout=300), pipeline_db)
        taken = (await second.events(1, timeout=10))[0]
        assert taken["outbox_ids"] == again["outbox_ids"] and time.monotonic() - started < 5
        await asyncio.sleep(0.5)
        await second.stop()

    asyncio.run(scenario())
    assert outbox_status(pipeline_db) == {"done": 2}


def test_a_bad_row_is_skipped_with_its_reason_and_the_rows_behind_it_go_on(source, pipeline_db, caplog):
    pipeline_db.kea_sql("INSERT INTO kea_dns.outbox (operation, new_row) VALUES ('INSERT', '{\"hostname\": 5}')")
    pipeline_db.kea_sql("INSERT INTO kea_dns.outbox (operation, new_row) VALUES "
                        "('INSERT', '{\"hostname\": \"x\", \"dhcp_identifier_type\": 77, \"dhcp_identifier\": \"01\"}')")
    pipeline_db.kea_sql(INSERT, (mac(2), "10.99.0.49", "us3 cab10-ru19-idrac"))  # selected by the filter, no DNS name
    pipeline_db.kea_sql(INSERT, (mac(1), "10.99.0.50", "us3-cab10-ru20-idrac"))

    async def scenario():
        running = Running(source, args_for(pipeline_db), pipeline_db)
        found = await running.changes(1)
        await running.stop()
        return found

    with caplog.at_level(logging.WARNING, logger="ddi.kea_dns.kea_events"):
        found = asyncio.run(scenario())
    assert [change["hostname"] for change in found] == ["us3-cab10-ru20-idrac"]
    rows = pipeline_db.kea_sql("SELECT status, last_error FROM kea_dns.outbox ORDER BY id")
    assert rows[0] == ("skipped", "new_row.hostname is not a string")
    assert rows[1] == ("skipped", "dhcp_identifier_type: invalid value 77: not an identifier type of Kea")
    assert rows[2][0] == "skipped" and "us3 cab10-ru19-idrac" in rows[2][1]
    assert rows[3][0] == "done"
    assert "outbox row 2 skipped (3 so far)" in caplog.text and "outbox row 3 skipped" in caplog.text


def test_postgresql_restarted_while_inserts_continue_loses_nothing(source, pipeline_db, caplog):
    committed: list[str] = []
    stop = threading.Event()

    def writer():
        number = 0
        while not stop.is_set():
            hostname = f"us3-cab12-ru{number:03d}-bmc"
            try:
                pipeline_db.kea_sql(INSERT, (mac(1000 + number), f"10.99.5.{number + 1}", hostname))
                committed.append(hostname)
                number += 1
            except psycopg2.Error:
                time.sleep(0.1)  # the server is restarting; the same insert is tried again
            time.sleep(0.05)
            if number >= 120:
                return

    async def scenario():
        running = Running(source, args_for(pipeline_db), pipeline_db)
        thread = threading.Thread(target=writer)
        thread.start()
        await asyncio.sleep(1.5)
        await asyncio.to_thread(pipeline_db.restart)
        await asyncio.to_thread(thread.join, 120)
        stop.set()
        found: list[dict] = []
        deadline = time.monotonic() + 90
        while {change["hostname"] for change in found} != set(committed) and time.monotonic() < deadline:
            with contextlib.suppress(AssertionError):
                found += await running.changes(1, timeout=5)
        await running.stop()
        return found

    with caplog.at_level(logging.WARNING, logger="ddi.kea_dns.kea_events"):
        found = asyncio.run(scenario())
    assert "reconnecting" in caplog.text  # the restart was noticed
    assert LISTENER_PASSWORD not in caplog.text
    hostnames = [change["hostname"] for change in found]
    assert set(hostnames) == set(committed) and len(committed) == 120
    # At least once, in order: a batch handed over just before the restart may come again, never out of order.
    first_seen = [hostnames.index(name) for name in committed]
    assert first_seen == sorted(first_seen)
    assert outbox_status(pipeline_db) == {"done": 120}


def test_bad_arguments_and_refused_credentials_stop_the_source_with_a_clear_message(source, pipeline_db):
    async def run(args):
        await asyncio.wait_for(source["main"](asyncio.Queue(), args), 30)

    with pytest.raises(Exception, match=r"argument db_hots: .*unknown argument \(did you mean db_host\?\)"):
        asyncio.run(run({"db_hots": "127.0.0.1"}))
    with pytest.raises(Exception, match="password authentication failed") as caught:
        asyncio.run(run(args_for(pipeline_db, db_password="wrong-password-4711")))
    assert "wrong-password-4711" not in str(caught.value)
    with pytest.raises(Exception, match=r"has no nowhere\.outbox table; install it with the ddi\.kea_dns\.kea_db_events role"):
        asyncio.run(run(args_for(pipeline_db, events_schema="nowhere")))
