# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: what the dns_record and dns_record_info modules run.

Plan, then apply: read the RRsets the task names (grouped by zone), compute the changes with the
same code in check mode and in real mode, then apply each zone's changes with the backend's batch
primitive. When a batch fails part-way, the error lists the changes already applied (``applied``).
"""

from __future__ import annotations

import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import Change, RRsetKey, absolute_name, parse_name
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.ownership import DEFAULT_OWNER
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.plan import OPTION_NAMES, by_zone, desired_from_params, diff, plan_records, result
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.registry import dns_backend
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import KeaDnsError, PartiallyAppliedError
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.edge import summarise_long_list


def apply_records(module: t.Any) -> dict:
    params = module.params
    backend = dns_backend(params, on_secret=module.no_log_values.add)
    try:
        if params.get("records") is not None:
            defaults = {name: params.get(name) for name in ("zone", "type", "ttl", "state", "ptr", "ptr_zone")}
            desired = []
            for index, item in enumerate(params["records"]):
                desired.extend(desired_from_params(item, backend, f"records[{index}]", defaults))
        else:
            desired = desired_from_params({name: params.get(name) for name in OPTION_NAMES}, backend)
        current = {}
        for zone, items in by_zone(desired).items():
            current.update(backend.get(zone, [item.key for item in items]))
        changes, unchanged = plan_records(current, desired, params["on_existing"],
                                          owner=DEFAULT_OWNER if backend.traits.ownership else None)
        if changes and not module.check_mode:
            _apply_by_zone(backend, changes)
    finally:
        backend.close()
    outcome = result(changes, unchanged)
    if module._diff:
        outcome["diff"] = diff(changes)
    summarise_long_list(outcome, params, "records")
    return outcome


def _apply_by_zone(backend: t.Any, changes: t.Sequence[Change]) -> None:
    """Each zone's changes in one backend call; a failure lists every change already applied."""
    applied: list[str] = []
    for zone_changes in by_zone(changes).values():
        try:
            backend.apply(zone_changes[0].zone, zone_changes)
        except PartiallyAppliedError as exc:
            raise PartiallyAppliedError(exc.cause, applied + exc.applied) from None
        except KeaDnsError as exc:
            raise PartiallyAppliedError(exc, applied) from None
        applied.extend(change.label() for change in zone_changes)


def list_records(module: t.Any) -> dict:
    params = module.params
    backend = dns_backend(params, on_secret=module.no_log_values.add)
    try:
        zone = parse_name(params["zone"], "zone")
        if params.get("name"):
            name = absolute_name(params["name"], zone)
            types = [params["type"]] if params.get("type") else list(backend.traits.record_types)
            rrsets = list(backend.get(zone, [RRsetKey(name, rtype) for rtype in types]).values())
        else:
            rrsets = [r for r in backend.list_zone(zone) if not params.get("type") or r.key.type == params["type"]]
    finally:
        backend.close()
    return {"changed": False, "records": [r.to_dict() for r in sorted(rrsets, key=lambda r: r.key)]}
