#!/usr/bin/python
# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kea_reservation
short_description: Manage ISC Kea DHCPv4 and DHCPv6 host reservations in Kea's PostgreSQL hosts database
version_added: 0.1.0
description:
  - Creates, updates and removes DHCPv4 and DHCPv6 host reservations in the C(hosts) and C(ipv6_reservations) tables
    of a Kea PostgreSQL database (the schema created by C(kea-admin db-init pgsql)). Kea serves changes there without
    a reload.
  - O(family) says which. V(4) (the default) takes O(ip) and the network boot options; V(6) takes O(ipv6_addresses)
    and O(prefixes). Each family's reservation is its own, with its own O(subnet_id); a host with both is two
    reservations, as in Kea's configuration (C(subnet4) and C(subnet6) each list theirs). The module writes each in a
    C(hosts) row of its own; a row that holds both (written by another tool) keeps the other family's reservation when
    one is removed, and the two share its hostname and user context.
  - A reservation is identified by O(identifier), O(identifier_type) and O(subnet_id), as in Kea.
  - Options left out keep their current value; an empty string clears a text option.
  - Every reservation the module writes is marked as managed by the collection in its user context
    (key C(managed-by) with value C(ddi.kea_dns)); O(prune) only ever removes marked reservations.
  - O(reservations) applies many reservations in one task and one database transaction; either all are written or none.
  - An IPv4 address already reserved for another identifier in the same subnet is refused (Kea's schema allows it, the
    module does not) unless O(ip_conflict=replace), which removes the other reservation.
  - All changes of a task run in one transaction, serialised with other writers of this collection.
author:
  - ddi.kea_dns maintainers (@ddi)
extends_documentation_fragment:
  - ddi.kea_dns.kea_db
  - ddi.kea_dns.vault
  - ddi.kea_dns.attributes
  - ddi.kea_dns.attributes.ACTIONGROUP_KEA
options:
  identifier:
    description:
      - The reservation's identifier. For O(identifier_type=hw-address) a MAC address (EUI-48, exactly 6 octets) in one
        of the usual notations, in any case (V(aa:bb:cc:dd:ee:ff), V(aa-bb-cc-dd-ee-ff), V(aabb.ccdd.eeff),
        V(aabbccddeeff)); any other length is refused (V(aa:bb:cc:dd:ee) fails the task naming the value and its
        5 octets), unless O(hw_address_length) says the hardware address is not a MAC address.
      - Given as its alias C(mac), the value is always a MAC address of 6 octets, whatever O(hw_address_length) says.
      - Given as its alias C(duid), the value is a DUID (hex bytes, at most 128 octets) and O(identifier_type) is V(duid).
      - For the other identifier types, hex bytes (with or without C(:), C(-) or C(.) between them).
      - Required unless O(reservations) is given.
    type: str
    aliases: [mac, duid]
  identifier_type:
    description:
      - Kea identifier type. A MAC address is V(hw-address) (Kea type 0); V(duid) is type 1 and does not match a DHCPv4
        client's MAC. DHCPv6 clients identify themselves by their DUID, so a DHCPv6 reservation is usually V(duid).
      - When not given, V(duid) for an identifier given as C(duid), else V(hw-address).
      - With O(reservations), the default for items that do not set it.
    type: str
    choices: [hw-address, duid, circuit-id, client-id, flex-id]
  hw_address_length:
    description:
      - How many octets a O(identifier_type=hw-address) identifier has. The default, V(6), is a MAC address (EUI-48).
      - Set it only for a hardware address that is not a MAC address, for example V(20) for an InfiniBand hardware
        address; O(identifier) (not C(mac)) then takes exactly that many octets as hex digit pairs. Kea stores 1 to 20.
      - Also the way to name a reservation of another length already in the table, for example to remove a 5-octet
        one with O(hw_address_length=5) and O(state=absent).
      - Ignored for the other identifier types. With O(reservations), the default for items that do not set it.
    type: int
    default: 6
  subnet_id:
    description:
      - Kea subnet id (C(id) of the C(subnet4) entry, or of the C(subnet6) entry with O(family=6)); V(0) makes a global
        reservation.
      - Required unless O(reservations) is given; with O(reservations), the default for items that do not set it.
    type: int
  state:
    description:
      - Whether the reservation must exist. With O(reservations), the default for items that do not set it.
    type: str
    default: present
    choices: [present, absent]
  family:
    description:
      - V(4) for a DHCPv4 reservation, V(6) for a DHCPv6 one. With O(reservations), the default for items that do not set it.
      - A field of the other family (O(ip), O(next_server), O(server_hostname), O(boot_file_name) with V(6);
        O(ipv6_addresses), O(prefixes) with V(4)) fails the task naming it.
    type: int
    default: 4
    choices: [4, 6]
  ip:
    description:
      - Reserved IPv4 address (O(family=4)).
    type: str
  ipv6_addresses:
    description:
      - Reserved IPv6 addresses (O(family=6); IA_NA, without a prefix length), for example V(2001:db8:10::20).
      - Each address is held by one reservation in the whole table, as Kea requires. When left out, the current
        addresses are kept; V([]) removes them.
    type: list
    elements: str
  prefixes:
    description:
      - Delegated IPv6 prefixes (O(family=6); IA_PD) as V(address/length), length 1 to 128, for example V(2001:db8:1::/56).
      - Stored for Kea and shown by the info module; never put in DNS. When left out, the current prefixes are kept.
    type: list
    elements: str
  hostname:
    description:
      - Host name handed to the client (RFC 1123; stored in lower case), for example V(us3-cab10-ru20-idrac).
    type: str
  client_classes:
    description:
      - Client classes assigned to the host (DHCPv4 or DHCPv6 ones, after O(family)).
    type: list
    elements: str
  next_server:
    description:
      - IPv4 address of the next server (siaddr) for network boot (O(family=4)).
    type: str
  server_hostname:
    description:
      - Server host name (sname) for network boot, up to 64 characters.
    type: str
  boot_file_name:
    description:
      - Boot file name (file) for network boot, up to 128 characters.
    type: str
  user_context:
    description:
      - Kea user context, a map stored as JSON. The C(managed-by) marker is added to it.
      - When left out, the current user context is kept.
    type: dict
  reservations:
    description:
      - Many reservations in one task and one transaction. Mutually exclusive with O(identifier).
      - Each item is a dictionary with the keys C(identifier) (or its alias C(mac) or C(duid)), C(identifier_type),
        C(hw_address_length), C(subnet_id), C(state), C(family), C(ip), C(ipv6_addresses), C(prefixes), C(hostname),
        C(client_classes), C(next_server), C(server_hostname), C(boot_file_name) and C(user_context), which mean what
        the task options of the same name mean. One list may hold reservations of both families.
      - C(identifier_type), C(hw_address_length), C(subnet_id), C(state) and C(family) default to the task's
        O(identifier_type), O(hw_address_length), O(subnet_id), O(state) and O(family).
      - Every item is validated before anything is written; an error names the item, for example
        C(reservations[500].identifier), and the task writes nothing.
    type: list
    elements: dict
  prune:
    description:
      - With O(reservations), also remove every reservation managed by this collection in the subnets of O(prune_subnet_ids)
        that the list does not name. Reservations written by others (without the marker) are never removed.
    type: bool
    default: false
  prune_subnet_ids:
    description:
      - Subnets that O(prune) cleans, of the task's O(family). Defaults to the subnets (of each family) the items of
        O(reservations) name.
      - Give it explicitly to empty a subnet with an empty O(reservations) list.
    type: list
    elements: int
  ip_conflict:
    description:
      - What to do when the IPv4 address is already reserved for another identifier in the same subnet, or a DHCPv6
        address or prefix for another reservation anywhere in the table.
      - V(fail) fails the task and writes nothing; V(replace) removes the other reservation.
    type: str
    default: fail
    choices: [fail, replace]
notes:
  - docs/reservations.md shows how a host with a DHCPv4 and a DHCPv6 reservation is modelled.
  - The module runs where the task runs (usually the controller with C(delegate_to) or C(connection=local));
    that host needs network access to PostgreSQL and, with O(use_vault), to Vault.
seealso:
  - module: ddi.kea_dns.kea_reservation_info
  - name: Kea host reservations in a database
    description: Kea administrator reference manual.
    link: https://kea.readthedocs.io/en/latest/arm/dhcp4-srv.html#hosts-storage
"""

EXAMPLES = r"""
- name: Reserve an IP for an iDRAC
  ddi.kea_dns.kea_reservation:
    identifier: aa:bb:cc:dd:ee:ff
    subnet_id: 1
    ip: 10.99.0.50
    hostname: us3-cab10-ru20-idrac
    db_host: kea-db.example.com
    db_password: "{{ kea_db_password }}"

- name: A DHCPv6 reservation of the same BMC, by its DUID, with a delegated prefix
  ddi.kea_dns.kea_reservation:
    family: 6
    duid: 00:03:00:01:aa:bb:cc:dd:ee:ff
    subnet_id: 10
    ipv6_addresses: [2001:db8:10::20]
    prefixes: [2001:db8:1:100::/56]
    hostname: us3-cab10-ru20-idrac
    db_host: kea-db.example.com
    db_password: "{{ kea_db_password }}"

- name: Take database credentials from Vault (VAULT_ADDR and VAULT_TOKEN in the environment)
  ddi.kea_dns.kea_reservation:
    mac: aa:bb:cc:dd:ee:01
    subnet_id: 1
    ip: 10.99.0.51
    hostname: us3-cab10-ru21-ilo
    use_vault: true

- name: Apply a whole cabinet in one transaction and remove managed reservations not listed
  ddi.kea_dns.kea_reservation:
    subnet_id: 1
    prune: true
    reservations:
      - {mac: "aa:bb:cc:00:00:01", ip: 10.99.0.61, hostname: us3-cab11-ru01-idrac}
      - {mac: "aa:bb:cc:00:00:02", ip: 10.99.0.62, hostname: us3-cab11-ru02-ilo}

- name: Reserve an IP for an InfiniBand port by its 20-octet hardware address (not a MAC address)
  ddi.kea_dns.kea_reservation:
    identifier: "80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:bc:de"
    identifier_type: hw-address
    hw_address_length: 20
    subnet_id: 2
    ip: 10.98.0.20
    hostname: us3-cab10-ru30-ib0

- name: Remove a reservation
  ddi.kea_dns.kea_reservation:
    identifier: aa:bb:cc:dd:ee:ff
    subnet_id: 1
    state: absent
"""

RETURN = r"""
reservation:
  description: The reservation after the task (single form; empty when O(state=absent)).
  returned: when O(reservations) is not given
  type: dict
  sample:
    identifier: "aa:bb:cc:dd:ee:ff"
    identifier_type: hw-address
    subnet_id: 1
    ip: 10.99.0.50
    hostname: us3-cab10-ru20-idrac
    client_classes: []
    next_server: null
    server_hostname: null
    boot_file_name: null
    user_context: {managed-by: ddi.kea_dns}
    managed: true
    family: 4
    ipv6_addresses: []
    prefixes: []
changes:
  description:
    - Every reservation the task created, updated or deleted (or would, in check mode), in short form
      (C(action), C(subnet_id), C(identifier), C(ip), C(hostname); DHCPv6 ones also C(family) and C(ipv6_addresses)).
      The full before/after is in the diff.
  returned: when O(reservations) is given
  type: list
  elements: dict
  sample:
    - {action: create, subnet_id: 1, identifier: "aa:bb:cc:00:00:01", ip: 10.99.0.61, hostname: us3-cab11-ru01-idrac}
summary:
  description: How many reservations were created, updated, deleted and left unchanged.
  returned: always
  type: dict
  sample: {created: 1, updated: 0, deleted: 0, unchanged: 0}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.fields import IDENTIFIER_TYPES
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.argspec import kea_db_argspec, vault_argspec
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.edge import run
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.kea_reservation import apply_reservations


def main() -> None:
    argument_spec = {
        "identifier": {"type": "str", "aliases": ["mac", "duid"]},
        "identifier_type": {"type": "str", "choices": list(IDENTIFIER_TYPES)},
        "hw_address_length": {"type": "int", "default": 6},
        "subnet_id": {"type": "int"},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "family": {"type": "int", "default": 4, "choices": [4, 6]},
        "ip": {"type": "str"},
        "ipv6_addresses": {"type": "list", "elements": "str"},
        "prefixes": {"type": "list", "elements": "str"},
        "hostname": {"type": "str"},
        "client_classes": {"type": "list", "elements": "str"},
        "next_server": {"type": "str"},
        "server_hostname": {"type": "str"},
        "boot_file_name": {"type": "str"},
        "user_context": {"type": "dict"},
        # Items are validated by the core (plugins/module_utils/_kea/), field by field with their index.
        "reservations": {"type": "list", "elements": "dict"},
        "prune": {"type": "bool", "default": False},
        "prune_subnet_ids": {"type": "list", "elements": "int"},
        "ip_conflict": {"type": "str", "default": "fail", "choices": ["fail", "replace"]},
        **kea_db_argspec(),
        **vault_argspec(),
    }
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("identifier", "reservations")],
        required_one_of=[("identifier", "reservations")],
        required_by={"prune_subnet_ids": "prune"},
        supports_check_mode=True,
    )
    run(module, apply_reservations)


if __name__ == "__main__":
    main()
