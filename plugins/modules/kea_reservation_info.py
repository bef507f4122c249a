#!/usr/bin/python
# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kea_reservation_info
short_description: Read ISC Kea DHCPv4 and DHCPv6 host reservations, with site, cabinet, rack unit and BMC type
version_added: 0.1.0
description:
  - Lists DHCPv4 (or, with O(family=6), DHCPv6) host reservations from the C(hosts) table of a Kea PostgreSQL database.
  - Filters combine (all must match). Without a filter, every DHCPv4 reservation is returned.
  - Each reservation carries the site, cabinet, rack unit and BMC type read from its hostname with O(naming_pattern)
    (V(null) when the hostname does not follow it).
author:
  - ddi.kea_dns maintainers (@ddi)
extends_documentation_fragment:
  - ddi.kea_dns.kea_db
  - ddi.kea_dns.vault
  - ddi.kea_dns.naming
  - ddi.kea_dns.attributes.INFO_MODULE
  - ddi.kea_dns.attributes.ACTIONGROUP_KEA
options:
  subnet_ids:
    description: Only reservations in these subnets (V(0) for global reservations).
    type: list
    elements: int
  hostname:
    description: Only the reservation with this hostname (compared case-insensitively).
    type: str
  hostname_regex:
    description:
      - Only reservations whose hostname matches this PostgreSQL (POSIX) regular expression, case-insensitively,
        for example V(-idrac$) or V(^us3-cab1[0-9]-).
    type: str
  identifier:
    description:
      - Only the reservations with this identifier (a MAC address for V(hw-address)).
      - Given as O(mac), it must be a MAC address of exactly 6 octets (EUI-48). Given as O(identifier) with
        V(hw-address), any length is accepted, so a hardware address of another length can still be found.
    type: str
    aliases: [mac]
  identifier_type:
    description:
      - Only reservations of this identifier type. When O(identifier) is given without it, V(hw-address) is assumed.
    type: str
    choices: [hw-address, duid, circuit-id, client-id, flex-id]
  family:
    description:
      - V(4) lists DHCPv4 reservations, V(6) DHCPv6 ones (one row of Kea's C(hosts) table may hold one of each; it is
        listed in both). O(subnet_ids) and O(ip) are of this family.
    type: int
    default: 4
    choices: [4, 6]
  ip:
    description: Only the reservations of this IPv4 address (with O(family=6), of this IPv6 address).
    type: str
  managed_only:
    description: Only reservations written by this collection (marked in their user context).
    type: bool
    default: false
  events_schema:
    description:
      - Schema of the collection's own tables (the M(ddi.kea_dns.kea_db_events) module and role), where the DNS
        status of each reservation is kept (table C(dns_status)). Without that table, or without C(SELECT) on it,
        RV(reservations[].dns_status) and the other status fields are V(null).
    type: str
    default: kea_dns
seealso:
  - module: ddi.kea_dns.kea_reservation
"""

EXAMPLES = r"""
- name: All iDRACs of site us3
  ddi.kea_dns.kea_reservation_info:
    hostname_regex: "^us3-.*-idrac$"
  register: idracs

- name: Who holds 10.99.0.50 in subnet 1?
  ddi.kea_dns.kea_reservation_info:
    subnet_ids: [1]
    ip: 10.99.0.50
  register: holder

- name: Show cabinet of each reservation
  ansible.builtin.debug:
    msg: "{{ idracs.reservations | map(attribute='cabinet') | list }}"

- name: The iDRACs that are not in DNS, and why
  ansible.builtin.debug:
    msg: "{{ item.hostname }}: {{ item.dns_status }} ({{ item.dns_status_reason }})"
  loop: "{{ idracs.reservations | rejectattr('dns_status', 'equalto', 'synced') | list }}"
  loop_control:
    label: "{{ item.hostname }}"
"""

RETURN = r"""
reservations:
  description: Matching reservations, ordered by subnet, IP and hostname.
  returned: always
  type: list
  elements: dict
  contains:
    identifier:
      description: Identifier as lower-case colon-separated hex (a MAC address for C(hw-address)).
      type: str
      sample: "aa:bb:cc:dd:ee:ff"
    identifier_type:
      description: Kea identifier type name.
      type: str
      sample: hw-address
    subnet_id:
      description: Kea subnet id (0 = global).
      type: int
    ip:
      description: Reserved IPv4 address, or null.
      type: str
    hostname:
      description: Reserved hostname, or null.
      type: str
    client_classes:
      description: Client classes.
      type: list
      elements: str
    next_server:
      description: Next server address, or null.
      type: str
    server_hostname:
      description: Server host name, or null.
      type: str
    boot_file_name:
      description: Boot file name, or null.
      type: str
    user_context:
      description: Kea user context.
      type: dict
    managed:
      description: Whether the reservation was written by this collection.
      type: bool
    family:
      description: 4 (DHCPv4) or 6 (DHCPv6).
      type: int
    ipv6_addresses:
      description: The reserved IPv6 addresses (DHCPv6; empty for DHCPv4).
      type: list
      elements: str
    prefixes:
      description: The delegated IPv6 prefixes as address/length (DHCPv6; empty for DHCPv4).
      type: list
      elements: str
    site:
      description: Site read from the hostname, or null.
      type: str
      sample: us3
    cabinet:
      description: Cabinet read from the hostname, or null.
      type: str
      sample: cab10
    rack_unit:
      description: Rack unit read from the hostname, or null.
      type: int
      sample: 20
    bmc_type:
      description: BMC type read from the hostname, or null.
      type: str
      sample: idrac
    dns_status:
      description:
        - The DNS state of the reservation, or null when it is not known (no status table, or the reservation was
          written before it existed and no reconcile ran since).
        - V(pending) (changed, not applied to DNS yet), V(synced) (its records are in DNS), V(failed) (the DNS
          backend refused its change), V(skipped) (it implies no record, for example a hostname the listener's
          hostname_filter does not select, or no zone holds its name), V(conflict) (a record of its name is held by
          another owner, or by nobody the collection knows, with other values).
      type: str
      sample: synced
    dns_status_reason:
      description: Why the reservation failed, was skipped or conflicts (the backend's answer), or null.
      type: str
    dns_synced_at:
      description: When the reservation was last synced to DNS (ISO 8601, UTC), or null.
      type: str
      sample: "2026-12-07T10:00:00Z"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.fields import IDENTIFIER_TYPES
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.argspec import kea_db_argspec, naming_argspec, outbox_argspec, vault_argspec
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.edge import run
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.kea_reservation import list_reservations


def main() -> None:
    argument_spec = {
        "subnet_ids": {"type": "list", "elements": "int"},
        "hostname": {"type": "str"},
        "hostname_regex": {"type": "str"},
        "identifier": {"type": "str", "aliases": ["mac"]},
        "identifier_type": {"type": "str", "choices": list(IDENTIFIER_TYPES)},
        "family": {"type": "int", "default": 4, "choices": [4, 6]},
        "ip": {"type": "str"},
        "managed_only": {"type": "bool", "default": False},
        **outbox_argspec("events_schema"),
        **kea_db_argspec(),
        **vault_argspec(),
        **naming_argspec(),
    }
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    run(module, list_reservations)


if __name__ == "__main__":
    main()
