# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: outbox rows -> Event-Driven Ansible events (the ``ddi.kea_dns.kea_events`` source).

The source (``extensions/eda/plugins/event_source/kea_events.py``) is an asyncio loop around the blocking calls of
``Feed``: connect (LISTEN first, so that nothing committed afterwards is missed), take a batch of pending outbox rows
(claimed ``FOR UPDATE SKIP LOCKED``), put their events on ansible-rulebook's queue, then mark the rows done in the
claiming transaction. A row is marked only after its event is on the queue; if the commit fails (the database went
away), the rows stay pending and are handed over again after the reconnect: at least once, in outbox order. A row
that cannot be an event is marked skipped with its reason and counted; the rows behind it go on.

Every event has the same keys (``EVENT_KEYS``); a key the reservation has no value for is None. The reservation's
values are those of the inventory (``_inventory.host_vars``): a BMC is described the same way everywhere.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._db import connect, one_line, psycopg2
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import fqdn, reverse_name
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, KeaDnsError, NotFoundError, TransportError, did_you_mean
from ansible_collections.ddi.kea_dns.plugins.module_utils._inventory import host_vars
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea import IDENTIFIER_TYPE_NAMES, Reservation, ReservationKey, int_to_ipv4
from ansible_collections.ddi.kea_dns.plugins.module_utils._naming import HostnameParser
from ansible_collections.ddi.kea_dns.plugins.module_utils._settings import db_settings, options_from_env, vault_settings
from ansible_collections.ddi.kea_dns.plugins.module_utils._sync import config, outbox
from ansible_collections.ddi.kea_dns.plugins.module_utils._vault import VaultClient

# The source's arguments: the listener daemon's options of the same name (same types, defaults and environment
# variables), so that one set of settings serves both consumers.
ARGUMENTS = (
    "db_host", "db_port", "db_name", "db_user", "db_sslmode", "db_sslrootcert", "db_connect_timeout", "db_vault_path",
    "use_vault", "vault_addr", "vault_auth_method", "vault_mount", "vault_approle_mount", "vault_namespace", "vault_ca_cert",
    "events_schema", "events_channel", "batch_size", "poll_interval", "retry_max_interval", "naming_pattern", "dns_zone",
)
# Accepted as arguments too (a rulebook templates them from variables), never logged; the environment is better.
SECRET_ARGUMENTS = ("db_password", "vault_token", "vault_role_id", "vault_secret_id")
# What describes one reservation, in the event and in its "old" part.
RESERVATION_KEYS = ("hostname", "ip", "mac", "identifier", "identifier_type", "subnet_id", "site", "cabinet", "rack_unit",
                    "bmc_type", "fqdn")
EVENT_KEYS = ("operation", *RESERVATION_KEYS, "old", "outbox_id", "changed_at")
# The database (or Vault) went away: reconnect. Anything else (bad arguments, credentials refused, no outbox) stops.
RETRIED_ERRORS = (psycopg2.Error, TransportError) if psycopg2 is not None else (TransportError,)


def failure(exc: BaseException, secrets: t.Iterable[str]) -> str:
    """One line about ``exc``, without any of ``secrets``."""
    text = str(exc) if isinstance(exc, KeaDnsError) else one_line(exc)  # type: ignore[arg-type]
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text


def options(args: t.Mapping[str, t.Any] | None, environ: t.Mapping[str, str] | None = None) -> dict[str, t.Any]:
    """The checked arguments: given, else from the environment (KEA_DB_HOST, ...), else the daemon's defaults."""
    args = dict(args or {})
    known = ARGUMENTS + SECRET_ARGUMENTS
    for name in sorted(args):
        if name not in known:
            raise InvalidInputError(f"ddi.kea_dns.kea_events argument {name}", "(not shown)",
                                    f"unknown argument{did_you_mean(name, known)}; the arguments are {', '.join(ARGUMENTS)}")
    from_env = options_from_env(environ)
    found: dict[str, t.Any] = {}
    for name in ARGUMENTS:
        option = config.BY_NAME[name]
        if args.get(name) is not None:
            found[name] = config.coerce(option, args[name], "ddi.kea_dns.kea_events argument ")
        elif name in from_env:
            found[name] = config.coerce(option, from_env[name], "environment ")
        else:
            found[name] = option.default
    for name in SECRET_ARGUMENTS:
        value = args.get(name) if args.get(name) is not None else from_env.get(name)
        if value is not None:
            found[name] = str(value)
    config.check_outbox_options(found)
    return found


def reservation(record: t.Mapping[str, t.Any]) -> Reservation:
    """An outbox row's old or new value (schema.py's ``_row_json``) as a Reservation."""
    identifier_type = record.get("dhcp_identifier_type")
    if identifier_type not in IDENTIFIER_TYPE_NAMES:
        raise InvalidInputError("dhcp_identifier_type", identifier_type, "not an identifier type of Kea")
    try:
        identifier = bytes.fromhex(record.get("dhcp_identifier") or "")
    except (TypeError, ValueError):
        raise InvalidInputError("dhcp_identifier", record.get("dhcp_identifier"), "not hexadecimal") from None
    subnet_id = record.get("dhcp4_subnet_id")
    if subnet_id is not None and (not isinstance(subnet_id, int) or isinstance(subnet_id, bool)):
        raise InvalidInputError("dhcp4_subnet_id", subnet_id, "not an integer")
    return Reservation(ReservationKey(subnet_id or 0, identifier_type, identifier),
                       ip=int_to_ipv4(record.get("ipv4_address")), hostname=record.get("hostname") or None)


def describe(record: t.Mapping[str, t.Any], parser: HostnameParser, zone: str | None) -> dict[str, t.Any]:
    """One reservation's part of an event: every key of RESERVATION_KEYS, None where there is no value."""
    found = reservation(record)
    variables = host_vars(found, parser.parse(found.hostname), zone)
    described = dict.fromkeys(RESERVATION_KEYS)
    described.update((key, value) for key, value in variables.items() if key in described)
    described.update(hostname=found.hostname, ip=found.ip)
    if not found.hostname:
        described["fqdn"] = None
    return described


def event(row: outbox.OutboxRow, parser: HostnameParser, zone: str | None) -> dict[str, t.Any]:
    """The event of one outbox row: the reservation as it is now (as it was, for a DELETE), its previous values
    under ``old`` for an UPDATE, the outbox id and the time the change was written."""
    latest = row.old if row.operation == "DELETE" else row.new
    changed_at = row.created_at.astimezone(datetime.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return {"operation": row.operation, **describe(latest, parser, zone),  # type: ignore[arg-type]
            "old": describe(row.old, parser, zone) if row.operation == "UPDATE" else None,  # type: ignore[arg-type]
            "outbox_id": row.id, "changed_at": changed_at}


def dns_records(event: t.Mapping[str, t.Any], zone: str | None = None, ptr: bool = False, ptr_zone: str | None = None,
                ttl: int | None = None) -> list[dict[str, t.Any]]:
    """The ``records`` of one ``ddi.kea_dns.dns_record`` task that make DNS follow one event, applied atomically.

    The reservation as it is now gets its A record (and PTR with ``ptr``); the one it was before (an UPDATE's
    ``old``, a DELETE's reservation) loses the A record of its old name and the PTR of its old address, unless the
    new ones hold them anyway. A side without hostname or IPv4 address has no record. With ``zone``, short
    hostnames are made absolute in it; without, the event's ``fqdn`` is used.
    """
    if not isinstance(event, t.Mapping) or event.get("operation") not in ("INSERT", "UPDATE", "DELETE"):
        raise InvalidInputError("event", event if not isinstance(event, t.Mapping) else event.get("operation"),
                                "expected an event of ddi.kea_dns.kea_events (operation INSERT, UPDATE or DELETE)")
    operation = event["operation"]
    new = None if operation == "DELETE" else _target(event, zone, "event")
    old = None
    if operation == "UPDATE":
        old = _target(event.get("old") or {}, zone, "event.old")
    elif operation == "DELETE":
        old = _target(event, zone, "event")
    common: dict[str, t.Any] = {} if ttl is None else {"ttl": int(ttl)}
    records: list[dict[str, t.Any]] = []
    if new is not None:
        records.append({"name": new[0], "value": new[1], "state": "present", "ptr": bool(ptr), **common,
                        **({"zone": zone} if zone else {}), **({"ptr_zone": ptr_zone} if ptr and ptr_zone else {})})
    if old is not None and old != new:
        if new is None or old[0] != new[0]:
            records.append({"name": old[0], "value": old[1], "state": "absent", **({"zone": zone} if zone else {})})
        if ptr and (new is None or old[1] != new[1]):
            records.append({"name": reverse_name(old[1]), "type": "PTR", "value": old[0], "state": "absent",
                            **({"zone": ptr_zone} if ptr_zone else {})})
    return records


def _target(side: t.Mapping[str, t.Any], zone: str | None, where: str) -> tuple[str, str] | None:
    """(absolute name, IPv4 address) of one side of an event, or None when it has no hostname or address."""
    if not side.get("hostname") or not side.get("ip"):
        return None
    if zone:
        name = fqdn(str(side["hostname"]), zone.lower().rstrip("."))
    elif side.get("fqdn"):
        name = str(side["fqdn"])
    else:
        raise InvalidInputError(f"{where}.fqdn", None, "the event has no fqdn: give the zone (or dns_zone to the source)")
    return name, str(side["ip"])


class Feed:
    """The blocking half of the source: one working connection that claims and marks rows, one that LISTENs."""

    def __init__(self, settings: t.Mapping[str, t.Any]) -> None:
        self.options = dict(settings)
        self.parser = HostnameParser(self.options["naming_pattern"])
        self.zone = self.options["dns_zone"].lower().rstrip(".") if self.options["dns_zone"] else None
        self.schema = self.options["events_schema"]
        self.secrets: set[str] = {self.options[name] for name in SECRET_ARGUMENTS if self.options.get(name)}
        self.work: t.Any = None
        self.listen: t.Any = None
        self.claimed: list[int] = []
        self.skipped = 0  # rows skipped since the start

    def connect(self) -> None:
        vault = VaultClient(vault_settings(self.options)) if self.options["use_vault"] else None
        settings = dataclasses.replace(db_settings(self.options, on_secret=self.secrets.add, vault=vault),
                                       application_name="ddi.kea_dns.kea_events")
        self.listen = outbox.listen(settings, self.options["events_channel"])
        self.work = connect(settings)
        with self.work.cursor() as cursor:
            found = outbox.exists(cursor, self.schema)
        self.work.rollback()
        if not found:
            raise NotFoundError(f"{settings.where()} has no {self.schema}.outbox table; install it with the "
                                "ddi.kea_dns.kea_db_events role (or set events_schema)")

    def take(self) -> tuple[list[dict[str, t.Any]], dict[int, str]]:
        """Claim up to batch_size pending rows (the transaction stays open until finish()): the events of the rows,
        oldest first, and the reasons of the rows that cannot be events."""
        with self.work.cursor() as cursor:
            rows = outbox.claim(cursor, self.schema, self.options["batch_size"])
        if not rows:
            self.work.rollback()
        events: list[dict[str, t.Any]] = []
        skipped: dict[int, str] = {}
        for row in rows:
            reason = row.malformed()
            if reason is None:
                try:
                    events.append(event(row, self.parser, self.zone))
                except KeaDnsError as exc:
                    reason = str(exc)
            if reason is not None:
                skipped[row.id] = reason
        self.claimed = [row.id for row in rows if row.id not in skipped]
        self.skipped += len(skipped)
        return events, skipped

    def finish(self, skipped: t.Mapping[int, str]) -> None:
        """Mark the claimed rows done (their events are on the queue) and the skipped ones skipped; commit."""
        with self.work.cursor() as cursor:
            outbox.finish(cursor, self.schema, self.claimed, skipped)
        self.work.commit()
        self.claimed = []

    def consume_notifications(self) -> int:
        """Read what the LISTEN connection received (raises when the connection is gone); returns how many."""
        self.listen.poll()
        count = len(self.listen.notifies)
        self.listen.notifies.clear()
        return count

    def close(self) -> None:
        for conn in (self.listen, self.work):
            if conn is not None and not conn.closed:
                with contextlib.suppress(Exception):  # closing a broken connection may fail; it is dropped either way
                    conn.close()
        self.listen = self.work = None
