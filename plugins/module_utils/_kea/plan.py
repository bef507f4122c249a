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
            line = {"action": action, "subnet_id": reservation.key.subnet_id, "identifier": format_identifier(reservation.key.identifier),
                    "ip": reservation.ip, "hostname": reservation.hostname}
            if reservation.key.family == 6:
                line.update(family=6, ipv6_addresses=list(reservation.ipv6_addresses))
            return line
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
    prune_subnets: set[tuple[int, int]] | None = None,
    ip_conflict: str = "fail",
) -> Plan:
    """Compare desired with current; raise on duplicates and address conflicts (unless ip_conflict=replace).

    ``current`` must hold every reservation of the subnets the desired items and ``prune_subnets`` ((family,
    subnet id) pairs) name, and every DHCPv6 reservation that holds one of the desired v6 addresses or prefixes, so
    that conflicts and prune see all they must.
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

    if prune_subnets:
        for key, reservation in by_key.items():
            if (key.family, key.subnet_id) in prune_subnets and reservation.managed and key not in wanted:
                plan.delete.append(reservation)
                del final[key]

    _resolve_ip_conflicts(plan, final, wanted, ip_conflict)
    return plan


def _held(reservation: Reservation) -> list[tuple[str, str, str]]:
    """(field, where, value) of every address a reservation holds: an IPv4 address is unique in its subnet (the
    collection's rule; Kea's schema allows two), a DHCPv6 address or prefix in the whole table (Kea's constraint)."""
    if reservation.key.family == 4:
        return [("ip", f"subnet {reservation.key.subnet_id}", reservation.ip)] if reservation.ip is not None else []
    return ([("ipv6_addresses", "the DHCPv6 reservations", address) for address in reservation.ipv6_addresses]
            + [("prefixes", "the DHCPv6 reservations", prefix) for prefix in reservation.prefixes])


def _resolve_ip_conflicts(plan: Plan, final: dict[ReservationKey, Reservation], wanted: dict, ip_conflict: str) -> None:
    """An address held by two reservations is refused, unless ip_conflict=replace removes the other one."""
    holders: dict[tuple[str, str, str], list[Reservation]] = {}
    for reservation in final.values():
        for held in _held(reservation):
            holders.setdefault(held, []).append(reservation)
    removed: set[ReservationKey] = set()
    for (name, where, value), group in holders.items():
        ours = [r for r in group if r.key in wanted]
        if len(group) < 2 or not ours:
            continue
        if len(ours) > 1:
            sources = " and ".join(wanted[r.key].source for r in ours)
            raise InvalidInputError(name, value, f"given to more than one reservation in {where} ({sources})")
        others = [r for r in group if r.key not in wanted and r.key not in removed]
        if ip_conflict != "replace":
            taken = ", ".join(f"{r.key.label()} (hostname {r.hostname})" for r in group if r.key not in wanted)
            raise ConflictError(
                f"{name}: {value} in {where} is already reserved for {taken}; "
                f"{wanted[ours[0].key].source} would reserve it again. Set ip_conflict=replace to take it over"
            )
        plan.delete.extend(others)
        removed.update(r.key for r in others)
