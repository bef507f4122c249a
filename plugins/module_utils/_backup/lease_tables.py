# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: Kea's PostgreSQL lease tables backed up from one snapshot and restored in one transaction
(lease_backup).

``lease4`` and ``lease6`` (when present) and the statistics tables of Kea's triggers are copied with COPY in one
REPEATABLE READ, read-only transaction, so all come from one snapshot. A restore loads them with COPY in one
transaction, checks the row counts against the manifest before it commits, and rolls back on any error."""

from __future__ import annotations

import os
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import ConflictError, NotFoundError
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea import db

try:
    from psycopg2 import sql
except ImportError:  # pragma: no cover - reported by _kea/db.py require_psycopg2()
    sql = None

TABLES = ("lease4", "lease6")
PGSQL_DIR = "pgsql"


def _schema_version(cursor: t.Any) -> str:
    cursor.execute("SELECT to_regclass('schema_version') IS NOT NULL")
    if not cursor.fetchone()[0]:
        raise NotFoundError("the database holds no Kea schema (no table schema_version); initialise it with kea-admin db-init")
    cursor.execute("SELECT version, minor FROM schema_version ORDER BY version DESC, minor DESC LIMIT 1")
    major, minor = cursor.fetchone()
    return f"{major}.{minor}"


def _columns(cursor: t.Any, table: str) -> list[str]:
    cursor.execute("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped "
                   "ORDER BY attnum", (table,))
    return [row[0] for row in cursor.fetchall()]


def _statistics_tables(cursor: t.Any) -> list[str]:
    """The tables Kea's lease triggers keep counts in (lease4_stat, lease6_stat_by_client_class, lease4_pool_stat, ...)."""
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename ~ '^lease[46]_.*stat' ORDER BY 1")
    return [row[0] for row in cursor.fetchall()]


def dump_tables(settings: t.Any, dest: str) -> dict:
    """COPY lease4, lease6 (when present) and the statistics tables of Kea's triggers from one snapshot into
    ``dest/pgsql``; returns the manifest's part: {kea_schema_version, tables: {name: {columns, rows, file, statistics}}}."""
    conn = db.connect(settings)
    tables: dict[str, dict] = {}
    try:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with conn.cursor() as cursor:
            version = _schema_version(cursor)
            os.makedirs(os.path.join(dest, PGSQL_DIR))
            for table in [*TABLES, *_statistics_tables(cursor)]:
                columns = _columns(cursor, table)
                if not columns:
                    continue
                path = os.path.join(dest, PGSQL_DIR, f"{table}.copy")
                query = sql.SQL("COPY (SELECT {} FROM {} ORDER BY {}) TO STDOUT").format(
                    sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
                with open(path, "wb") as out:
                    cursor.copy_expert(query, out)
                tables[table] = {"columns": columns, "rows": cursor.rowcount, "file": f"{PGSQL_DIR}/{table}.copy", "statistics": table not in TABLES}
        conn.rollback()
    except db.psycopg2.Error as exc:
        raise db.translate(exc, settings) from None
    finally:
        conn.close()
    if "lease4" not in tables:
        raise NotFoundError(f"{settings.where()} has no table lease4; is it Kea's lease database?")
    return {"kea_schema_version": version, "tables": tables}


def load_tables(settings: t.Any, source: str, manifest: dict, force: bool, check_mode: bool) -> dict:
    """Load the archived lease tables in one transaction; returns {table: {rows, replaced}} and how the statistics
    were made. Refuses a target that holds leases unless ``force`` (then they are deleted in the same transaction), a
    target without the archived columns, and row counts that differ from the manifest. In check mode nothing is written.

    Kea's lease triggers update a statistics row for every lease (about 0.35 ms each, most of the time of a large
    restore). When the task's user owns the lease tables and the target has the archive's statistics tables, the
    triggers are disabled for the load and the statistics tables are loaded from the same snapshot instead; otherwise
    the triggers count every row.
    """
    leases = {table: item for table, item in manifest["tables"].items() if not item.get("statistics")}
    statistics = {table: item for table, item in manifest["tables"].items() if item.get("statistics")}
    report: dict[str, dict] = {}
    with db.transaction(settings) as cursor:
        version = _schema_version(cursor)
        for table, item in leases.items():
            columns = _columns(cursor, table)
            if not columns:
                raise NotFoundError(f"{settings.where()} has no table {table} (Kea schema {version}); nothing was changed")
            lacking = [c for c in item["columns"] if c not in columns]
            if lacking:
                raise ConflictError(f"table {table} of {settings.where()} (Kea schema {version}) lacks the columns {', '.join(lacking)} of the "
                                    f"archive (Kea schema {manifest['kea_schema_version']}); nothing was changed")
            cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            report[table] = {"rows": item["rows"], "replaced": cursor.fetchone()[0]}
        occupied = {table: r["replaced"] for table, r in report.items() if r["replaced"]}
        if occupied and not force:
            held = ", ".join(f"{table} holds {rows} rows" for table, rows in occupied.items())
            raise ConflictError(f"the target {settings.where()} is not empty ({held}); set force=true to replace its leases; nothing was changed")
        same_statistics = _statistics_tables(cursor) == sorted(statistics) and all(
            [c for c in item["columns"] if c not in _columns(cursor, table)] == [] for table, item in statistics.items())
        if check_mode:
            return {"tables": report, "statistics": "snapshot" if same_statistics else "triggers"}
        fast = same_statistics and _disable_triggers(cursor, list(leases))
        for table in leases:
            if report[table]["replaced"]:
                cursor.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
        if fast:
            for table in statistics:
                cursor.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
        for table, item in {**leases, **(statistics if fast else {})}.items():
            identifier = sql.Identifier(table)
            with open(os.path.join(source, item["file"]), "rb") as data:
                cursor.copy_expert(sql.SQL("COPY {} ({}) FROM STDIN").format(identifier, sql.SQL(", ").join(map(sql.Identifier, item["columns"]))), data)
            cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(identifier))
            loaded = cursor.fetchone()[0]
            if loaded != item["rows"]:
                raise ConflictError(f"table {table}: {loaded} rows after the load, the manifest says {item['rows']}; rolled back, nothing was changed")
        if fast:
            for table in leases:
                cursor.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(sql.Identifier(table)))
    return {"tables": report, "statistics": "snapshot" if fast else "triggers"}


def _disable_triggers(cursor: t.Any, tables: list[str]) -> bool:
    """Disable the user triggers of ``tables`` inside the transaction; False (and nothing changed) when not the owner."""
    cursor.execute("SAVEPOINT kea_dns_triggers")
    try:
        for table in tables:
            cursor.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(sql.Identifier(table)))
    except db.psycopg2.errors.InsufficientPrivilege:
        cursor.execute("ROLLBACK TO SAVEPOINT kea_dns_triggers")
        return False
    cursor.execute("RELEASE SAVEPOINT kea_dns_triggers")
    return True
