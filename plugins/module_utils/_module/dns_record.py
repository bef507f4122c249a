# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: what the dns_record and dns_record_info modules run.

Plan, then apply: read the RRsets the task names (grouped by zone), compute the changes with the
same code in check mode and in real mode, then apply each zone's changes with the backend's batch
primitive (``_dns/sync.py apply_changes``). When a batch fails part-way, the error lists the changes
already applied (``applied``). Without ``owner_id`` the changes follow ``on_existing`` (``_dns/plan.py``);
with it, the planner of every source (``_dns/sync.py``) changes only that owner's records.
"""

from __future__ import annotations

import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import RRsetKey, absolute_name, parse_name
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.ownership import DEFAULT_OWNER, check_owner_id
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.plan import OPTION_NAMES, DesiredRecord, by_zone, desired_from_params, diff, plan_records, result
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.registry import dns_backend
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.sync import DnsSync, apply_changes
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import ConflictError, InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.edge import summarise_long_list
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.records import TaskRecords


def apply_records(module: t.Any) -> dict:
    params = module.params
    owner_id = check_owner_id(params["owner_id"]) if params.get("owner_id") is not None else None
    backend = dns_backend(params, on_secret=module.no_log_values.add, owned=owner_id is not None)
    try:
        desired = _desired(params, backend)
        if owner_id is not None:
            changes, unchanged, conflicts = _owned_plan(backend, owner_id, desired, params["on_existing"])
        else:
            current = {}
            for zone, items in by_zone(desired).items():
                current.update(backend.get(zone, [item.key for item in items]))
            changes, unchanged = plan_records(current, desired, params["on_existing"],
                                              owner=DEFAULT_OWNER if backend.traits.ownership else None)
            conflicts = []
        if changes and not module.check_mode:
            apply_changes(backend, changes)
    finally:
        backend.close()
    for conflict in conflicts:
        module.warn(conflict)
    outcome = result(changes, unchanged)
    if owner_id is not None:
        outcome["conflicts"] = conflicts
    if module._diff:
        outcome["diff"] = diff(changes)
    summarise_long_list(outcome, params, "records")
    return outcome


def _desired(params: t.Mapping[str, t.Any], backend: t.Any) -> list[DesiredRecord]:
    if params.get("records") is None:
        return desired_from_params({name: params.get(name) for name in OPTION_NAMES}, backend)
    defaults = {name: params.get(name) for name in ("zone", "type", "ttl", "state", "ptr", "ptr_zone")}
    desired = []
    for index, item in enumerate(params["records"]):
        desired.extend(desired_from_params(item, backend, f"records[{index}]", defaults))
    return desired


def _owned_plan(backend: t.Any, owner_id: str, desired: list[DesiredRecord], on_existing: str) -> tuple[list, int, list[str]]:
    """With ``owner_id``: the planner of every source (``_dns/sync.py``), on the RRsets the task names. A record of
    another owner id or with no mark is never changed: a conflict (which fails the task with ``on_existing=fail``)."""
    plan_records({}, desired, on_existing)  # the same checks of the items (each RRset named once, on_existing)
    for item in desired:
        if not item.present and item.values:
            raise InvalidInputError(f"{item.source}.values", list(item.values),
                                    "with owner_id, state=absent removes the whole RRset of this owner: leave out value and values")
    plan, _desired = DnsSync(backend, TaskRecords(owner_id, tuple(desired))).plan_touching(None, None)
    if plan.conflicts and on_existing == "fail":
        raise ConflictError(f"{plan.conflicts[0]}; nothing was changed")
    return plan.changes, plan.unchanged, plan.conflicts


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
