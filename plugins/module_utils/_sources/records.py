# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the records a ``dns_record`` task names, as a source with an owner id (``owner_id``).

Its scope is exactly the RRsets the task names: a present one is created or made to hold the given values when it is
this owner's, an absent one deleted when it is this owner's; a record of another owner id, or with no mark, is a
conflict and never touched (``_dns/sync.py``). The task's items are already checked (``_dns/plan.py``).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import RRset, RRsetKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.plan import DesiredRecord
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.sync import Desired, FindZone


@dataclass(frozen=True)
class TaskRecords:
    owner_id: str
    records: tuple[DesiredRecord, ...]
    keys: frozenset[RRsetKey] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", frozenset(record.key for record in self.records))

    def desired(self, items: t.Any, find_zone: FindZone, touched: t.Any = None) -> Desired:
        """The present records (the task's records are the items; nothing is looked up)."""
        return Desired({record.key: RRset(record.zone, record.key, record.values, record.ttl, owner=self.owner_id)
                        for record in self.records if record.present})

    def scope_keys(self, touched: t.Any, find_zone: FindZone) -> dict[RRsetKey, str]:
        return {record.key: record.zone for record in self.records}

    def in_scope(self, rrset: RRset) -> bool:
        return rrset.key in self.keys

    def home_zones(self, listed: t.Sequence[str] | None) -> list[str]:
        return sorted({record.zone for record in self.records})
