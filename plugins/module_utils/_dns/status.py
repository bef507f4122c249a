# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the DNS state of each item a source syncs (a reservation, a route), from a plan.

A source says what records each item implies (``ItemRecords``: their keys, or why it implies none); after a plan
(applied, or read only for a report), each item is

- ``synced``: every record it implies is in DNS as wanted (or was just written so);
- ``conflict``: one of its records is held by another owner, or by nobody here, with other values (left alone);
- ``skipped``: it implies no record (not selected, no address, no valid name) or no zone of the backend holds one;
- ``pending``: its records are not known yet (a route without an address); the Kea triggers also set it for every
  changed reservation until a consumer applied it;
- ``failed``: the backend refused its change (a reconcile's ``Plan.refused``, or a row the consumer gave up on),
  with the backend's answer.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import RRsetKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.sync import Desired, Plan, unplaced_label

STATUSES = ("pending", "synced", "failed", "skipped", "conflict")
URGENCY = ("failed", "conflict", "pending", "skipped", "synced")  # what a host of several reservations shows first
K = t.TypeVar("K")


@dataclass(frozen=True)
class ItemRecords:
    """The record keys one item implies, or why it implies none (``skipped``) or none yet (``pending``)."""

    keys: tuple[RRsetKey, ...] = ()
    skipped: str | None = None
    pending: str | None = None


@dataclass(frozen=True)
class Status:
    status: str
    reason: str | None = None


def evaluate(items: t.Mapping[K, ItemRecords], plan: Plan, desired: Desired) -> dict[K, Status]:
    """The state of every item of ``items`` after ``plan`` (made from ``desired``)."""
    conflicts: dict[RRsetKey, str] = {}
    for key, message in zip(plan.conflict_keys, plan.conflicts, strict=True):
        conflicts.setdefault(key, message)
    found: dict[K, Status] = {}
    for ident, item in items.items():
        if item.skipped is not None:
            found[ident] = Status("skipped", item.skipped)
        elif item.pending is not None:
            found[ident] = Status("pending", item.pending)
        elif any(key in plan.refused for key in item.keys):
            found[ident] = Status("failed", "; ".join(f"refused by the DNS backend: {plan.refused[key]}" for key in item.keys
                                                      if key in plan.refused))
        elif any(key in conflicts for key in item.keys):
            found[ident] = Status("conflict", "; ".join(conflicts[key] for key in item.keys if key in conflicts))
        elif any(unplaced_label(key) in desired.invalid for key in item.keys):
            found[ident] = Status("skipped", "; ".join(desired.invalid[unplaced_label(key)] for key in item.keys
                                                       if unplaced_label(key) in desired.invalid))
        else:
            found[ident] = Status("synced")
    return found


def counts(statuses: t.Iterable[Status]) -> dict[str, int]:
    """How many items are in each state (every state named, 0 included)."""
    found = dict.fromkeys(STATUSES, 0)
    for status in statuses:
        found[status.status] += 1
    return found
