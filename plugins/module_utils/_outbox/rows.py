# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: working the outbox that schema.py's triggers fill.

A consumer claims pending rows in its transaction (``FOR UPDATE SKIP LOCKED``, so two consumers never take the
same row), takes the advisory locks of every name the rows touch (sorted, so two consumers cannot deadlock),
re-reads the current reservations of those names, applies them to DNS, and marks the rows done in the same
transaction. Nothing is marked before the DNS backend accepted the change; a failure rolls the claim back and the
rows stay pending. Because the current rows are re-read under the locks, the last consumer to touch a name always
writes its newest state, whatever order the rows were claimed in.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import typing as t
from dataclasses import dataclass

from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.db import DbSettings, connect
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.fields import int_to_ipv4
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox.schema import IDENTIFIER_RE

LOCK_NAMESPACE = "ddi.kea_dns:"


@dataclass(frozen=True)
class OutboxRow:
    id: int
    operation: str
    old: dict | None
    new: dict | None
    created_at: datetime.datetime
    attempts: int = 0

    def _records(self) -> list[dict]:
        return [r for r in (self.old, self.new) if isinstance(r, dict)]

    @property
    def family(self) -> int:
        """6 for a row of the DHCPv6 change feed, else 4."""
        return 6 if any(r.get("family") == 6 for r in self._records()) else 4

    def hostnames(self) -> set[str]:
        return {r["hostname"].lower() for r in self._records() if isinstance(r.get("hostname"), str) and r["hostname"]}

    def addresses(self) -> set[str]:
        """The IPv4 and IPv6 addresses of the old and new values."""
        found = {int_to_ipv4(r["ipv4_address"]) for r in self._records() if _is_ipv4_int(r.get("ipv4_address")) and r["ipv4_address"]}
        for record in self._records():
            found.update(str(ipaddress.IPv6Address(a)) for a in record.get("ipv6_addresses") or () if _is_ipv6(a))
        return found  # type: ignore[return-value]

    def malformed(self) -> str | None:
        """Why the row cannot be what the triggers write, or None."""
        expected = {"INSERT": ("new",), "UPDATE": ("old", "new"), "DELETE": ("old",)}.get(self.operation)
        if expected is None:
            return f"unknown operation {self.operation!r}"
        for side in expected:
            record = getattr(self, side)
            if not isinstance(record, dict):
                return f"{side}_row is not a JSON object"
            if record.get("hostname") is not None and not isinstance(record["hostname"], str):
                return f"{side}_row.hostname is not a string"
            if record.get("ipv4_address") is not None and not _is_ipv4_int(record["ipv4_address"]):
                return f"{side}_row.ipv4_address {record['ipv4_address']!r} is not an IPv4 address as Kea stores it"
            v6 = record.get("ipv6_addresses")
            if v6 is not None and (not isinstance(v6, list) or not all(_is_ipv6(a) for a in v6)):
                return f"{side}_row.ipv6_addresses {v6!r} is not a list of IPv6 addresses"
        return None


def _is_ipv6(value: object) -> bool:
    try:
        ipaddress.IPv6Address(value)  # type: ignore[arg-type]
    except (ipaddress.AddressValueError, ValueError, TypeError):
        return False
    return True


def _is_ipv4_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFFFFFFFF


def listen(settings: DbSettings, channel: str) -> t.Any:
    """A connection of its own (autocommit) that LISTENs on ``channel``; its notifications only wake the consumer."""
    if not IDENTIFIER_RE.fullmatch(channel):
        raise ValueError(f"not an SQL identifier: {channel!r}")
    conn = connect(settings)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f"LISTEN {channel}")
    return conn


def exists(cursor: t.Any, schema: str) -> bool:
    """Whether ``schema`` holds an outbox table (installed by the kea_db_events role)."""
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (_table(schema),))
    return bool(cursor.fetchone()[0])


def _table(schema: str) -> str:
    if not IDENTIFIER_RE.fullmatch(schema):
        raise ValueError(f"not an SQL identifier: {schema!r}")
    return f"{schema}.outbox"


def claim(cursor: t.Any, schema: str, limit: int, after_id: int = 0) -> list[OutboxRow]:
    """Up to ``limit`` pending rows (with ids above ``after_id``) that no other consumer holds, oldest first."""
    cursor.execute(f"SELECT id, operation, old_row, new_row, created_at, attempts FROM {_table(schema)} "  # noqa: S608 - checked identifier
                   "WHERE status = 'pending' AND id > %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED", (after_id, limit))
    return [OutboxRow(*row) for row in cursor.fetchall()]


# -- acknowledged delivery (the EDA source hands rows over, the task that applied them finishes them) ---------------
# A source tags its leases with its session: pid and start time of its LISTEN connection's backend. A lease whose
# session is gone (the source stopped, was killed, or PostgreSQL restarted) is over at once, whatever its time.
SESSION_TAG = "pg_backend_pid()::text || '/' || (SELECT extract(epoch FROM backend_start)::text FROM pg_stat_activity WHERE pid = pg_backend_pid())"
_LEASE_OVER = ("(delivered_until IS NULL OR delivered_until <= clock_timestamp() OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a "
               "WHERE a.pid::text || '/' || extract(epoch FROM a.backend_start)::text = delivered_to))")


def session_tag(cursor: t.Any) -> str:
    """The tag of the session of ``cursor``, as its leases carry it."""
    cursor.execute(f"SELECT {SESSION_TAG}")
    return str(cursor.fetchone()[0])


def has_leases(cursor: t.Any, schema: str) -> bool:
    """Whether the outbox has the columns of acknowledged delivery (kea_db_events of this release or later)."""
    cursor.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = %s AND table_name = 'outbox' "
                   "AND column_name IN ('delivered_until', 'delivered_to')", (_table(schema).split(".", maxsplit=1)[0],))
    return cursor.fetchone()[0] == 2


def in_flight(cursor: t.Any, schema: str, tag: str) -> int:
    """How many rows handed over by the session ``tag`` are neither finished nor past their lease."""
    cursor.execute(f"SELECT count(*) FROM {_table(schema)} WHERE status = 'pending' AND delivered_to = %s "  # noqa: S608
                   "AND delivered_until > clock_timestamp()", (tag,))
    return int(cursor.fetchone()[0])


def deliverable(cursor: t.Any, schema: str, limit: int) -> list[OutboxRow]:
    """Up to ``limit`` pending rows that are not handed over (or whose lease is over), oldest first, locked."""
    cursor.execute(f"SELECT id, operation, old_row, new_row, created_at, attempts FROM {_table(schema)} "  # noqa: S608
                   f"WHERE status = 'pending' AND {_LEASE_OVER} ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED", (limit,))
    return [OutboxRow(*row) for row in cursor.fetchall()]


def lease(cursor: t.Any, schema: str, ids: t.Sequence[int], tag: str, seconds: float) -> None:
    """Hand rows over to the session ``tag`` for ``seconds``: until then no source delivers them again."""
    if ids:
        cursor.execute(f"UPDATE {_table(schema)} SET delivered_to = %s, "  # noqa: S608
                       "delivered_until = clock_timestamp() + %s * interval '1 second' WHERE id = ANY(%s)", (tag, seconds, list(ids)))


def claim_ids(cursor: t.Any, schema: str, ids: t.Sequence[int]) -> list[OutboxRow]:
    """The pending rows among ``ids``, locked for this transaction (waiting for a consumer that holds them), oldest first."""
    cursor.execute(f"SELECT id, operation, old_row, new_row, created_at, attempts FROM {_table(schema)} "  # noqa: S608
                   "WHERE id = ANY(%s) AND status = 'pending' ORDER BY id FOR UPDATE", (list(ids),))
    return [OutboxRow(*row) for row in cursor.fetchall()]


def release(cursor: t.Any, schema: str, ids: t.Sequence[int], reason: str, max_delay: float) -> None:
    """The rows could not be applied now: count the attempt, keep the reason, deliver them again after a wait that
    doubles with each attempt (1 s, 2 s, 4 s ... ``max_delay``)."""
    if ids:
        cursor.execute(f"UPDATE {_table(schema)} SET attempts = attempts + 1, last_error = %s, "  # noqa: S608
                       "delivered_until = clock_timestamp() + least(power(2, least(attempts, 20)), %s) * interval '1 second' "
                       "WHERE id = ANY(%s) AND status = 'pending'", (reason[:1000], max_delay, list(ids)))


def notify(cursor: t.Any, channel: str, payload: str) -> None:
    """A NOTIFY on ``channel``, sent when the transaction commits (it wakes the consumers)."""
    if not IDENTIFIER_RE.fullmatch(channel):
        raise ValueError(f"not an SQL identifier: {channel!r}")
    cursor.execute("SELECT pg_notify(%s, %s)", (channel, payload))


def finish(cursor: t.Any, schema: str, done: t.Sequence[int], skipped: t.Mapping[int, str]) -> None:
    """Mark rows done, or skipped with their reason, in the claiming transaction."""
    if done:
        cursor.execute(f"UPDATE {_table(schema)} SET status = 'done', processed_at = clock_timestamp(), "  # noqa: S608
                       "attempts = attempts + 1 WHERE id = ANY(%s)", (list(done),))
    for row_id, reason in skipped.items():
        cursor.execute(f"UPDATE {_table(schema)} SET status = 'skipped', processed_at = clock_timestamp(), "  # noqa: S608
                       "attempts = attempts + 1, last_error = %s WHERE id = %s", (reason[:1000], row_id))


def refused(cursor: t.Any, schema: str, row_id: int, reason: str) -> None:
    """Count a refusal of the row by the DNS backend; the row stays pending (it is retried)."""
    cursor.execute(f"UPDATE {_table(schema)} SET attempts = attempts + 1, last_error = %s WHERE id = %s",  # noqa: S608
                   (reason[:1000], row_id))


def backlog(cursor: t.Any, schema: str) -> tuple[int, float]:
    """How many rows are pending, and how long (seconds) the oldest of them has waited (0 when none)."""
    table = _table(schema)
    cursor.execute(f"SELECT count(*), COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0) "  # noqa: S608
                   f"FROM {table} WHERE status = 'pending'")
    count, age = cursor.fetchone()
    return int(count), max(0.0, float(age))


def purge(cursor: t.Any, schema: str, older_than: datetime.timedelta) -> int:
    """Delete done and skipped rows older than ``older_than``; returns how many."""
    cursor.execute(f"DELETE FROM {_table(schema)} WHERE status <> 'pending' AND processed_at < clock_timestamp() - %s",  # noqa: S608
                   (older_than,))
    return cursor.rowcount


def lock_key(text: str) -> int:
    """A stable signed 64-bit advisory lock key for a name or an address."""
    return int.from_bytes(hashlib.sha256((LOCK_NAMESPACE + text).encode()).digest()[:8], "big", signed=True)


def lock(cursor: t.Any, names: t.Iterable[str]) -> None:
    """Transaction-scoped advisory locks on ``names``, taken in one sorted order (so consumers cannot deadlock)."""
    keys = sorted({lock_key(name) for name in names})
    if keys:
        # A plain scan of unnest() returns the array in order, so the locks are taken in that order.
        cursor.execute("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%s::bigint[]) AS k", (keys,))
