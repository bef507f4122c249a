# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection, controller side: the kea_reservations inventory plugin's work.

``Fetcher`` reads the hosts through the core (``_kea/hosts.py`` query, ``_inventory/hosts.py`` build) as plain, cacheable
data; ``Populator`` puts them into Ansible's inventory with the plugin's groups and constructed options.
"""

from __future__ import annotations

import hashlib
import json
import typing as t

from ansible import constants as C
from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import parse_name
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import did_you_mean
from ansible_collections.ddi.kea_dns.plugins.module_utils._inventory.hosts import build
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea import hosts
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.db import db_settings, transaction
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.fields import parse_subnet_id
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.naming import HostnameParser
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import status as dns_status

# ansible-core 2.19 and later make every value an inventory plugin sets untrusted unless the plugin says otherwise
# (trusted_by_default), so nothing from the database can be templated. Older cores need wrap_var().
CORE_UNTRUSTS_VALUES = hasattr(BaseInventoryPlugin, "trusted_by_default")
LISTED = 20  # names shown in a warning before "and N more"


def check_options(config: t.Mapping[str, t.Any], plugin: t.Any) -> None:
    """Ansible ignores unknown keys in an inventory configuration file; a typo must not silently drop a filter."""
    known = C.config.get_configuration_definitions("inventory", plugin._load_name)
    for name in sorted(set(config) - set(known)):
        raise AnsibleParserError(f"{plugin.NAME}: unknown option {name!r} in the configuration file{did_you_mean(name, known)}; "
                                 f"ansible-doc -t inventory {plugin.NAME} lists the options")


def listing(names: t.Sequence[str]) -> str:
    shown = ", ".join(names[:LISTED])
    return shown if len(names) <= LISTED else f"{shown} and {len(names) - LISTED} more"


class Fetcher:
    """Reads the reservations (and leases) in one query and turns them into hosts."""

    def __init__(self, options: dict[str, t.Any], subnet_ids: list | None, hostname_regex: str | None,
                 naming_pattern: str | None, dns_zone: str | None, leases: bool, prefer_ipv6: bool = False) -> None:
        self.options = options
        self.subnet_ids = [parse_subnet_id(s, "subnet_ids") for s in subnet_ids] if subnet_ids else None
        self.hostname_regex = hostname_regex
        self.parser = HostnameParser(naming_pattern)
        self.zone = parse_name(dns_zone, "dns_zone") if dns_zone else None
        self.leases = bool(leases)
        self.prefer_ipv6 = bool(prefer_ipv6)
        # What the cached data depends on: a cache written with other values is not used.
        shape = [self.subnet_ids, hostname_regex, self.parser.pattern, self.zone, self.leases, self.prefer_ipv6,
                 [options.get(name) for name in ("db_host", "db_port", "db_name", "events_schema")]]
        self.fingerprint = hashlib.sha256(json.dumps(shape).encode()).hexdigest()

    def fetch(self) -> dict[str, t.Any]:
        with transaction(db_settings(self.options), readonly=True) as cursor:
            hosts.check_schema(cursor)
            if self.leases:
                rows = hosts.select_reservations_with_leases(cursor, self.subnet_ids, self.hostname_regex)
            else:
                rows = [(r, None) for r in hosts.select_reservations(cursor, self.subnet_ids, hostname_regex=self.hostname_regex)]
            v6 = hosts.select_reservations(cursor, hostname_regex=self.hostname_regex, family=6) if hosts.reads_v6(cursor) else []
            schema = self.options.get("events_schema") or "kea_dns"
            statuses = dns_status.stored(cursor, schema) if dns_status.available(cursor, schema) else None
        # subnet_ids names DHCPv4 subnets: with it, DHCPv6 addresses join the hosts it selects and make no host of their own.
        data = build(rows, self.parser, self.zone, v6, v6_hosts=self.subnet_ids is None, prefer_ipv6=self.prefer_ipv6,
                     statuses=statuses)
        data["fingerprint"] = self.fingerprint
        return data


class Populator:
    """Adds the hosts, their variables and groups to the inventory, then the constructed options."""

    def __init__(self, plugin: t.Any, inventory: t.Any, display: t.Any) -> None:
        self.plugin, self.inventory, self.display = plugin, inventory, display
        self.strict = plugin.get_option("strict")
        self.constructed = {name: plugin.get_option(name) for name in ("compose", "groups", "keyed_groups")}
        self.unparsed_group = plugin.get_option("unparsed_group")
        self._groups: set[str] = set()

    def _group(self, name: str) -> str:
        if name not in self._groups:
            self.inventory.add_group(name)
            self._groups.add(name)
        return name

    def populate(self, data: dict[str, t.Any]) -> None:
        self.report(data)
        inventory, construct = self.inventory, any(self.constructed.values())
        cabinets: set[str] = set()
        for name, variables, groups in data["hosts"]:
            if groups is None:
                if not self.unparsed_group:
                    continue
                inventory.add_host(name, group=self._group(self.unparsed_group))
            else:
                site, cabinet, bmc_type = groups
                if cabinet not in cabinets:
                    inventory.add_child(self._group(site), self._group(cabinet))
                    cabinets.add(cabinet)
                inventory.add_host(name, group=cabinet)
                if bmc_type:
                    inventory.add_child(self._group(bmc_type), name)
            if not CORE_UNTRUSTS_VALUES:
                variables = wrap_var(variables)
            # Host.set_variable, not the inventory's: ansible-core 2.19 wraps the inventory so that it visits every
            # value to tag its origin and strip template trust, which costs about 8 s per 50,000 hosts of 13
            # variables (docs/benchmarks.md). These values are plain str/int/dict from the database that never
            # carried trust, so the result is the same: untrusted (tests/integration/test_inventory_plugin.py).
            host = inventory.get_host(name)
            for key, value in variables.items():
                host.set_variable(key, value)
            if construct:
                self.construct(name, variables)

    def construct(self, name: str, variables: dict[str, t.Any]) -> None:
        plugin, strict = self.plugin, self.strict
        plugin._set_composite_vars(self.constructed["compose"], variables, name, strict=strict)
        plugin._add_host_to_composed_groups(self.constructed["groups"], variables, name, strict=strict)
        plugin._add_host_to_keyed_groups(self.constructed["keyed_groups"], variables, name, strict=strict)

    def report(self, data: dict[str, t.Any]) -> None:
        unparsed = data["unparsed"]
        if unparsed:
            where = f"they are in group {self.unparsed_group}" if self.unparsed_group else "they are not in the inventory"
            message = f"{len(unparsed)} hostname(s) do not follow naming_pattern ({where}): {listing(unparsed)}"
            if self.strict:
                raise AnsibleParserError(f"{self.plugin.NAME}: {message}")
            self.display.warning(message)
        if data["duplicates"]:
            self.display.warning(f"hostname(s) reserved more than once, kept from the lowest subnet id: {listing(data['duplicates'])}")
        if data["skipped"]:
            self.display.v(f"{self.plugin.NAME}: {data['skipped']} reservation(s) without a hostname or an IPv4 address skipped")
