# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: reservations -> the DNS records they imply -> changes, for owned records only.

Shared by the listener daemon (start-up reconcile and outbox batches) and the dns_sync module (the rows the EDA
source handed over). State-based: the caller passes the current reservations of the names it cares about (never an
event's own values), so applying the same state twice changes nothing and the newest state always wins.

What the sync manages (its *scope*): the A record of every selected hostname and, with ``ptr``, the PTR record of
every address of a selected reservation. A hostname is selected when its first label matches one of the
``hostname_filter`` globs (default: the BMC names ``*-ilo``, ``*-idrac``, ``*-bmc``). Within the scope:

- a record the reservations imply and DNS lacks is created, marked with the sync's ``owner_id`` and a reference to
  its reservation (``_dns/ownership.py``);
- a record of this owner id whose values or TTL differ is replaced; one no reservation implies is deleted;
- a record of another owner id (a second Kea site, a Kubernetes cluster), or with no mark, is never changed or
  deleted; when it disagrees with the reservations it is reported as a conflict naming its owner (``take_over``
  replaces a record with no mark, and marks it as this owner's from then on; never one of another owner).
"""

from __future__ import annotations

import fnmatch
import functools
import operator
import re
import typing as t
from dataclasses import dataclass, field

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import DEFAULT_TTL, Change, DnsBackend, RRset, RRsetKey, fqdn, reverse_name, run_batch
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.ownership import DEFAULT_OWNER
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.plan import by_zone
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, NotFoundError
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Reservation

DEFAULT_HOSTNAME_FILTER = ("*-ilo", "*-idrac", "*-bmc")
# What makes a name have no record: not a valid DNS name, or no zone of the backend holds it. Anything else (the
# backend unreachable, credentials refused) fails the whole plan: read as "no record", it would delete owned ones.
NO_RECORD = (InvalidInputError, NotFoundError)
# Sorting RRsetKeys by their generated __lt__ cost 0.4 s per 100,000 keys; by a tuple of their fields, a tenth of it.
KEY_ORDER = operator.attrgetter("name", "type")


@functools.lru_cache(maxsize=32)
def _selector(patterns: tuple[str, ...]) -> re.Pattern:
    """The ``hostname_filter`` globs as one compiled expression, as ``fnmatch.fnmatchcase`` of the lower-cased label
    against each lower-cased glob would match (a reconcile asks it twice per reservation)."""
    if not patterns:
        return re.compile(r"(?!)")  # no glob selects nothing
    return re.compile("|".join(fnmatch.translate(pattern.lower()) for pattern in patterns))


@dataclass(frozen=True)
class SyncSettings:
    zone: str | None = None  # short hostnames are made absolute in this zone; None: hostnames must be absolute
    ttl: int = DEFAULT_TTL
    ptr: bool = False
    ptr_zone: str | None = None  # None: the backend's longest matching reverse zone
    hostname_filter: tuple[str, ...] = DEFAULT_HOSTNAME_FILTER
    chunk_size: int | None = None  # changes per backend call; None: the backend's Traits.reconcile_chunk
    take_over: bool = False  # replace (and mark as this owner's) a record in scope that disagrees and has no mark
    owner_id: str = DEFAULT_OWNER  # the owner id of the records this sync writes, changes and deletes

    def selects(self, hostname: str | None) -> bool:
        if not hostname:
            return False
        label = hostname.lower().rstrip(".").split(".", 1)[0]
        return _selector(tuple(self.hostname_filter)).match(label) is not None

    def fqdn(self, hostname: str) -> str:
        """The absolute DNS name of a reservation's hostname; InvalidInputError when it is no valid DNS name."""
        return fqdn(hostname, self.zone)


@dataclass
class Desired:
    """The records some reservations imply, and what could not be turned into records (with the reason)."""

    records: dict[RRsetKey, RRset] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)  # reservation label -> reason


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # records left alone because the collection does not own them
    unchanged: int = 0

    def add(self, other: Plan) -> None:
        self.changes.extend(other.changes)
        self.conflicts.extend(other.conflicts)
        self.unchanged += other.unchanged

    def counts(self) -> dict[str, int]:
        actions = [c.action for c in self.changes]
        return {"created": actions.count("create"), "updated": actions.count("update"), "deleted": actions.count("delete"),
                "conflicts": len(self.conflicts), "unchanged": self.unchanged}


def reservation_label(reservation: Reservation) -> str:
    return f"host {reservation.hostname!r} ({reservation.key.label()})"


class DnsSync:
    """Plans and applies the records of reservations on one backend."""

    def __init__(self, backend: DnsBackend, settings: SyncSettings) -> None:
        self.backend = backend
        self.settings = settings
        self.zones_seen: set[str] = set()  # zones the records were planned in (what probe() reads)

    # -- what the reservations imply -------------------------------------------------------------------------------
    def _zone_of(self, name: str) -> str:
        zone = self.settings.zone
        if zone and (name == zone or name.endswith("." + zone)):
            return zone
        return self.backend.find_zone(name)

    def desired(self, reservations: t.Iterable[Reservation], hostnames: t.Collection[str] | None = None,
                addresses: t.Collection[str] | None = None) -> Desired:
        """The records implied by ``reservations``: A records of ``hostnames`` (lower-case, as stored) and PTR
        records of ``addresses``; None means every one the reservations name (a full reconcile)."""
        result = Desired()
        a_values: dict[str, set[str]] = {}
        ptr_values: dict[str, set[str]] = {}
        origins: dict[tuple[str, str], t.Any] = {}  # (type, subject) -> the key of the first reservation that implies it
        for reservation in reservations:
            if not self.settings.selects(reservation.hostname) or not reservation.ip:
                continue
            hostname = reservation.hostname.lower()  # type: ignore[union-attr]
            wants_a = hostnames is None or hostname in hostnames
            wants_ptr = self.settings.ptr and (addresses is None or reservation.ip in addresses)
            if not wants_a and not wants_ptr:
                continue
            try:
                name = self.settings.fqdn(hostname)
            except InvalidInputError as exc:
                result.invalid[reservation_label(reservation)] = str(exc)
                continue
            if wants_a:
                a_values.setdefault(name, set()).add(reservation.ip)
                origins.setdefault(("A", name), reservation.key)
            if wants_ptr:
                ptr_values.setdefault(reservation.ip, set()).add(name)
                origins.setdefault(("PTR", reservation.ip), reservation.key)
        self._add(result, a_values, "A", lambda name: name, origins)
        self._add(result, ptr_values, "PTR", reverse_name, origins)
        return result

    def _add(self, result: Desired, values: dict[str, set[str]], rtype: str, name_of: t.Callable[[str], str],
             origins: t.Mapping[tuple[str, str], t.Any]) -> None:
        for subject, found in values.items():
            name = name_of(subject)
            try:
                zone = self.settings.ptr_zone if rtype == "PTR" and self.settings.ptr_zone else self._zone_of(name)
            except NO_RECORD as exc:  # a transport failure is raised: it says nothing about the record
                result.invalid[f"{rtype} record {name}"] = str(exc)
                continue
            key = RRsetKey(name, rtype)
            result.records[key] = RRset(zone, key, tuple(sorted(found)), self.settings.ttl, owner=self.settings.owner_id,
                                        origin=origins.get((rtype, subject)))

    def scope_keys(self, hostnames: t.Iterable[str], addresses: t.Iterable[str]) -> dict[RRsetKey, str]:
        """The record keys (with their zone) an event on these hostnames and addresses can touch."""
        keys: dict[RRsetKey, str] = {}
        for hostname in hostnames:
            if not self.settings.selects(hostname):
                continue
            try:
                name = self.settings.fqdn(hostname)
                keys[RRsetKey(name, "A")] = self._zone_of(name)
            except NO_RECORD:
                continue  # an invalid or zone-less name has no record to remove; the row reports it
        if self.settings.ptr:
            for address in addresses:
                name = reverse_name(address)
                try:
                    keys[RRsetKey(name, "PTR")] = self.settings.ptr_zone or self._zone_of(name)
                except NO_RECORD:
                    continue
        return keys

    # -- desired vs actual ---------------------------------------------------------------------------------------
    def plan(self, desired: t.Mapping[RRsetKey, RRset], current: t.Mapping[RRsetKey, RRset],
             scope: t.Iterable[RRsetKey]) -> Plan:
        plan = Plan()
        for key in sorted(set(scope) | set(desired), key=KEY_ORDER):
            want, have = desired.get(key), current.get(key)
            ours = have is not None and have.owner == self.settings.owner_id and self._in_scope(have)
            if want is None:
                if ours:
                    plan.changes.append(Change(have, None))
                continue
            if have is None:
                plan.changes.append(Change(None, want))
            elif have.values == want.values and (have.ttl == want.ttl or not ours):
                plan.unchanged += 1
            elif ours or (self.settings.take_over and have.owner is None):
                plan.changes.append(Change(have, want))
            elif have.owner is not None:
                plan.conflicts.append(f"{key.label()} holds {', '.join(have.values)}, not {', '.join(want.values)}, "
                                      f"and belongs to owner {have.owner} (this sync is {self.settings.owner_id}): left alone")
            else:
                plan.conflicts.append(f"{key.label()} holds {', '.join(have.values)}, not {', '.join(want.values)}, "
                                      "and ddi.kea_dns does not manage it: left alone")
        return plan

    def reconcile_zones(self, desired: Desired) -> dict[str, dict[RRsetKey, RRset]]:
        """The zones a reconcile reads, each with the desired records it holds."""
        zones: dict[str, dict[RRsetKey, RRset]] = {}
        for key, rrset in desired.records.items():
            zones.setdefault(rrset.zone, {})[key] = rrset
        for zone in (self.settings.zone, self.settings.ptr_zone if self.settings.ptr else None):
            if zone:
                zones.setdefault(zone, {})
        return dict(sorted(zones.items()))

    def plan_zone(self, zone: str, desired: t.Mapping[RRsetKey, RRset]) -> Plan:
        """The desired records of one zone against every owned record of the scope in it."""
        current = {rrset.key: rrset for rrset in self.backend.list_zone(zone) if self._in_scope(rrset)}
        self.zones_seen.add(zone)
        return self.plan(desired, current, [key for key, rrset in current.items() if rrset.owner == self.settings.owner_id])

    def plan_reconcile(self, reservations: t.Iterable[Reservation]) -> tuple[Plan, Desired]:
        """Every reservation against every owned record of the scope in the zones concerned."""
        desired = self.desired(reservations)
        plan = Plan()
        for zone, records in self.reconcile_zones(desired).items():
            plan.add(self.plan_zone(zone, records))
        return plan, desired

    def plan_touching(self, reservations: t.Iterable[Reservation], hostnames: t.Collection[str],
                      addresses: t.Collection[str]) -> tuple[Plan, Desired]:
        """The records of ``hostnames`` and ``addresses`` only (an outbox batch), read with one call per zone."""
        desired = self.desired(reservations, hostnames, addresses)
        keys = self.scope_keys(hostnames, addresses)
        keys.update({key: rrset.zone for key, rrset in desired.records.items()})
        current: dict[RRsetKey, RRset] = {}
        zones: dict[str, list[RRsetKey]] = {}
        for key, zone in keys.items():
            zones.setdefault(zone, []).append(key)
        for zone, zone_keys in sorted(zones.items()):
            current.update(self.backend.get(zone, zone_keys))
        self.zones_seen.update(zones)
        return self.plan(desired.records, current, keys), desired

    def _in_scope(self, rrset: RRset) -> bool:
        """A records of selected names; with ``ptr``, PTR records pointing at selected names (so records that
        dns_record tasks own, with other names, are never reconciled away)."""
        if rrset.key.type == "A":
            return self.settings.selects(rrset.key.name)
        if rrset.key.type == "PTR" and self.settings.ptr:
            return any(self.settings.selects(value) for value in rrset.values)
        return False

    def apply(self, changes: t.Sequence[Change]) -> None:
        """Each zone's changes with the backend's batch primitive, ``chunk_size`` changes per call."""
        size = max(1, self.settings.chunk_size or self.backend.traits.reconcile_chunk)
        for zone, zone_changes in sorted(by_zone(changes).items()):
            for start in range(0, len(zone_changes), size):
                self.backend.apply(zone, zone_changes[start:start + size])

    # -- one batch each: read, plan, apply on one connection, run again once on a new one if it died ------------------
    def reconcile(self, reservations: t.Sequence[Reservation], dry_run: bool = False) -> tuple[Plan, Desired]:
        """Every reservation against DNS, the changes applied unless ``dry_run``: one zone after the other, each its
        own batch (read, plan, apply), so that only one zone's records are held at once (at 100,000 reservations the
        two zones' records, markers included, are about 400,000 RRsets)."""
        desired = run_batch(self.backend, self.desired, reservations)
        plan = Plan()
        for zone, records in self.reconcile_zones(desired).items():
            plan.add(run_batch(self.backend, self._zone_planned_and_applied, zone, records, dry_run))
        return plan, desired

    def _zone_planned_and_applied(self, zone: str, records: t.Mapping[RRsetKey, RRset], dry_run: bool) -> Plan:
        plan = self.plan_zone(zone, records)
        if plan.changes and not dry_run:
            self.apply(plan.changes)
        return plan

    def touching(self, reservations: t.Sequence[Reservation], hostnames: t.Collection[str], addresses: t.Collection[str],
                 dry_run: bool = False) -> tuple[Plan, Desired]:
        """The records of some names only (``plan_touching``, an outbox batch), the changes applied unless ``dry_run``."""
        return run_batch(self.backend, self._planned_and_applied, self.plan_touching, (reservations, hostnames, addresses), dry_run)

    def _planned_and_applied(self, planner: t.Callable[..., tuple[Plan, Desired]], args: tuple, dry_run: bool) -> tuple[Plan, Desired]:
        plan, desired = planner(*args)
        if plan.changes and not dry_run:
            self.apply(plan.changes)
        return plan, desired

    def probe(self) -> bool:
        """A cheap read from the backend (health after a failure, when no batch has come to show it works again);
        False when no zone is known yet to read from."""
        zone = self.settings.zone or self.settings.ptr_zone or min(self.zones_seen, default=None)
        if zone is None:
            return False
        run_batch(self.backend, self.backend.probe, zone)
        return True
