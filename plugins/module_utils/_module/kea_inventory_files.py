# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the kea_inventory_files module's work. The files are those the listener daemon
writes (``_inventory/files.py``): the same reservations give the same bytes, whichever of the two wrote them."""

from __future__ import annotations

import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import parse_name
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._inventory import files as inventory
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea import hosts
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.db import db_settings, transaction
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.naming import HostnameParser
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.kea import KeaSource


def write_files(module: t.Any) -> dict:
    params = module.params
    if not params["hostname_filter"]:
        raise InvalidInputError("hostname_filter", params["hostname_filter"], "needs at least one glob ('*' selects every hostname)")
    zone = parse_name(params["dns_zone"], "dns_zone") if params.get("dns_zone") else None
    settings = KeaSource(zone=zone, hostname_filter=tuple(params["hostname_filter"]))
    parser = HostnameParser(params.get("naming_pattern"))
    with transaction(db_settings(params, on_secret=module.no_log_values.add), readonly=True) as cursor:
        hosts.check_schema(cursor)
        reservations = hosts.select_all(cursor)
    files, unplaced = inventory.render(reservations, parser, settings)
    path = params["path"]
    try:
        differing, stale = inventory.changes(path, files)
        if not module.check_mode and (differing or stale):
            inventory.write(path, files)
    except OSError as exc:
        raise InvalidInputError("path", path, exc.strerror or str(exc)) from None
    result = {"changed": bool(differing or stale), "written": list(differing), "removed": stale, "files": sorted(files),
              "unplaced": unplaced}
    if module._diff:
        result["diff"] = [{"before_header": f"{path}/{name}", "after_header": f"{path}/{name}",
                           "before": differing[name] or "", "after": files[name]} for name in differing]
        result["diff"] += [{"before_header": f"{path}/{name}", "after_header": "(removed)", "before": "(a file of the listener)",
                            "after": ""} for name in stale]
    return result
