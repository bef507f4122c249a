# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the database objects of the real-time pipeline, in their own schema.

Kea's upgrades own Kea's tables, so nothing is added to them: one schema (default ``kea_dns``) holds the outbox
table and the trigger function; three triggers on Kea's ``hosts`` table (INSERT, UPDATE of the DNS-relevant
columns, DELETE) call it. The function writes one outbox row per change (old and new values) and sends a NOTIFY on
the channel (default ``kea_lease_events``, as the replaced daemon used) whose payload keeps that daemon's fields
(``operation``, ``hostname``, ``ipv4_address``, ``dhcp_identifier``) plus ``outbox_id``; it is about 150 bytes,
far under PostgreSQL's 8000-byte limit. The function is ``SECURITY DEFINER`` with a fixed search_path, so Kea's
own user needs no right on the schema. The listener's login role may read ``hosts`` and work the outbox, nothing else.

The whole definition has a fingerprint, stored as the schema's comment: installing again with the same settings
changes nothing; other settings (or a missing trigger) re-create the function and triggers in one transaction.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import typing as t
from dataclasses import dataclass, field

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError

VERSION = 2  # 2: delivered_until, delivered_to (acknowledged delivery of the EDA source)
IDENTIFIER_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
TRIGGERS = ("kea_dns_hosts_insert", "kea_dns_hosts_update", "kea_dns_hosts_delete")


@dataclass(frozen=True)
class EventsSettings:
    schema: str = "kea_dns"
    channel: str = "kea_lease_events"
    listener_role: str | None = "kea_dns_listener"
    listener_password: str | None = field(default=None, repr=False)
    hosts_table: str = "public.hosts"

    def __post_init__(self) -> None:
        for name in ("schema", "channel", "listener_role"):
            value = getattr(self, name)
            if value is not None and not IDENTIFIER_RE.fullmatch(value):
                raise InvalidInputError(name, value, "expected a lower-case SQL identifier (letters, digits, underscores; 63 at most)")
        parts = self.hosts_table.split(".")
        if len(parts) != 2 or not all(IDENTIFIER_RE.fullmatch(p) for p in parts):
            raise InvalidInputError("hosts_table", self.hosts_table, "expected schema.table of lower-case SQL identifiers")


def _row_json(record: str) -> str:
    return (f"json_build_object('host_id', {record}.host_id, 'hostname', {record}.hostname, 'ipv4_address', {record}.ipv4_address, "
            f"'dhcp_identifier', encode({record}.dhcp_identifier, 'hex'), 'dhcp_identifier_type', {record}.dhcp_identifier_type, "
            f"'dhcp4_subnet_id', {record}.dhcp4_subnet_id)::jsonb")


def definition(settings: EventsSettings) -> list[str]:
    """The statements that create (or re-create) every object; identifiers were checked in EventsSettings."""
    s = settings.schema
    statements = [
        f"CREATE SCHEMA IF NOT EXISTS {s}",
        f"""CREATE TABLE IF NOT EXISTS {s}.outbox (
            id bigserial PRIMARY KEY,
            operation text NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE')),
            old_row jsonb,
            new_row jsonb,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'skipped')),
            attempts integer NOT NULL DEFAULT 0,
            last_error text,
            processed_at timestamptz)""",
        # Acknowledged delivery (the EDA source): a row handed over in an event stays pending, leased to the source's
        # session until delivered_until, and is finished only by the task that applied it (module dns_sync).
        # Added by ALTER so that an outbox of an earlier release keeps its pending rows.
        f"ALTER TABLE {s}.outbox ADD COLUMN IF NOT EXISTS delivered_until timestamptz",
        f"ALTER TABLE {s}.outbox ADD COLUMN IF NOT EXISTS delivered_to text",
        f"CREATE INDEX IF NOT EXISTS outbox_pending ON {s}.outbox (id) WHERE status = 'pending'",
        f"""CREATE OR REPLACE FUNCTION {s}.hosts_changed() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
            DECLARE
              old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE {_row_json('OLD')} END;
              new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE {_row_json('NEW')} END;
              row_id bigint;
              latest jsonb := coalesce(new_row, old_row);
            BEGIN
              INSERT INTO {s}.outbox (operation, old_row, new_row) VALUES (TG_OP, old_row, new_row) RETURNING id INTO row_id;
              PERFORM pg_notify('{settings.channel}', json_build_object(
                'operation', TG_OP, 'hostname', latest->>'hostname', 'ipv4_address', (latest->>'ipv4_address')::bigint,
                'dhcp_identifier', latest->>'dhcp_identifier', 'outbox_id', row_id)::text);
              RETURN NULL;
            END
            $fn$""",
    ]
    for name in TRIGGERS:
        statements.append(f"DROP TRIGGER IF EXISTS {name} ON {settings.hosts_table}")
    statements += [
        f"CREATE TRIGGER {TRIGGERS[0]} AFTER INSERT ON {settings.hosts_table} FOR EACH ROW EXECUTE FUNCTION {s}.hosts_changed()",
        f"""CREATE TRIGGER {TRIGGERS[1]} AFTER UPDATE ON {settings.hosts_table} FOR EACH ROW
            WHEN ((OLD.hostname, OLD.ipv4_address, OLD.dhcp_identifier, OLD.dhcp_identifier_type, OLD.dhcp4_subnet_id)
                  IS DISTINCT FROM (NEW.hostname, NEW.ipv4_address, NEW.dhcp_identifier, NEW.dhcp_identifier_type, NEW.dhcp4_subnet_id))
            EXECUTE FUNCTION {s}.hosts_changed()""",
        f"CREATE TRIGGER {TRIGGERS[2]} AFTER DELETE ON {settings.hosts_table} FOR EACH ROW EXECUTE FUNCTION {s}.hosts_changed()",
        f"REVOKE ALL ON FUNCTION {s}.hosts_changed() FROM PUBLIC",
    ]
    return statements


def grants(settings: EventsSettings) -> list[str]:
    """What the listener's login role may do: read hosts, work (read, update, purge) the outbox."""
    role, s = settings.listener_role, settings.schema
    hosts_schema = settings.hosts_table.split(".")[0]
    return [
        f"GRANT USAGE ON SCHEMA {hosts_schema} TO {role}",
        f"GRANT SELECT ON {settings.hosts_table} TO {role}",
        f"GRANT USAGE ON SCHEMA {s} TO {role}",
        f"GRANT SELECT, UPDATE, DELETE ON {s}.outbox TO {role}",
    ]


def fingerprint(settings: EventsSettings) -> str:
    text = "\n".join([f"v{VERSION}", *definition(settings), *(grants(settings) if settings.listener_role else [])])
    return "ddi.kea_dns events " + hashlib.sha256(text.encode()).hexdigest()[:16]


def state(cursor: t.Any, settings: EventsSettings) -> dict:
    """What is installed now: schema comment (fingerprint), triggers present, role present."""
    cursor.execute("SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s", (settings.schema,))
    row = cursor.fetchone()
    cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = ANY(%s)", (settings.hosts_table, list(TRIGGERS)))
    triggers = sorted(r[0] for r in cursor.fetchall())
    role = None
    if settings.listener_role:
        cursor.execute("SELECT rolname FROM pg_roles WHERE rolname = %s", (settings.listener_role,))
        role = cursor.fetchone() is not None
    return {"schema": row is not None, "fingerprint": row[0] if row else None, "triggers": triggers, "listener_role": role}


def install_plan(current: dict, settings: EventsSettings) -> list[str]:
    """The statements that bring ``current`` to the wanted state (empty when it is there)."""
    create_role = bool(settings.listener_role) and not current["listener_role"]
    redefine = current["fingerprint"] != fingerprint(settings) or current["triggers"] != sorted(TRIGGERS)
    statements: list[str] = [f"CREATE ROLE {settings.listener_role} LOGIN"] if create_role else []
    if redefine:
        statements += definition(settings)
    if settings.listener_role and (redefine or create_role):
        statements += grants(settings)
    if redefine:
        statements.append(f"COMMENT ON SCHEMA {settings.schema} IS '{fingerprint(settings)}'")
    return statements


def remove_plan(current: dict, settings: EventsSettings) -> list[str]:
    statements = [f"DROP TRIGGER IF EXISTS {name} ON {settings.hosts_table}" for name in current["triggers"]]
    if current["schema"]:
        statements.append(f"DROP SCHEMA {settings.schema} CASCADE")
    if settings.listener_role and current["listener_role"]:
        statements += [f"DROP OWNED BY {settings.listener_role}", f"DROP ROLE {settings.listener_role}"]  # its grants, then it
    return statements


def password_matches(stored: str | None, password: str) -> bool:
    """Whether a SCRAM-SHA-256 verifier from pg_authid is the one of ``password`` (so setting it again is no change)."""
    match = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)", stored or "")
    if not match:
        return False
    iterations, salt, stored_key, server_key = int(match.group(1)), *(base64.b64decode(g) for g in match.groups()[1:])
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    return (hmac.compare_digest(hashlib.sha256(client_key).digest(), stored_key)
            and hmac.compare_digest(hmac.new(salted, b"Server Key", "sha256").digest(), server_key))


def stored_password(cursor: t.Any, role: str) -> str | None:
    """The role's stored verifier, or None when this connection may not read pg_authid (not a superuser)."""
    cursor.execute("SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT')")
    if not cursor.fetchone()[0]:
        return None
    cursor.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,))
    row = cursor.fetchone()
    return row[0] if row else None


def set_password(cursor: t.Any, role: str, password: str) -> None:
    """Set the role's password as a SCRAM verifier made on the client: the clear password is never sent in a
    statement, so it cannot reach the server's statement log."""
    import psycopg2.extensions  # pylint: disable=import-outside-toplevel
    import psycopg2.sql  # pylint: disable=import-outside-toplevel

    verifier = psycopg2.extensions.encrypt_password(password, role, cursor.connection, "scram-sha-256")
    cursor.execute(psycopg2.sql.SQL("ALTER ROLE {} PASSWORD %s").format(psycopg2.sql.Identifier(role)), (verifier,))
