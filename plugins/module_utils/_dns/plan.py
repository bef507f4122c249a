# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: desired DNS records -> changes, shared by check mode, real mode and the daemon."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import (
    DEFAULT_TTL,
    Change,
    DnsBackend,
    RRset,
    RRsetKey,
    absolute_name,
    parse_name,
    parse_value,
    reverse_name,
)
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.sync import summary
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import ConflictError, InvalidInputError

ON_EXISTING = ("replace", "keep", "fail")
# Options of one record (module options and items of a records list).
OPTION_NAMES = ("zone", "name", "type", "value", "values", "ttl", "state", "ptr", "ptr_zone")


@dataclass(frozen=True)
class DesiredRecord:
    zone: str
    key: RRsetKey
    values: tuple[str, ...]
    ttl: int = DEFAULT_TTL
    present: bool = True
    source: str = "record"


def desired_from_params(params: t.Mapping, backend: DnsBackend, source: str = "record", defaults: t.Mapping | None = None) -> list[DesiredRecord]:
    """Validate one record given as options; returns it and, with ``ptr``, its PTR record."""
    defaults = defaults or {}
    unknown = sorted(set(params) - set(OPTION_NAMES))
    if unknown:
        raise InvalidInputError(source, unknown[0], f"unknown option; the options are {', '.join(OPTION_NAMES)}")

    def pick(name: str) -> t.Any:
        value = params.get(name)
        return defaults.get(name) if value is None else value

    def where(name: str) -> str:
        return f"{source}.{name}" if source != "record" else name

    rtype = str(pick("type") or "A").upper()
    if rtype not in backend.traits.record_types:
        raise InvalidInputError(where("type"), rtype, f"the {backend.traits.name} backend manages {', '.join(backend.traits.record_types)}")
    raw_values = params.get("values") if params.get("values") is not None else ([params["value"]] if params.get("value") is not None else [])
    values = tuple(sorted({parse_value(rtype, v, where("value")) for v in raw_values}))
    state = pick("state") or "present"
    if state == "present" and not values:
        raise InvalidInputError(where("value"), None, "state=present needs value or values")
    ttl = int(pick("ttl") or DEFAULT_TTL)
    if not 0 <= ttl <= 2147483647:
        raise InvalidInputError(where("ttl"), ttl, "TTL ranges from 0 to 2147483647")
    if params.get("name") is None:
        raise InvalidInputError(where("name"), None, "the record name is required")
    zone = parse_name(pick("zone"), where("zone")) if pick("zone") else None
    name = absolute_name(params["name"], zone, where("name")) if zone else parse_name(params["name"], where("name"))
    zone = zone or backend.find_zone(name)
    records = [DesiredRecord(zone, RRsetKey(name, rtype), values, ttl, state == "present", source)]
    if pick("ptr"):
        if rtype not in ("A", "AAAA"):
            raise InvalidInputError(where("ptr"), True, f"PTR records are made for A and AAAA records, not {rtype}")
        ptr_zone = parse_name(pick("ptr_zone"), where("ptr_zone")) if pick("ptr_zone") else None
        for value in values:
            reverse = reverse_name(value)
            records.append(DesiredRecord(ptr_zone or backend.find_zone(reverse), RRsetKey(reverse, "PTR"), (name,), ttl,
                                         state == "present", f"{source} (PTR of {value})"))
    return records


def plan_records(current: t.Mapping[RRsetKey, RRset], desired: t.Sequence[DesiredRecord], on_existing: str = "replace",
                 owner: str | None = None) -> tuple[list[Change], int]:
    """Changes that make ``current`` look like ``desired``; returns (changes, unchanged count).

    present: the RRset must hold exactly ``values`` (``on_existing=replace``), or is left alone if it exists
    (``keep``), or the task fails if it exists with other values (``fail``). absent: the listed values are
    removed, or the whole RRset when no value is listed. Records written carry the mark of ``owner`` (None: no mark).
    """
    if on_existing not in ON_EXISTING:
        raise InvalidInputError("on_existing", on_existing, f"expected one of {', '.join(ON_EXISTING)}")
    seen: dict[RRsetKey, str] = {}
    changes: list[Change] = []
    unchanged = 0
    for item in desired:
        if item.key in seen:
            raise InvalidInputError(item.source, item.key.label(), f"the same record is also given as {seen[item.key]}")
        seen[item.key] = item.source
        before = current.get(item.key)
        if item.present:
            after = RRset(item.zone, item.key, item.values, item.ttl, owner=owner)
            if before is None:
                changes.append(Change(None, after))
            elif before.values == after.values and before.ttl == after.ttl or on_existing == "keep":
                unchanged += 1
            elif on_existing == "fail":
                raise ConflictError(f"{item.source}: {item.key.label()} in zone {item.zone} already holds {', '.join(before.values)} "
                                    f"(TTL {before.ttl}); set on_existing=replace to change it")
            else:
                changes.append(Change(before, after))
        elif before is None:
            unchanged += 1
        elif item.values and set(before.values) - set(item.values):
            remaining = tuple(v for v in before.values if v not in item.values)
            if remaining == before.values:
                unchanged += 1
            else:
                changes.append(Change(before, RRset(before.zone, before.key, remaining, before.ttl, owner=before.owner)))
        else:
            changes.append(Change(before, None))
    return changes, unchanged


def result(changes: t.Sequence[Change], unchanged: int) -> dict:
    """The one result shape of dns_record and knot_zone: changed, summary and the changed RRsets with their action."""
    return {
        "changed": bool(changes),
        "summary": summary(changes, unchanged),
        "changes": [dict((c.after or c.before).to_dict(), action=c.action) for c in changes],  # type: ignore[union-attr]
    }


def diff(changes: t.Sequence[Change]) -> dict:
    return {
        "before": {c.key.label(): c.before.to_dict() for c in changes if c.before is not None},
        "after": {c.key.label(): c.after.to_dict() for c in changes if c.after is not None},
    }


def by_zone(items: t.Iterable) -> dict[str, list]:
    grouped: dict[str, list] = {}
    for item in items:
        grouped.setdefault(item.zone, []).append(item)
    return grouped
