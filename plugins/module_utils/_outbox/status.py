# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the DNS status of each Kea reservation, in the ``dns_status`` table of our schema.

One row per reservation: Kea's ``host_id`` and the family (a ``hosts`` row may hold a DHCPv4 and a DHCPv6
reservation), its state (``_dns/status.py``), the reason of the last failure, when it last changed and when it was
last synced. The triggers (``schema.py``) set a changed reservation ``pending`` in Kea's own transaction, remember
the outbox row that says so, and delete the status of a reservation that is deleted. The consumers (the listener
daemon, the ``dns_sync`` module) write the state a batch or a reconcile found; a state is written only over a row
whose latest outbox row the consumer had seen (``outbox_id <= through``), so a change committed meanwhile stays
``pending`` until it is applied.
"""

from __future__ import annotations

import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox.rows import OutboxRow
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox.schema import IDENTIFIER_RE

if t.TYPE_CHECKING:  # the readers (kea_reservation_info, the inventory plugin) import no DNS code
    from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.status import Status

Key = tuple[int, int]  # (host_id, family)
REASON_LENGTH = 1000


def _table(schema: str) -> str:
    if not IDENTIFIER_RE.fullmatch(schema):
        raise ValueError(f"not an SQL identifier: {schema!r}")
    return f"{schema}.dns_status"


def available(cursor: t.Any, schema: str, privilege: str = "SELECT") -> bool:
    """Whether the status table exists (kea_db_events of this release or later) and this login has ``privilege`` on
    it (SELECT to read; INSERT to write, granted with UPDATE and DELETE)."""
    # In this order: to_regclass() itself fails for a schema the login may not use (Kea's own user, for one).
    cursor.execute("SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s) THEN false "
                   "WHEN NOT has_schema_privilege(%s, 'USAGE') THEN false WHEN to_regclass(%s) IS NULL THEN false "
                   "ELSE has_table_privilege(%s, %s) END", (schema, schema, _table(schema), _table(schema), privilege))
    return bool(cursor.fetchone()[0])


def through(cursor: t.Any, schema: str) -> int:
    """The newest outbox row id now: read before the reservations, it bounds what a reconcile may overwrite."""
    outbox = _table(schema).replace(".dns_status", ".outbox")
    cursor.execute(f"SELECT coalesce(max(id), 0) FROM {outbox}")  # noqa: S608 - checked identifier
    return int(cursor.fetchone()[0])


def row_keys(row: OutboxRow) -> set[Key]:
    """The reservations an outbox row is about."""
    return {(record["host_id"], row.family) for record in (row.old, row.new)
            if isinstance(record, dict) and isinstance(record.get("host_id"), int)}


def write(cursor: t.Any, schema: str, statuses: t.Mapping[Key, Status], upto: int) -> None:
    """Store ``statuses`` (of reservations that still exist) where they differ from the stored ones and no outbox row
    newer than ``upto`` set them pending."""
    if not statuses:
        return
    from psycopg2.extras import execute_values  # pylint: disable=import-outside-toplevel

    values = [(host_id, family, status.status, (status.reason or "")[:REASON_LENGTH] or None)
              for (host_id, family), status in sorted(statuses.items())]
    execute_values(
        cursor,
        f"INSERT INTO {_table(schema)} AS d (host_id, family, status, reason, synced_at) "  # noqa: S608 - checked identifier
        "SELECT v.host_id, v.family, v.status, v.reason, CASE WHEN v.status = 'synced' THEN now() END "
        "FROM (VALUES %s) AS v(host_id, family, status, reason) "
        "WHERE EXISTS (SELECT 1 FROM hosts h WHERE h.host_id = v.host_id) "
        "ON CONFLICT (host_id, family) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason, changed_at = now(), "
        "synced_at = CASE WHEN EXCLUDED.status = 'synced' THEN now() ELSE d.synced_at END "
        f"WHERE (d.outbox_id IS NULL OR d.outbox_id <= {int(upto)}) "
        "AND (d.status, d.reason) IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.reason)",
        values, template="(%s::integer, %s::smallint, %s::text, %s::text)", page_size=1000)


def stored(cursor: t.Any, schema: str, host_ids: t.Collection[int] | None = None) -> dict[Key, dict[str, t.Any]]:
    """The stored status of the reservations of ``host_ids`` (all when None): ``status``, ``reason``, ``changed_at``
    and ``synced_at`` (ISO 8601, UTC, or None)."""
    where, params = ("WHERE host_id = ANY(%s)", [list(host_ids)]) if host_ids is not None else ("", [])
    cursor.execute(f"SELECT host_id, family, status, reason, "  # noqa: S608 - checked identifier
                   "to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                   f"to_char(synced_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM {_table(schema)} {where}", params)
    return {(host_id, family): {"status": status, "reason": reason, "changed_at": changed, "synced_at": synced}
            for host_id, family, status, reason, changed, synced in cursor.fetchall()}


def fields(row: dict[str, t.Any] | None) -> dict[str, t.Any]:
    """A reservation's stored status as the fields of a module result (None each when it is not known)."""
    row = row or {}
    return {"dns_status": row.get("status"), "dns_status_reason": row.get("reason"), "dns_synced_at": row.get("synced_at")}


# The status row ``d`` is of a reservation that exists. A row can outlive its reservation for a moment: a consumer
# that wrote it while Kea's transaction deleting the host was not committed yet (the trigger's delete did not see the
# row, the consumer's check still saw the host). The next reconcile deletes it; until then nothing counts or shows it.
RESERVATION_EXISTS = ("EXISTS (SELECT 1 FROM hosts h WHERE h.host_id = d.host_id "
                      "AND CASE d.family WHEN 4 THEN h.dhcp4_subnet_id IS NOT NULL ELSE h.dhcp6_subnet_id IS NOT NULL END)")


def reconciled(cursor: t.Any, schema: str, statuses: t.Mapping[Key, Status], upto: int) -> None:
    """After a reconcile of every reservation: store what changed, and delete the status of reservations that are
    gone (the triggers delete them with the reservation; this catches those deleted before the triggers existed)."""
    current = {key: (row["status"], row["reason"]) for key, row in stored(cursor, schema).items()}
    write(cursor, schema, {key: status for key, status in statuses.items() if current.get(key) != (status.status, status.reason)}, upto)
    cursor.execute(f"DELETE FROM {_table(schema)} d WHERE NOT {RESERVATION_EXISTS}")  # noqa: S608 - checked identifier


def totals(cursor: t.Any, schema: str) -> tuple[dict[str, int], float]:
    """How many reservations are in each state, and how long (seconds) the oldest pending one has waited (0: none)."""
    cursor.execute(f"SELECT status, count(*), coalesce(extract(epoch FROM now() - min(changed_at)), 0) "  # noqa: S608
                   f"FROM {_table(schema)} d WHERE {RESERVATION_EXISTS} GROUP BY status")
    found, oldest = {}, 0.0
    for status, count, age in cursor.fetchall():
        found[status] = int(count)
        if status == "pending":
            oldest = max(0.0, float(age))
    return found, oldest
