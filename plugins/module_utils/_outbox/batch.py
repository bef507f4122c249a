# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: claimed outbox rows -> what one DNS batch must make true.

Shared by every consumer of the outbox, so that each one applies a row the same way: the listener daemon
(``_daemon/listener.py``, rows it claimed) and the ``dns_sync`` module (rows the EDA source handed over; ``_module/dns_sync.py``).
The EDA source (``events.py``) checks rows with ``check_rows`` too, so that a row the appliers would skip is skipped
at the source and never becomes an event.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.status import Status, evaluate
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.sync import Desired, Plan
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import KeaDnsError
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea import hosts
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Reservation
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import rows as outbox
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import status as dns_status
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.kea import KeaSource, Touched

# Event batches take this advisory lock shared, a reconcile takes it exclusive: a reconcile never writes a state
# older than what a concurrent batch (of any consumer) already applied.
RECONCILE_LOCK = outbox.lock_key("reconcile")


def check_rows(rows: t.Sequence[outbox.OutboxRow], source: KeaSource) -> dict[int, str]:
    """Rows that can never be applied as they are, with the reason (they are skipped; their valid names are still
    synced): not what the triggers write, or a selected hostname that is no valid DNS name."""
    problems = {}
    for row in rows:
        problem = row.malformed()
        if problem is None:
            for hostname in sorted(row.hostnames()):
                if source.selects(hostname):
                    try:
                        source.fqdn(hostname)
                    except KeaDnsError as exc:
                        problem = str(exc)
                        break
        if problem is not None:
            problems[row.id] = problem
    return problems


@dataclass(frozen=True)
class Batch:
    """Claimed rows, the names and addresses they touch, and the current reservations of those (read under locks)."""

    rows: tuple[outbox.OutboxRow, ...]
    invalid: dict[int, str]
    hostnames: frozenset[str]
    addresses: frozenset[str]
    reservations: tuple[Reservation, ...]

    @property
    def touched(self) -> Touched:
        """The names of DHCPv4 rows touch A records, those of DHCPv6 rows AAAA records; addresses their PTRs."""
        return Touched(frozenset().union(*(row.hostnames() for row in self.rows if row.family == 4)), self.addresses,
                       frozenset().union(*(row.hostnames() for row in self.rows if row.family == 6)))


def read(cursor: t.Any, rows: t.Sequence[outbox.OutboxRow], source: KeaSource) -> Batch:
    """In the claiming transaction: lock every name and address the rows touch (sorted, so consumers cannot
    deadlock), then read their current reservations. The plan is made from those, never from the rows' own values,
    so the newest state wins whatever order the rows were claimed or delivered in."""
    hostnames = frozenset().union(*(row.hostnames() for row in rows))
    addresses = frozenset().union(*(row.addresses() for row in rows))
    outbox.lock(cursor, sorted(hostnames | addresses))
    reservations = hosts.select_reservations_touching(cursor, hostnames, addresses)
    return Batch(tuple(rows), check_rows(rows, source), hostnames, addresses, tuple(reservations))


def statuses(found: Batch, source: KeaSource, plan: Plan, desired: Desired, skipped: t.Mapping[int, str],
             refused: t.Mapping[int, str] | None = None) -> dict[dns_status.Key, Status]:
    """The DNS status of every reservation a batch read, after its plan: a reservation of a skipped row is
    ``failed`` when the backend refused it (else ``skipped``), one of a row refused but retried stays ``pending``
    with the backend's answer."""
    items = {(r.host_id, r.key.family): source.records_of(r) for r in found.reservations if r.host_id is not None}
    result = evaluate(items, plan, desired)
    for row in found.rows:
        if row.id in skipped:
            state = Status("failed" if skipped[row.id].startswith("refused") else "skipped", skipped[row.id])
        elif refused and row.id in refused:
            state = Status("pending", refused[row.id])
        else:
            continue
        result.update(dict.fromkeys(dns_status.row_keys(row), state))
    return result
