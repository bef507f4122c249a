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
import typing as t
from dataclasses import dataclass

from ansible_collections.ddi.kea_dns.plugins.module_utils._db import DbSettings, connect
from ansible_collections.ddi.kea_dns.plugins.module_utils._sync.schema import IDENTIFIER_RE

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

    def hostnames(self) -> set[str]:
        return {r["hostname"].lower() for r in self._records() if isinstance(r.get("hostname"), str) and r["hostname"]}

    def addresses(self) -> set[int]:
        return {r["ipv4_address"] for r in self._records() if _is_ipv4_int(r.get("ipv4_address"))}

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
        return None


def _is_ipv4_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFFFFFFFF


class Backoff:
    """Waits between retries: 1 s, then doubled up to ``maximum``; reset after a success."""

    def __init__(self, maximum: float, first: float = 1.0) -> None:
        self.first, self.maximum, self.current = first, maximum, 0.0

    def next(self) -> float:
        self.current = self.first if not self.current else min(self.current * 2, self.maximum)
        return self.current

    def reset(self) -> None:
        self.current = 0.0


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
