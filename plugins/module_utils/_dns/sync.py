# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the one desired-state planner and apply path of every source and every door.

desired records from a source (``_sources/``) -> a plan against the records of the source's owner id -> each zone's
changes through the backend's batch primitive -> one summary. The listener daemon, the ``dns_sync`` module (the EDA
rulebook's task) and ``dns_record`` with ``owner_id`` all run it. State-based: a source describes what it wants from
the current state of its items (never from an event's own values), so the same state applied twice changes nothing.

Within the source's scope (``Source.in_scope``):

- a record the source wants and DNS lacks is created, marked with the source's owner id and a reference to the item
  it comes from (``ownership.py``);
- a record of this owner id whose values or TTL differ is replaced; one the source no longer wants is deleted;
- a record of another owner id, or with no mark, is never changed or deleted; when it disagrees with what the source
  wants it is reported as a conflict naming its owner (``take_over`` replaces a record with no mark, and marks it as
  this owner's from then on; never one of another owner).

A reconcile applies each zone's changes in the backend's batches; when the backend refuses a batch (a record it will
not take, such as an A record next to a CNAME), the changes it refused are found by halving and left out with the
backend's answer (``Plan.refused``), and the others are applied.
"""

from __future__ import annotations

import operator
import typing as t
from dataclasses import dataclass, field

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import Change, DnsBackend, RRset, RRsetKey, run_batch
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import KeaDnsError, PartiallyAppliedError, backend_state, partial_failure

# Sorting RRsetKeys by their generated __lt__ cost 0.4 s per 100,000 keys; by a tuple of their fields, a tenth of it.
KEY_ORDER = operator.attrgetter("name", "type")
FindZone = t.Callable[[str], str]


@dataclass
class Desired:
    """The records a source wants, and what could not be turned into records (item label -> reason)."""

    records: dict[RRsetKey, RRset] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)


class Source(t.Protocol):
    """What the planner needs from a source of records (``_sources/kea.py``, ``_sources/records.py``)."""

    owner_id: str

    def desired(self, items: t.Any, find_zone: FindZone, touched: t.Any = None) -> Desired:
        """The records ``items`` imply: all of them (``touched`` None, a reconcile) or those ``touched`` names."""

    def scope_keys(self, touched: t.Any, find_zone: FindZone) -> dict[RRsetKey, str]:
        """The record keys (with their zone) a change of ``touched`` can create, change or delete."""

    def in_scope(self, rrset: RRset) -> bool:
        """Whether a record is of the kind this source manages (the others are never reconciled away)."""

    def home_zones(self, listed: t.Sequence[str] | None) -> t.Iterable[str]:
        """The zones a reconcile reads even when nothing is wanted there (where deletes may be due); ``listed``:
        the backend's zones, None when it cannot list them."""


def unplaced_label(key: RRsetKey) -> str:
    """How ``Desired.invalid`` names a record no zone of the backend holds."""
    return f"{key.type} record {key.name}"


def summary(changes: t.Sequence[Change], unchanged: int) -> dict[str, int]:
    """The created / updated / deleted / unchanged counts every door reports."""
    actions = [change.action for change in changes]
    return {"created": actions.count("create"), "updated": actions.count("update"), "deleted": actions.count("delete"),
            "unchanged": unchanged}


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # records left alone because another owner (or nobody) has them
    unchanged: int = 0
    conflict_keys: list[RRsetKey] = field(default_factory=list)  # the key of each conflict, in the same order
    refused: dict[RRsetKey, str] = field(default_factory=dict)  # changes of a reconcile the backend refused: their answer
    owners: set[str] = field(default_factory=set)  # the owner ids of the records a reconcile read (its drift report)

    def add(self, other: Plan) -> None:
        self.changes.extend(other.changes)
        self.conflicts.extend(other.conflicts)
        self.unchanged += other.unchanged
        self.conflict_keys.extend(other.conflict_keys)
        self.refused.update(other.refused)
        self.owners.update(other.owners)

    def conflict(self, key: RRsetKey, message: str) -> None:
        self.conflicts.append(message)
        self.conflict_keys.append(key)

    def counts(self) -> dict[str, int]:
        return dict(summary(self.changes, self.unchanged), conflicts=len(self.conflicts))


def apply_changes(backend: DnsBackend, changes: t.Sequence[Change], chunk_size: int | None = None) -> None:
    """Each zone's changes through the backend's batch primitive, ``chunk_size`` changes per call (default: the
    backend's ``Traits.reconcile_chunk``). A failure lists every change applied before it (PartiallyAppliedError)."""
    size = max(1, chunk_size or backend.traits.reconcile_chunk)
    applied: list[str] = []
    zones: dict[str, list[Change]] = {}
    for change in changes:
        zones.setdefault(change.zone, []).append(change)
    for zone, zone_changes in zones.items():
        for start in range(0, len(zone_changes), size):
            chunk = zone_changes[start:start + size]
            try:
                backend.apply(zone, chunk)
            except KeaDnsError as exc:
                raise partial_failure(exc, applied, [change.label() for change in chunk]) from None
            applied.extend(change.label() for change in chunk)


class DnsSync:
    """Plans and applies one source's records on one backend."""

    def __init__(self, backend: DnsBackend, source: Source, chunk_size: int | None = None, take_over: bool = False) -> None:
        self.backend = backend
        self.source = source
        self.chunk_size = chunk_size
        self.take_over = take_over
        self.zones_seen: set[str] = set()  # zones the records were planned in (what probe() reads)

    @property
    def owner_id(self) -> str:
        return self.source.owner_id

    def _ours(self, rrset: RRset | None) -> bool:
        return rrset is not None and rrset.owner == self.owner_id and self.source.in_scope(rrset)

    # -- desired vs current --------------------------------------------------------------------------------------
    def plan(self, desired: t.Mapping[RRsetKey, RRset], current: t.Mapping[RRsetKey, RRset], scope: t.Iterable[RRsetKey]) -> Plan:
        plan = Plan()
        for key in sorted(set(scope) | set(desired), key=KEY_ORDER):
            want, have = desired.get(key), current.get(key)
            ours = self._ours(have)
            if want is None:
                if ours:
                    plan.changes.append(Change(have, None))
                continue
            if have is None:
                plan.changes.append(Change(None, want))
            elif have.values == want.values and (have.ttl == want.ttl or not ours):
                plan.unchanged += 1
            elif ours or (self.take_over and have.owner is None):
                plan.changes.append(Change(have, want))
            elif have.owner is not None:
                plan.conflict(key, f"{key.label()} holds {', '.join(have.values)}, not {', '.join(want.values)}, "
                                   f"and belongs to owner {have.owner} (this sync is {self.owner_id}): left alone")
            else:
                plan.conflict(key, f"{key.label()} holds {', '.join(have.values)}, not {', '.join(want.values)}, "
                                   "and ddi.kea_dns does not manage it: left alone")
        return plan

    def plan_zone(self, zone: str, desired: t.Mapping[RRsetKey, RRset]) -> Plan:
        """The desired records of one zone against every record of the source's scope in it."""
        current = {rrset.key: rrset for rrset in self.backend.list_zone(zone) if self.source.in_scope(rrset)}
        self.zones_seen.add(zone)
        plan = self.plan(desired, current, [key for key, rrset in current.items() if rrset.owner == self.owner_id])
        plan.owners.update(rrset.owner for rrset in current.values() if rrset.owner)
        return plan

    def reconcile_zones(self, desired: Desired) -> dict[str, dict[RRsetKey, RRset]]:
        """The zones a reconcile reads, each with the desired records it holds."""
        zones: dict[str, dict[RRsetKey, RRset]] = {}
        for key, rrset in desired.records.items():
            zones.setdefault(rrset.zone, {})[key] = rrset
        for zone in self.source.home_zones(self.backend.zones()):
            zones.setdefault(zone, {})
        return dict(sorted(zones.items()))

    def plan_touching(self, items: t.Any, touched: t.Any) -> tuple[Plan, Desired]:
        """The records ``touched`` names only (an outbox batch, a task's records), read with one call per zone."""
        desired = self.source.desired(items, self.backend.find_zone, touched)
        keys = self.source.scope_keys(touched, self.backend.find_zone)
        keys.update({key: rrset.zone for key, rrset in desired.records.items()})
        zones: dict[str, list[RRsetKey]] = {}
        for key, zone in keys.items():
            zones.setdefault(zone, []).append(key)
        current: dict[RRsetKey, RRset] = {}
        for zone, zone_keys in sorted(zones.items()):
            current.update(self.backend.get(zone, zone_keys))
        self.zones_seen.update(zones)
        return self.plan(desired.records, current, keys), desired

    def apply(self, changes: t.Sequence[Change]) -> None:
        apply_changes(self.backend, changes, self.chunk_size)

    # -- one batch each: read, plan, apply on one connection, run again once on a new one if it died ----------------
    def reconcile(self, items: t.Any, dry_run: bool = False) -> tuple[Plan, Desired]:
        """Everything the source wants against DNS, applied unless ``dry_run``: one zone after the other, each its own
        batch (read, plan, apply), so that only one zone's records are held at once (at 100,000 reservations the two
        zones' records, markers included, are about 400,000 RRsets)."""
        desired, zones = run_batch(self.backend, self._wanted_by_zone, items)
        plan = Plan()
        for zone, records in zones.items():
            plan.add(run_batch(self.backend, self._zone_planned_and_applied, zone, records, dry_run))
        return plan, desired

    def _wanted_by_zone(self, items: t.Any) -> tuple[Desired, dict[str, dict[RRsetKey, RRset]]]:
        desired = self.source.desired(items, self.backend.find_zone)
        return desired, self.reconcile_zones(desired)

    def _zone_planned_and_applied(self, zone: str, records: t.Mapping[RRsetKey, RRset], dry_run: bool) -> Plan:
        plan = self.plan_zone(zone, records)
        if plan.changes and not dry_run:
            self._apply_isolating(plan.changes, plan.refused)
            if plan.refused:
                plan.changes = [change for change in plan.changes if change.key not in plan.refused]
        return plan

    def _apply_isolating(self, changes: t.Sequence[Change], refused: dict[RRsetKey, str]) -> None:
        """Apply ``changes``; the ones the backend refuses (not a state of the backend: that is raised) are found by
        halving what it refused, and kept in ``refused`` with its answer, so one bad record never blocks a reconcile."""
        try:
            self.apply(changes)
        except PartiallyAppliedError as exc:
            if backend_state(exc):
                raise
            applied = set(exc.applied)
            rest = [change for change in changes if change.label() not in applied]
            if len(rest) == 1:
                refused[rest[0].key] = str(exc.cause)
                return
            half = len(rest) // 2
            self._apply_isolating(rest[:half], refused)
            self._apply_isolating(rest[half:], refused)

    def touching(self, items: t.Any, touched: t.Any, dry_run: bool = False) -> tuple[Plan, Desired]:
        """``plan_touching`` applied unless ``dry_run``, as one batch."""
        return run_batch(self.backend, self._touching_applied, items, touched, dry_run)

    def _touching_applied(self, items: t.Any, touched: t.Any, dry_run: bool) -> tuple[Plan, Desired]:
        plan, desired = self.plan_touching(items, touched)
        if plan.changes and not dry_run:
            self.apply(plan.changes)
        return plan, desired

    def probe(self) -> bool:
        """A cheap read from the backend (health after a failure, when no batch has come to show it works again);
        False when no zone is known yet to read from."""
        zone = next(iter(self.source.home_zones(None)), None) or min(self.zones_seen, default=None)
        if zone is None:
            return False
        run_batch(self.backend, self.backend.probe, zone)
        return True
