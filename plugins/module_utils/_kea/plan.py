# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: desired reservations -> creates, updates and deletes of Kea's hosts table, with
the IP-conflict refusal (kea_reservation's check mode, diff and apply share it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import ConflictError, InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.fields import format_identifier
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import DesiredReservation, Reservation, ReservationKey


@dataclass
class Plan:
    """Changes that bring the hosts table to the desired state."""

    create: list[Reservation] = field(default_factory=list)
    update: list[tuple[Reservation, Reservation]] = field(default_factory=list)  # (before, after)
    delete: list[Reservation] = field(default_factory=list)
    unchanged: int = 0

    def __bool__(self) -> bool:
        return bool(self.create or self.update or self.delete)

    def summary(self) -> dict:
        return {"created": len(self.create), "updated": len(self.update), "deleted": len(self.delete), "unchanged": self.unchanged}

    def changes(self) -> list[dict]:
        """One short line of data per changed reservation (full before/after is in diff())."""
        def brief(reservation: Reservation, action: str) -> dict:
            return {"action": action, "subnet_id": reservation.key.subnet_id, "identifier": format_identifier(reservation.key.identifier),
                    "ip": reservation.ip, "hostname": reservation.hostname}
        return ([brief(r, "create") for r in self.create] + [brief(new, "update") for _old, new in self.update]
                + [brief(r, "delete") for r in self.delete])

    def diff(self) -> dict:
        """Before/after of every reservation the plan touches, keyed by its identity."""
        before: dict = {}
        after: dict = {}
        for reservation in self.delete:
            before[reservation.key.label()] = reservation.to_dict()
        for old, new in self.update:
            before[old.key.label()] = old.to_dict()
            after[new.key.label()] = new.to_dict()
        for reservation in self.create:
            after[reservation.key.label()] = reservation.to_dict()
        return {"before": before, "after": after}


def plan_reservations(
    current: list[Reservation],
    desired: list[DesiredReservation],
    prune_subnet_ids: set[int] | None = None,
    ip_conflict: str = "fail",
) -> Plan:
    """Compare desired with current; raise on duplicates and IP conflicts (unless ip_conflict=replace).

    ``current`` must hold every reservation of the subnets the desired items and
    ``prune_subnet_ids`` name, so that conflicts and prune see the whole subnet.
    """
    by_key = {reservation.key: reservation for reservation in current}
    wanted: dict[ReservationKey, DesiredReservation] = {}
    for item in desired:
        if item.key in wanted:
            raise InvalidInputError(item.source, item.key.label(), f"the same reservation is also given as {wanted[item.key].source}")
        wanted[item.key] = item

    plan = Plan()
    final: dict[ReservationKey, Reservation] = dict(by_key)
    for key, item in wanted.items():
        existing = by_key.get(key)
        if not item.present:
            if existing is not None:
                plan.delete.append(existing)
                del final[key]
            else:
                plan.unchanged += 1
            continue
        target = item.apply_to(existing)
        final[key] = target
        if existing is None:
            plan.create.append(target)
        elif target != existing:
            plan.update.append((existing, target))
        else:
            plan.unchanged += 1

    if prune_subnet_ids:
        for key, reservation in by_key.items():
            if key.subnet_id in prune_subnet_ids and reservation.managed and key not in wanted:
                plan.delete.append(reservation)
                del final[key]

    _resolve_ip_conflicts(plan, final, wanted, ip_conflict)
    return plan


def _resolve_ip_conflicts(plan: Plan, final: dict[ReservationKey, Reservation], wanted: dict, ip_conflict: str) -> None:
    """Kea's schema lets two hosts reserve one IPv4 in a subnet; the collection does not."""
    holders: dict[tuple[int, str], list[Reservation]] = {}
    for reservation in final.values():
        if reservation.ip is not None:
            holders.setdefault((reservation.key.subnet_id, reservation.ip), []).append(reservation)
    for (subnet_id, ip), group in holders.items():
        ours = [r for r in group if r.key in wanted]
        if len(group) < 2 or not ours:
            continue
        if len(ours) > 1:
            sources = " and ".join(wanted[r.key].source for r in ours)
            raise InvalidInputError("ip", ip, f"given to more than one reservation in subnet {subnet_id} ({sources})")
        others = [r for r in group if r.key not in wanted]
        if ip_conflict != "replace":
            taken = ", ".join(f"{r.key.label()} (hostname {r.hostname})" for r in others)
            raise ConflictError(
                f"ip: {ip} in subnet {subnet_id} is already reserved for {taken}; "
                f"{wanted[ours[0].key].source} would reserve it again. Set ip_conflict=replace to take it over"
            )
        plan.delete.extend(others)
