# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the database objects of the real-time pipeline, in their own schema.

Kea's upgrades own Kea's tables, so nothing is added to them: one schema (default ``kea_dns``) holds the outbox
table and the trigger functions; three triggers on Kea's ``hosts`` table (INSERT, UPDATE of the DNS-relevant
columns, DELETE of a DHCPv4 reservation) call ``hosts_changed``.

DHCPv6 reservations span two tables, written in Kea's order (the ``hosts`` row first, its ``ipv6_reservations``
after it, a delete by cascade), so a row trigger cannot see a whole reservation. Instead BEFORE triggers on both
tables record, at the first touch of a host in a transaction, its DHCPv6 state before the transaction
(``v6_pending``); a deferred constraint trigger on that table runs at commit, once per host, and writes one outbox row
with the state before and after (none when they are equal): one row per DHCPv6 reservation and transaction, whatever
order its rows were written in. ``host(address::inet)`` reads Kea's VARCHAR (schema 13) and INET (18+) addresses.

Each function writes one outbox row per change (old and new values) and sends a NOTIFY on the channel (default
``kea_lease_events``, as the replaced daemon used) whose payload keeps that daemon's fields
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

VERSION = 4  # 2: delivered_until, delivered_to (acknowledged delivery of the EDA source); 3: DHCPv6 reservations;
# 4: dns_status (the DNS status of each reservation, status.py)
IDENTIFIER_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
TRIGGERS = ("kea_dns_hosts_insert", "kea_dns_hosts_update", "kea_dns_hosts_delete")
V6_TRIGGERS = ("kea_dns_hosts_v6_insert", "kea_dns_hosts_v6_update", "kea_dns_hosts_v6_delete", "kea_dns_ipv6_reservations",
               "kea_dns_v6_pending_flush")
ALL_TRIGGERS = TRIGGERS + V6_TRIGGERS
# The hosts columns whose change makes a DHCPv6 reservation change (its addresses are in ipv6_reservations).
V6_COLUMNS = "hostname, dhcp_identifier, dhcp_identifier_type, dhcp6_subnet_id"


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


def _v6_state(settings: EventsSettings, host_id: str) -> str:
    """The DHCPv6 reservation of host ``host_id`` as it is now (jsonb), or NULL when the host holds none."""
    addresses = settings.hosts_table.rsplit(".", 1)[0] + ".ipv6_reservations"
    return (f"(SELECT jsonb_build_object('family', 6, 'host_id', h.host_id, 'hostname', h.hostname, "
            f"'dhcp_identifier', encode(h.dhcp_identifier, 'hex'), 'dhcp_identifier_type', h.dhcp_identifier_type, "
            f"'dhcp6_subnet_id', h.dhcp6_subnet_id, 'ipv6_addresses', coalesce((SELECT jsonb_agg(a ORDER BY a) FROM "
            f"(SELECT host(r.address::inet) AS a FROM {addresses} r WHERE r.host_id = h.host_id AND r.type = 0) AS v), '[]'::jsonb)) "
            f"FROM {settings.hosts_table} h WHERE h.host_id = {host_id} AND h.dhcp6_subnet_id IS NOT NULL)")


def _pending_status(settings: EventsSettings, host_id: str, family: int) -> str:
    """plpgsql: the reservation is pending from this outbox row (``row_id``) on, until a consumer applied it."""
    return (f"INSERT INTO {settings.schema}.dns_status AS d (host_id, family, status, outbox_id) VALUES ({host_id}, {family}, 'pending', row_id) "
            "ON CONFLICT (host_id, family) DO UPDATE SET status = 'pending', reason = NULL, outbox_id = row_id, changed_at = now();")


def _drop_status(settings: EventsSettings, host_id: str, family: int) -> str:
    return f"DELETE FROM {settings.schema}.dns_status WHERE host_id = {host_id} AND family = {family};"


def v6_definition(settings: EventsSettings) -> list[str]:
    """The DHCPv6 change feed: the state of each host a transaction touches, before it, and at commit an outbox row."""
    s, hosts = settings.schema, settings.hosts_table
    addresses = hosts.rsplit(".", 1)[0] + ".ipv6_reservations"
    function = "LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$"
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in V6_COLUMNS.split(", "))
    return [
        f"""CREATE TABLE IF NOT EXISTS {s}.v6_pending (
            txid bigint NOT NULL, host_id integer NOT NULL, old_row jsonb, PRIMARY KEY (txid, host_id))""",
        f"""CREATE OR REPLACE FUNCTION {s}.v6_touched() RETURNS trigger {function}
            DECLARE
              ids integer[] := CASE TG_OP WHEN 'INSERT' THEN ARRAY[NEW.host_id] WHEN 'DELETE' THEN ARRAY[OLD.host_id]
                               ELSE ARRAY[OLD.host_id, NEW.host_id] END;
              id integer;
            BEGIN
              FOREACH id IN ARRAY ids LOOP
                INSERT INTO {s}.v6_pending (txid, host_id, old_row)
                  VALUES (txid_current(), id, CASE WHEN TG_TABLE_NAME = 'hosts' AND TG_OP = 'INSERT' THEN NULL ELSE {_v6_state(settings, 'id')} END)
                  ON CONFLICT DO NOTHING;
              END LOOP;
              RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
            END
            $fn$""",
        f"""CREATE OR REPLACE FUNCTION {s}.v6_flush() RETURNS trigger {function}
            DECLARE
              old_row jsonb;
              new_row jsonb;
              row_id bigint;
            BEGIN
              DELETE FROM {s}.v6_pending WHERE txid = NEW.txid AND host_id = NEW.host_id RETURNING v6_pending.old_row INTO old_row;
              new_row := {_v6_state(settings, 'NEW.host_id')};
              IF old_row IS DISTINCT FROM new_row THEN
                INSERT INTO {s}.outbox (operation, old_row, new_row)
                  VALUES (CASE WHEN old_row IS NULL THEN 'INSERT' WHEN new_row IS NULL THEN 'DELETE' ELSE 'UPDATE' END, old_row, new_row)
                  RETURNING id INTO row_id;
                PERFORM pg_notify('{settings.channel}', json_build_object(
                  'operation', CASE WHEN old_row IS NULL THEN 'INSERT' WHEN new_row IS NULL THEN 'DELETE' ELSE 'UPDATE' END,
                  'hostname', coalesce(new_row, old_row)->>'hostname', 'family', 6,
                  'dhcp_identifier', coalesce(new_row, old_row)->>'dhcp_identifier', 'outbox_id', row_id)::text);
                IF new_row IS NULL THEN
                  {_drop_status(settings, 'NEW.host_id', 6)}
                ELSE
                  {_pending_status(settings, 'NEW.host_id', 6)}
                END IF;
              END IF;
              RETURN NULL;
            END
            $fn$""",
        *(f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table in zip(V6_TRIGGERS, (hosts, hosts, hosts, addresses, f"{s}.v6_pending"), strict=True)),
        f"""CREATE TRIGGER {V6_TRIGGERS[0]} BEFORE INSERT ON {hosts} FOR EACH ROW WHEN (NEW.dhcp6_subnet_id IS NOT NULL)
            EXECUTE FUNCTION {s}.v6_touched()""",
        f"""CREATE TRIGGER {V6_TRIGGERS[1]} BEFORE UPDATE ON {hosts} FOR EACH ROW
            WHEN ((OLD.dhcp6_subnet_id IS NOT NULL OR NEW.dhcp6_subnet_id IS NOT NULL) AND ({changed})) EXECUTE FUNCTION {s}.v6_touched()""",
        f"""CREATE TRIGGER {V6_TRIGGERS[2]} BEFORE DELETE ON {hosts} FOR EACH ROW WHEN (OLD.dhcp6_subnet_id IS NOT NULL)
            EXECUTE FUNCTION {s}.v6_touched()""",
        f"CREATE TRIGGER {V6_TRIGGERS[3]} BEFORE INSERT OR UPDATE OR DELETE ON {addresses} FOR EACH ROW EXECUTE FUNCTION {s}.v6_touched()",
        f"""CREATE CONSTRAINT TRIGGER {V6_TRIGGERS[4]} AFTER INSERT ON {s}.v6_pending DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
            EXECUTE FUNCTION {s}.v6_flush()""",
        f"REVOKE ALL ON FUNCTION {s}.v6_touched() FROM PUBLIC",
        f"REVOKE ALL ON FUNCTION {s}.v6_flush() FROM PUBLIC",
    ]


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
        # The DNS status of each reservation (status.py): set pending here, in Kea's transaction; written by consumers.
        f"""CREATE TABLE IF NOT EXISTS {s}.dns_status (
            host_id integer NOT NULL,
            family smallint NOT NULL CHECK (family IN (4, 6)),
            status text NOT NULL CHECK (status IN ('pending', 'synced', 'failed', 'skipped', 'conflict')),
            reason text,
            outbox_id bigint,
            changed_at timestamptz NOT NULL DEFAULT now(),
            synced_at timestamptz,
            PRIMARY KEY (host_id, family))""",
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
              IF new_row->>'dhcp4_subnet_id' IS NOT NULL THEN
                {_pending_status(settings, 'NEW.host_id', 4)}
              ELSIF old_row IS NOT NULL THEN
                {_drop_status(settings, 'OLD.host_id', 4)}
              END IF;
              RETURN NULL;
            END
            $fn$""",
    ]
    for name in TRIGGERS:
        statements.append(f"DROP TRIGGER IF EXISTS {name} ON {settings.hosts_table}")
    statements += [
        f"""CREATE TRIGGER {TRIGGERS[0]} AFTER INSERT ON {settings.hosts_table} FOR EACH ROW WHEN (NEW.dhcp4_subnet_id IS NOT NULL)
            EXECUTE FUNCTION {s}.hosts_changed()""",
        f"""CREATE TRIGGER {TRIGGERS[1]} AFTER UPDATE ON {settings.hosts_table} FOR EACH ROW
            WHEN ((OLD.dhcp4_subnet_id IS NOT NULL OR NEW.dhcp4_subnet_id IS NOT NULL)
                  AND (OLD.hostname, OLD.ipv4_address, OLD.dhcp_identifier, OLD.dhcp_identifier_type, OLD.dhcp4_subnet_id)
                  IS DISTINCT FROM (NEW.hostname, NEW.ipv4_address, NEW.dhcp_identifier, NEW.dhcp_identifier_type, NEW.dhcp4_subnet_id))
            EXECUTE FUNCTION {s}.hosts_changed()""",
        f"""CREATE TRIGGER {TRIGGERS[2]} AFTER DELETE ON {settings.hosts_table} FOR EACH ROW WHEN (OLD.dhcp4_subnet_id IS NOT NULL)
            EXECUTE FUNCTION {s}.hosts_changed()""",
        f"REVOKE ALL ON FUNCTION {s}.hosts_changed() FROM PUBLIC",
    ]
    return statements + v6_definition(settings)


def grants(settings: EventsSettings) -> list[str]:
    """What the listener's login role may do: read hosts and their DHCPv6 addresses, work (read, update, purge) the
    outbox, write the reservations' DNS status."""
    role, s = settings.listener_role, settings.schema
    hosts_schema = settings.hosts_table.split(".")[0]
    return [
        f"GRANT USAGE ON SCHEMA {hosts_schema} TO {role}",
        f"GRANT SELECT ON {settings.hosts_table} TO {role}",
        f"GRANT SELECT ON {hosts_schema}.ipv6_reservations TO {role}",
        f"GRANT USAGE ON SCHEMA {s} TO {role}",
        f"GRANT SELECT, UPDATE, DELETE ON {s}.outbox TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {s}.dns_status TO {role}",
    ]


def fingerprint(settings: EventsSettings) -> str:
    text = "\n".join([f"v{VERSION}", *definition(settings), *(grants(settings) if settings.listener_role else [])])
    return "ddi.kea_dns events " + hashlib.sha256(text.encode()).hexdigest()[:16]


def state(cursor: t.Any, settings: EventsSettings) -> dict:
    """What is installed now: schema comment (fingerprint), triggers present, role present."""
    cursor.execute("SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s", (settings.schema,))
    row = cursor.fetchone()
    cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname = ANY(%s) AND tgrelid IN (%s::regclass, %s::regclass, to_regclass(%s))",
                   (list(ALL_TRIGGERS), settings.hosts_table, settings.hosts_table.rsplit(".", 1)[0] + ".ipv6_reservations",
                    settings.schema + ".v6_pending"))
    triggers = sorted(r[0] for r in cursor.fetchall())
    role = None
    if settings.listener_role:
        cursor.execute("SELECT rolname FROM pg_roles WHERE rolname = %s", (settings.listener_role,))
        role = cursor.fetchone() is not None
    return {"schema": row is not None, "fingerprint": row[0] if row else None, "triggers": triggers, "listener_role": role}


def install_plan(current: dict, settings: EventsSettings) -> list[str]:
    """The statements that bring ``current`` to the wanted state (empty when it is there)."""
    create_role = bool(settings.listener_role) and not current["listener_role"]
    redefine = current["fingerprint"] != fingerprint(settings) or current["triggers"] != sorted(ALL_TRIGGERS)
    statements: list[str] = [f"CREATE ROLE {settings.listener_role} LOGIN"] if create_role else []
    if redefine:
        statements += definition(settings)
    if settings.listener_role and (redefine or create_role):
        statements += grants(settings)
    if redefine:
        statements.append(f"COMMENT ON SCHEMA {settings.schema} IS '{fingerprint(settings)}'")
    return statements


def remove_plan(current: dict, settings: EventsSettings) -> list[str]:
    addresses = settings.hosts_table.rsplit(".", 1)[0] + ".ipv6_reservations"
    statements = [f"DROP TRIGGER IF EXISTS {name} ON {addresses if name == V6_TRIGGERS[3] else settings.hosts_table}"
                  for name in current["triggers"] if name != V6_TRIGGERS[4]]  # the pending table's goes with the schema
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
