#!/usr/bin/python
# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_record
short_description: Manage DNS records (A, AAAA, PTR, CNAME, TXT) on PowerDNS, Knot, Technitium or any RFC 2136 server, one or many per task
version_added: 0.1.0
description:
  - Makes a DNS RRset (all records of one name and type) hold exactly the given values, or removes values or the RRset.
  - O(records) applies many records in one task through the backend's batch primitive (one PowerDNS PATCH, one Knot
    zone transaction or one RFC 2136 UPDATE message per zone), each of which the server applies atomically.
    Technitium has no batch call; there the records are written one call at a time and a failure names what was applied.
  - O(ptr=true) also manages the PTR record of every A/AAAA value, in the reverse zone found by longest match
    on the server (or O(ptr_zone)).
  - Records written through a backend that stores owner metadata are marked as owned by the collection, with the
    default owner id C(kea/default) (the listener daemon's default); on PowerDNS this is an RRset comment with account
    C(ddi.kea_dns). See C(docs/dns.md), "Owner ids".
  - With O(owner_id), the task manages records as one owner among several, with the planner the listener daemon and
    M(ddi.kea_dns.dns_sync) use. It creates a record that is missing, and changes or deletes only records marked with
    that owner id. A record of another owner id, or with no mark, is never changed or deleted. It is reported as a
    conflict in RV(conflicts) and as a warning, and it fails the task with O(on_existing=fail).
author:
  - ddi.kea_dns maintainers (@ddi)
extends_documentation_fragment:
  - ddi.kea_dns.dns
  - ddi.kea_dns.dns.POWERDNS
  - ddi.kea_dns.dns.RFC2136
  - ddi.kea_dns.dns.KNOT
  - ddi.kea_dns.dns.TECHNITIUM
  - ddi.kea_dns.dns.HOSTS_FILE
  - ddi.kea_dns.dns.SOLIDSERVER
  - ddi.kea_dns.vault
  - ddi.kea_dns.attributes
  - ddi.kea_dns.attributes.ACTIONGROUP_DNS
options:
  zone:
    description:
      - The zone, for example V(site.test). When left out, the zone holding O(name) is found on the server (longest match).
      - With O(records), the default for items that do not set it.
    type: str
  name:
    description:
      - Owner name, relative to O(zone) (V(us3-cab10-ru20-idrac)) or absolute (V(us3-cab10-ru20-idrac.site.test.));
        V(@) is the apex.
      - A name with a trailing dot is absolute, as everywhere in DNS, and must lie in O(zone). With O(zone=site.test),
        V(6.2.0.192.in-addr.arpa.) fails the task naming the name and the zone (it is never written as
        C(6.2.0.192.in-addr.arpa.site.test)); give such a name with the zone that holds it (O(zone=2.0.192.in-addr.arpa)),
        or leave out O(zone) to have it found on the server.
      - A name without the trailing dot is relative to O(zone), unless it already ends in O(zone)
        (V(us3-cab10-ru20-idrac.site.test) is the same name as V(us3-cab10-ru20-idrac)).
      - Without O(zone), the name is absolute, with or without the dot.
      - Required unless O(records) is given.
    type: str
  type:
    description:
      - Record type. With O(records), the default for items that do not set it.
    type: str
    default: A
    choices: [A, AAAA, PTR, CNAME, TXT]
  value:
    description:
      - One value. Mutually exclusive with O(values).
    type: str
  values:
    description:
      - All values of the RRset.
      - With O(state=absent), the values to remove; without O(value) or O(values) the whole RRset is removed.
    type: list
    elements: str
  ttl:
    description:
      - TTL of the RRset in seconds. With O(records), the default for items that do not set it.
    type: int
    default: 600
  state:
    description:
      - Whether the values must be present or absent. With O(records), the default for items that do not set it.
    type: str
    default: present
    choices: [present, absent]
  ptr:
    description:
      - Also manage the PTR record of each A/AAAA value. With O(records), the default for items that do not set it.
    type: bool
    default: false
  ptr_zone:
    description:
      - Reverse zone of the PTR records. When left out, it is found on the server by longest match.
    type: str
  on_existing:
    description:
      - What to do when the RRset exists with other values or another TTL.
      - V(replace) makes it hold exactly the given values; V(keep) leaves it unchanged; V(fail) fails the task and changes nothing.
      - With O(owner_id), an RRset of this owner is always made to hold the given values, and one of another owner (or
        none) is never changed; V(fail) then fails the task on such a conflict, before anything is written.
    type: str
    default: replace
    choices: [replace, keep, fail]
  owner_id:
    description:
      - Manage the records as this owner, for example V(team/web) or the listener daemon's V(kea/default) (see the
        description). Lower-case letters, digits and C(. _ / -).
      - With O(state=absent), the whole RRset is removed when it is this owner's; O(value) and O(values) are refused.
      - On backends without owner metadata (V(rfc2136), V(knot)), TXT markers are then written unless
        O(dns_owner_txt=false).
      - Not set, records are written as described above and O(on_existing) decides what happens to existing ones.
    type: str
  records:
    description:
      - Many records in one task. Mutually exclusive with O(name).
      - Each item is a dictionary with the keys C(zone), C(name), C(type), C(value), C(values), C(ttl), C(state), C(ptr) and
        C(ptr_zone), which mean what the task options of the same name mean; C(zone), C(type), C(ttl), C(state), C(ptr) and
        C(ptr_zone) default to the task's options.
      - All items are validated and read before anything is written. Each zone's changes are applied through the
        backend's batch primitive, in one atomic call where the backend has one (PowerDNS, RFC 2136, Knot); SOLIDserver
        gets bounded parallel calls (O(solidserver_max_parallel)) and Technitium sequential calls.
      - If a batch fails part-way, the task fails with the changes already applied in RV(applied).
    type: list
    elements: dict
notes:
  - The task runs where it runs (usually the controller); that host needs to reach the DNS backend.
seealso:
  - module: ddi.kea_dns.dns_record_info
  - module: ddi.kea_dns.kea_reservation
"""

EXAMPLES = r"""
- name: A record and its PTR on PowerDNS (API key from PDNS_API_KEY)
  ddi.kea_dns.dns_record:
    provider: powerdns
    powerdns_api_url: http://127.0.0.1:8081
    zone: site.test
    name: us3-cab10-ru20-idrac
    value: 10.99.0.50
    ptr: true

- name: The same through RFC 2136 with a TSIG key (secret from RFC2136_KEY_SECRET)
  ddi.kea_dns.dns_record:
    provider: rfc2136
    rfc2136_server: 127.0.0.1
    rfc2136_port: 53
    rfc2136_key_name: tsig1
    zone: site.test
    name: us3-cab10-ru20-idrac
    value: 10.99.0.50

- name: A cabinet of BMCs in one batch
  ddi.kea_dns.dns_record:
    provider: powerdns
    zone: site.test
    records:
      - {name: us3-cab11-ru01-idrac, value: 10.99.0.61}
      - {name: us3-cab11-ru02-ilo, value: 10.99.0.62}

- name: BMC records on SOLIDserver's internal DNS server, credentials from Vault (secret baremetal_dns)
  ddi.kea_dns.dns_record:
    provider: solidserver
    solidserver_host: 172.30.16.141
    solidserver_scope: internal
    solidserver_ca_cert: /etc/pki/tls/certs/solidserver-ca.pem
    use_vault: true
    zone: site.com
    records:
      - {name: us3-cab10-ru15-ilo, value: 172.30.19.43}
      - {name: us3-cab10-ru20-idrac, value: 172.30.19.101}

- name: RFC 2136 records with TXT ownership markers (_kea-dns.<name>)
  ddi.kea_dns.dns_record:
    provider: rfc2136
    rfc2136_key_name: tsig1
    dns_owner_txt: true
    zone: site.test
    name: us3-cab10-ru21-idrac
    value: 10.99.0.51

- name: Records of the web team, next to the listener daemon's in the same zone (another owner's records are left alone)
  ddi.kea_dns.dns_record:
    provider: powerdns
    zone: site.test
    owner_id: team/web
    records:
      - {name: www, value: 10.99.0.80}
      - {name: api, value: 10.99.0.81}

- name: Remove a record and its PTR
  ddi.kea_dns.dns_record:
    provider: powerdns
    zone: site.test
    name: us3-cab10-ru20-idrac
    value: 10.99.0.50
    ptr: true
    state: absent
"""

RETURN = r"""
changes:
  description: Every RRset the task created, updated or deleted (or would, in check mode), with C(action).
  returned: always
  type: list
  elements: dict
  sample:
    - {action: create, zone: site.test, name: us3-cab10-ru20-idrac.site.test, type: A, values: [10.99.0.50], ttl: 600, owned: true, owner: kea/default}
summary:
  description: How many RRsets were created, updated, deleted and left unchanged.
  returned: always
  type: dict
  sample: {created: 1, updated: 0, deleted: 0, unchanged: 0}
conflicts:
  description:
    - With O(owner_id), the records of another owner id (or with no mark) that hold other values than the task's and
      were left alone, one sentence each naming the record and its owner.
  returned: when O(owner_id) is set
  type: list
  elements: str
  sample: ["www.site.test A holds 10.99.0.9, not 10.99.0.80, and belongs to owner kea/default (this sync is team/web): left alone"]
applied:
  description:
    - When a batch failed part-way, every change already written, as C(<action> <name> <type>) (per value on SOLIDserver).
  returned: failure after part of a batch was written
  type: list
  elements: str
  sample: [create us3-cab11-ru01-idrac.site.test A 10.99.0.61]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import RECORD_TYPES
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.argspec import dns_argspec, vault_argspec
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.dns_record import apply_records
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.edge import run


def main() -> None:
    argument_spec = {
        "zone": {"type": "str"},
        "name": {"type": "str"},
        "type": {"type": "str", "default": "A", "choices": list(RECORD_TYPES)},
        "value": {"type": "str"},
        "values": {"type": "list", "elements": "str"},
        "ttl": {"type": "int", "default": 600},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "ptr": {"type": "bool", "default": False},
        "ptr_zone": {"type": "str"},
        "on_existing": {"type": "str", "default": "replace", "choices": ["replace", "keep", "fail"]},
        "owner_id": {"type": "str"},
        # Items are validated by the core (plugins/module_utils/_dns/plan.py), field by field with their index.
        "records": {"type": "list", "elements": "dict"},
        **dns_argspec(),
        **vault_argspec(),
    }
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("name", "records"), ("value", "values")],
        required_one_of=[("name", "records")],
        supports_check_mode=True,
    )
    run(module, apply_records)


if __name__ == "__main__":
    main()
