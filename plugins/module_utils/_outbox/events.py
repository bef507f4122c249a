# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: outbox rows -> Event-Driven Ansible events (the ``ddi.kea_dns.kea_events`` source).

The source (``extensions/eda/plugins/event_source/kea_events.py``) is an asyncio loop around the blocking calls of
``Feed``: connect (LISTEN first, so that nothing committed afterwards is missed), then hand over one batch at a time.
``take`` claims the pending rows no source holds (``FOR UPDATE SKIP LOCKED``), skips the rows the appliers would
skip (``batch.check_rows``, marked ``skipped`` with the reason), leases the others to this source's database session
for ``ack_timeout`` seconds, commits, and returns ONE event for all of them: the changes coalesced per reservation,
with every row's id in ``outbox_ids``. The rows stay pending: the task that applies them (module ``dns_sync``, in
the playbook ``dns_event``) marks them done and NOTIFYs. Until then, or until the lease is over, this source hands
over nothing else, so a backlog goes out in few, large events while a lone change goes out at once. A lease is over
when its time is, or at once when the session that took it is gone (the source stopped, was killed, or lost its
connection): its rows are delivered again, to the next source that asks, in outbox order. Applying is state-based
and idempotent, so a second delivery is harmless: at least once, end to end.

Every event has the same keys (``EVENT_KEYS``); a key the reservation has no value for is None. The reservation's
values are those of the inventory (``_inventory.host_vars``): a BMC is described the same way everywhere.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon import config
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import fqdn, reverse_name
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, KeaDnsError, NotFoundError, did_you_mean
from ansible_collections.ddi.kea_dns.plugins.module_utils._inventory.hosts import host_vars
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.db import connect, db_settings, one_line
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.fields import IDENTIFIER_TYPE_NAMES, int_to_ipv4
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Reservation, ReservationKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.naming import HostnameParser
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import KEA_DB, KEA_SOURCE, NAMING, OUTBOX, VAULT, Option, options_from_env
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import batch
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import rows as outbox
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.kea import KeaSource
from ansible_collections.ddi.kea_dns.plugins.module_utils._vault import VaultClient, vault_settings

# The source's own options, and the daemon's options whose default differs here.
SOURCE_OPTIONS = (
    Option("ack_timeout", "float", 300.0, "seconds the rows of an event stay handed over without an acknowledgment"),
    # One event costs a playbook run (about 2 s), not a DNS round trip: larger batches than the daemon's.
    Option("batch_size", "int", 500, "outbox rows per event at most"),
)
# The source's arguments: the catalogue's options of the database, Vault and the outbox, and the daemon's zone and
# hostname filter (same types, defaults and environment variables), so that one set of settings serves both consumers.
OPTIONS = {option.name: option for option in (
    *KEA_DB, *VAULT, *OUTBOX, *NAMING, *(option for option in KEA_SOURCE if option.name == "hostname_filter"), config.BY_NAME["dns_zone"],
    *SOURCE_OPTIONS)}
ARGUMENTS = tuple(name for name, option in OPTIONS.items() if not option.env_only)
# Accepted as arguments too (a rulebook templates them from variables), never logged; the environment is better.
SECRET_ARGUMENTS = tuple(name for name, option in OPTIONS.items() if option.env_only)
# What describes one reservation, in the event and in its "old" part.
RESERVATION_KEYS = ("hostname", "ip", "mac", "identifier", "identifier_type", "subnet_id", "site", "cabinet", "rack_unit",
                    "bmc_type", "fqdn", "family", "ipv6_addresses")
CHANGE_KEYS = ("operation", *RESERVATION_KEYS, "old", "outbox_id", "changed_at")  # one change (of one outbox row)
EVENT_KEYS = (*CHANGE_KEYS, "changes", "outbox_ids")  # one event (of a batch of rows)


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
    for name, option in OPTIONS.items():
        if args.get(name) is not None:
            found[name] = config.coerce(option, args[name], "ddi.kea_dns.kea_events argument ")
        elif name in from_env:
            found[name] = config.coerce(option, from_env[name], "environment ")
        elif not option.env_only:
            found[name] = option.default_value
    config.check_outbox_options(found)
    if not found["hostname_filter"]:
        raise InvalidInputError("ddi.kea_dns.kea_events argument hostname_filter", found["hostname_filter"],
                                "needs at least one glob ('*' selects every hostname)")
    if found["ack_timeout"] < 5:
        raise InvalidInputError("ddi.kea_dns.kea_events argument ack_timeout", found["ack_timeout"],
                                "must be at least 5 seconds (the time a playbook needs to apply an event)")
    return found


def reservation(record: t.Mapping[str, t.Any]) -> Reservation:
    """An outbox row's old or new value (schema.py's ``_row_json``, or the DHCPv6 feed's with ``family`` 6) as a
    Reservation."""
    identifier_type = record.get("dhcp_identifier_type")
    if identifier_type not in IDENTIFIER_TYPE_NAMES:
        raise InvalidInputError("dhcp_identifier_type", identifier_type, "not an identifier type of Kea")
    try:
        identifier = bytes.fromhex(record.get("dhcp_identifier") or "")
    except (TypeError, ValueError):
        raise InvalidInputError("dhcp_identifier", record.get("dhcp_identifier"), "not hexadecimal") from None
    family = 6 if record.get("family") == 6 else 4
    column = f"dhcp{family}_subnet_id"
    subnet_id = record.get(column)
    if subnet_id is not None and (not isinstance(subnet_id, int) or isinstance(subnet_id, bool)):
        raise InvalidInputError(column, subnet_id, "not an integer")
    key = ReservationKey(subnet_id or 0, identifier_type, identifier, family=family)
    if family == 6:
        return Reservation(key, hostname=record.get("hostname") or None, ipv6_addresses=tuple(record.get("ipv6_addresses") or ()))
    return Reservation(key, ip=int_to_ipv4(record.get("ipv4_address")), hostname=record.get("hostname") or None)


def describe(record: t.Mapping[str, t.Any], parser: HostnameParser, zone: str | None) -> dict[str, t.Any]:
    """One reservation's part of an event: every key of RESERVATION_KEYS, None where there is no value."""
    found = reservation(record)
    variables = host_vars(found, parser.parse(found.hostname), zone)
    described = dict.fromkeys(RESERVATION_KEYS)
    described.update((key, value) for key, value in variables.items() if key in described)
    described.update(hostname=found.hostname, ip=found.ip, family=found.key.family, ipv6_addresses=list(found.ipv6_addresses))
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

    The reservation as it is now gets its A record, or for a DHCPv6 one (``family`` 6) its AAAA record of every
    address (and PTR with ``ptr``); the one it was before (an UPDATE's ``old``, a DELETE's reservation) loses the
    record of its old name and the PTRs of its old addresses, unless the new ones hold them anyway. A side without
    hostname or address has no record. With ``zone``, short
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
        records.append({"name": new[0], **_values(new), "state": "present", "ptr": bool(ptr), **common,
                        **({"zone": zone} if zone else {}), **({"ptr_zone": ptr_zone} if ptr and ptr_zone else {})})
    if old is not None and old != new:
        if new is None or old[:2] != new[:2]:
            records.append({"name": old[0], **_values(old), "state": "absent", **({"zone": zone} if zone else {})})
        for address in old[2]:
            if ptr and (new is None or address not in new[2]):
                records.append({"name": reverse_name(address), "type": "PTR", "value": old[0], "state": "absent",
                                **({"zone": ptr_zone} if ptr_zone else {})})
    return records


def _values(target: tuple[str, str, tuple[str, ...]]) -> dict[str, t.Any]:
    """An A record as before DHCPv6 (``value``), an AAAA record with all its addresses (``type``, ``values``)."""
    return {"value": target[2][0]} if target[1] == "A" else {"type": target[1], "values": list(target[2])}


def _target(side: t.Mapping[str, t.Any], zone: str | None, where: str) -> tuple[str, str, tuple[str, ...]] | None:
    """(absolute name, record type, addresses) of one side of an event, or None when it has no hostname or address."""
    rtype, addresses = ("AAAA", tuple(side.get("ipv6_addresses") or ())) if side.get("family") == 6 else ("A", (side.get("ip"),))
    if not side.get("hostname") or not all(addresses) or not addresses:
        return None
    if zone:
        name = fqdn(str(side["hostname"]), zone.lower().rstrip("."))
    elif side.get("fqdn"):
        name = str(side["fqdn"])
    else:
        raise InvalidInputError(f"{where}.fqdn", None, "the event has no fqdn: give the zone (or dns_zone to the source)")
    return name, rtype, tuple(str(address) for address in addresses)


def _reservation_key(row: outbox.OutboxRow) -> t.Any:
    """What identifies one reservation across its rows: Kea's host_id (kept by INSERT, UPDATE and DELETE)."""
    record = row.new if isinstance(row.new, dict) else row.old
    if isinstance(record, dict) and record.get("host_id") is not None:
        return row.family, record["host_id"]  # one hosts row may hold a reservation of each family
    return "row", row.id


def coalesce(items: t.Sequence[tuple[outbox.OutboxRow, dict[str, t.Any]]]) -> list[dict[str, t.Any]]:
    """The changes of one event: one per reservation, in the order the reservations first changed, each the net
    change from before the first row to after the last (INSERT then UPDATE: an INSERT of the last values; UPDATE
    then DELETE: a DELETE of the values before the batch; INSERT then DELETE: nothing), with its rows' ids."""
    merged: dict[t.Any, dict[str, t.Any] | None] = {}
    ids: dict[t.Any, list[int]] = {}
    for row, change in items:
        key = _reservation_key(row)
        ids.setdefault(key, []).append(row.id)
        if key not in merged:
            merged[key] = dict(change)
            continue
        first = merged[key]
        if first is None:  # inserted and deleted already; Kea gives a new host a new host_id, so nothing follows
            continue
        if change["operation"] == "DELETE":
            if first["operation"] == "INSERT":
                merged[key] = None
            else:
                before = first["old"] if first["operation"] == "UPDATE" else {k: first[k] for k in RESERVATION_KEYS}
                merged[key] = dict(change, **before, old=None)
        elif first["operation"] == "INSERT":
            merged[key] = dict(change, operation="INSERT", old=None)
        else:
            merged[key] = dict(change, operation="UPDATE", old=first["old"] if first["operation"] == "UPDATE" else None)
    changes = []
    for key, change in merged.items():
        if change is not None:
            change.update(outbox_id=ids[key][-1], outbox_ids=ids[key])
            changes.append(change)
    return changes


def batch_event(items: t.Sequence[tuple[outbox.OutboxRow, dict[str, t.Any]]]) -> dict[str, t.Any]:
    """The one event of a handed-over batch. With one reservation changed, its change's keys at the top (the event
    of a lone change is the same as ever); with more, operation BATCH and None for the reservation's keys. Always:
    ``changes`` (coalesced) and ``outbox_ids`` (every row, also of changes that cancel out), what dns_sync takes."""
    changes = coalesce(items)
    ids = [row.id for row, _change in items]
    if len(changes) == 1:
        top = {key: value for key, value in changes[0].items() if key != "outbox_ids"}
    else:
        top = {"operation": "BATCH", **dict.fromkeys(RESERVATION_KEYS), "old": None, "outbox_id": ids[-1],
               "changed_at": items[-1][1]["changed_at"]}
    return {**top, "outbox_id": ids[-1], "changes": changes, "outbox_ids": ids}


class Feed:
    """The blocking half of the source: one working connection that claims and leases rows, one that LISTENs (its
    session is the one the leases name)."""

    def __init__(self, settings: t.Mapping[str, t.Any]) -> None:
        self.options = dict(settings)
        self.parser = HostnameParser(self.options["naming_pattern"])
        self.zone = self.options["dns_zone"].lower().rstrip(".") if self.options["dns_zone"] else None
        self.source = KeaSource(zone=self.zone, hostname_filter=tuple(self.options["hostname_filter"]))
        self.schema = self.options["events_schema"]
        self.secrets: set[str] = {self.options[name] for name in SECRET_ARGUMENTS if self.options.get(name)}
        self.work: t.Any = None
        self.listen: t.Any = None
        self.tag = ""  # the LISTEN session's tag, which this source's leases carry
        self.skipped = 0  # rows skipped since the start

    def connect(self) -> None:
        vault = VaultClient(vault_settings(self.options)) if self.options["use_vault"] else None
        settings = dataclasses.replace(db_settings(self.options, on_secret=self.secrets.add, vault=vault),
                                       application_name="ddi.kea_dns.kea_events")
        self.listen = outbox.listen(settings, self.options["events_channel"])
        with self.listen.cursor() as cursor:
            self.tag = outbox.session_tag(cursor)
        self.work = connect(settings)
        with self.work.cursor() as cursor:
            found = outbox.exists(cursor, self.schema)
            leases = found and outbox.has_leases(cursor, self.schema)
        self.work.rollback()
        if not found:
            raise NotFoundError(f"{settings.where()} has no {self.schema}.outbox table; install it with the "
                                "ddi.kea_dns.kea_db_events role (or set events_schema)")
        if not leases:
            raise NotFoundError(f"the outbox {self.schema}.outbox on {settings.where()} is of an earlier release (no "
                                "delivered_until column); run the ddi.kea_dns.kea_db_events role again (pending rows are kept)")

    def take(self) -> tuple[dict[str, t.Any] | None, dict[int, str], bool]:
        """Hand over one batch: the event of up to batch_size rows (None when there is none), the rows skipped with
        their reason, and whether rows this source handed over earlier are still waiting for their acknowledgment
        (then nothing is taken). The rows' leases are committed before the event is returned."""
        with self.work.cursor() as cursor:
            if outbox.in_flight(cursor, self.schema, self.tag):
                self.work.rollback()
                return None, {}, True
            rows = outbox.deliverable(cursor, self.schema, self.options["batch_size"])
            if not rows:
                self.work.rollback()
                return None, {}, False
            skipped = batch.check_rows(rows, self.source)
            items = []
            for row in rows:
                if row.id not in skipped:
                    try:
                        items.append((row, event(row, self.parser, self.zone)))
                    except KeaDnsError as exc:
                        skipped[row.id] = str(exc)
            outbox.finish(cursor, self.schema, [], skipped)
            outbox.lease(cursor, self.schema, [row.id for row, _change in items], self.tag, self.options["ack_timeout"])
        self.work.commit()
        self.skipped += len(skipped)
        return (batch_event(items) if items else None), skipped, False

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
