#!/usr/bin/python
# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_record_info
short_description: List DNS records of a zone on PowerDNS, Knot, Technitium or an RFC 2136 server
version_added: 0.1.0
description:
  - Returns the RRsets of a zone, of one name, or of one name and type, in the shape M(ddi.kea_dns.dns_record) returns.
  - Listing a whole zone through O(provider=rfc2136) is a zone transfer (AXFR) signed with the TSIG key; a server that refuses
    it fails the task with a message saying so.
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
  - ddi.kea_dns.attributes.INFO_MODULE
  - ddi.kea_dns.attributes.ACTIONGROUP_DNS
options:
  zone:
    description: The zone to read.
    type: str
    required: true
  name:
    description:
      - Only this owner name in O(zone), relative to it (V(us3-cab10-ru20-idrac)) or absolute in it
        (V(us3-cab10-ru20-idrac.site.test) or, with the trailing dot, V(us3-cab10-ru20-idrac.site.test.)).
      - A name with the trailing dot is absolute and must lie in O(zone). Otherwise the task fails and names both.
    type: str
  type:
    description: Only this record type.
    type: str
    choices: [A, AAAA, PTR, CNAME, TXT]
seealso:
  - module: ddi.kea_dns.dns_record
"""

EXAMPLES = r"""
- name: All records of site.test on PowerDNS
  ddi.kea_dns.dns_record_info:
    provider: powerdns
    zone: site.test
  register: site_records

- name: The A record of one BMC through RFC 2136
  ddi.kea_dns.dns_record_info:
    provider: rfc2136
    rfc2136_server: 127.0.0.1
    zone: site.test
    name: us3-cab10-ru20-idrac
    type: A
"""

RETURN = r"""
records:
  description: The RRsets found, ordered by name and type.
  returned: always
  type: list
  elements: dict
  contains:
    zone:
      description: Zone of the RRset.
      type: str
    name:
      description: Absolute owner name, without the trailing dot.
      type: str
    type:
      description: Record type.
      type: str
    values:
      description: Values in canonical form (PTR/CNAME targets without the trailing dot, TXT unquoted).
      type: list
      elements: str
    ttl:
      description: TTL in seconds.
      type: int
    owned:
      description: Whether the RRset carries the collection's owner metadata (backends that store it).
      type: bool
    owner:
      description:
        - The owner id in that metadata (for example C(kea/default) or C(kea/site2)); null when the RRset has none.
        - Metadata written before owner ids existed reads as C(kea/default).
      type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import RECORD_TYPES
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.argspec import dns_argspec, vault_argspec
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.dns_record import list_records
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.edge import run


def main() -> None:
    argument_spec = {
        "zone": {"type": "str", "required": True},
        "name": {"type": "str"},
        "type": {"type": "str", "choices": list(RECORD_TYPES)},
        **dns_argspec(),
        **vault_argspec(),
    }
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    run(module, list_records)


if __name__ == "__main__":
    main()
