# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: what the kea_reservation and kea_reservation_info modules run.

Plan, then apply: read the subnets the task touches, compute the plan with
the same code in check mode and in real mode, write only outside check mode,
all in one transaction. Core errors are turned into ``fail_json`` here, once.
"""

from __future__ import annotations

import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._kea import hosts
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.db import db_settings, transaction
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.fields import (
    OPTION_NAMES,
    parse_hw_address_length,
    parse_identifier,
    parse_identifier_type,
    parse_ipv4,
    parse_ipv6,
    parse_mac,
    parse_subnet_id,
)
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import desired_from_params
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.naming import HostnameParser
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.plan import plan_reservations
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.edge import summarise_long_list
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import status as dns_status


def _settings(module: t.Any) -> t.Any:
    return db_settings(module.params, on_secret=module.no_log_values.add)


def apply_reservations(module: t.Any) -> dict:
    params = module.params
    defaults = {name: params.get(name) for name in ("identifier_type", "hw_address_length", "subnet_id", "state", "family")}
    if params.get("reservations") is not None:
        desired = [desired_from_params(item, f"reservations[{index}]", defaults) for index, item in enumerate(params["reservations"])]
    else:
        single = {name: params.get(name) for name in OPTION_NAMES}
        for alias in ("mac", "duid"):  # AnsibleModule keeps the alias the task used next to the option: mac is a MAC
            if params.get(alias) is not None:
                single[alias] = params[alias]
        desired = [desired_from_params(single, "reservation")]
    prune_subnets: set[tuple[int, int]] = set()
    if params.get("prune"):
        named = params.get("prune_subnet_ids")
        prune_subnets = ({(params["family"], parse_subnet_id(s, "prune_subnet_ids")) for s in named} if named
                         else {(d.key.family, d.key.subnet_id) for d in desired})
    subnets = {(d.key.family, d.key.subnet_id) for d in desired} | prune_subnets
    # The holders of the DHCPv6 addresses and prefixes asked for, in any subnet (Kea keeps each once in the table).
    held = {value for d in desired for value in (*(d.ipv6_addresses or ()), *(d.prefixes or ()))}

    with transaction(_settings(module), readonly=module.check_mode) as cursor:
        hosts.check_schema(cursor)
        if not module.check_mode:
            hosts.lock_for_write(cursor)
        current = []
        for family in (4, 6):
            ids = {subnet for kind, subnet in subnets if kind == family}
            if ids:
                current.extend(hosts.select_reservations(cursor, subnet_ids=ids, family=family))
        if held:
            known = {r.host_id for r in current if r.key.family == 6}
            current.extend(r for r in hosts.select_reservations(cursor, family=6, addresses=held) if r.host_id not in known)
        plan = plan_reservations(current, desired, prune_subnets=prune_subnets, ip_conflict=params["ip_conflict"])
        if plan and not module.check_mode:
            hosts.apply_plan(cursor, plan)

    result: dict = {"changed": bool(plan), "summary": plan.summary()}
    if module._diff:
        result["diff"] = plan.diff()
    if params.get("reservations") is None:
        key = desired[0].key
        after = {r.key: r for r in plan.create} | {new.key: new for _old, new in plan.update}
        deleted = {r.key for r in plan.delete}
        found = after.get(key) or next((r for r in current if r.key == key and key not in deleted), None)
        result["reservation"] = found.to_dict() if found is not None and desired[0].present else {}
    else:
        result["changes"] = plan.changes()
        summarise_long_list(result, params, "reservations")
    return result


def list_reservations(module: t.Any) -> dict:
    params = module.params
    parser = HostnameParser(params.get("naming_pattern"))
    identifier_type = parse_identifier_type(params["identifier_type"]) if params.get("identifier_type") else None
    identifier = None
    if params.get("mac"):
        identifier_type = 0 if identifier_type is None else identifier_type
        identifier = parse_mac(params["mac"], "identifier")
    elif params.get("identifier"):
        identifier_type = 0 if identifier_type is None else identifier_type  # a bare identifier is a hardware address
        # A lookup finds what is stored: without hw_address_length, a hw-address of any length Kea stores (so that
        # reservations of other lengths, such as 5-octet ones written before they were refused, can be found).
        length = params.get("hw_address_length")
        identifier = parse_identifier(params["identifier"], identifier_type, "identifier",
                                      None if length is None else parse_hw_address_length(length))
    subnet_ids = [parse_subnet_id(s, "subnet_ids") for s in params["subnet_ids"]] if params.get("subnet_ids") else None
    family = params.get("family") or 4
    ip = None
    if params.get("ip"):
        ip = parse_ipv4(params["ip"]) if family == 4 else parse_ipv6(params["ip"], "ip")
    with transaction(_settings(module), readonly=True) as cursor:
        hosts.check_schema(cursor)
        found = hosts.select_reservations(
            cursor,
            subnet_ids=subnet_ids,
            hostname=params.get("hostname"),
            hostname_regex=params.get("hostname_regex"),
            identifier=identifier,
            identifier_type=identifier_type,
            ip=ip,
            family=family,
        )
        schema = params.get("events_schema") or "kea_dns"
        statuses = dns_status.stored(cursor, schema, [r.host_id for r in found]) if found and dns_status.available(cursor, schema) else {}
    if params.get("managed_only"):
        found = [r for r in found if r.managed]
    return {"changed": False, "reservations": [dict(r.to_dict(), **parser.parse_dict(r.hostname),
                                                    **dns_status.fields(statuses.get((r.host_id, r.key.family))))
                                               for r in found]}
