# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: event_records
short_description: The DNS records that make DNS follow one ddi.kea_dns.kea_events event
version_added: 0.1.0
description:
  - Turns one event of the event source C(ddi.kea_dns.kea_events) (or the same keys from anywhere) into the
    O(ddi.kea_dns.dns_record#module:records) of one M(ddi.kea_dns.dns_record) task, which applies them atomically
    where the backend can.
  - The reservation as it is now gets its A record (and its PTR with O(ptr)). The reservation as it was (the C(old)
    part of an UPDATE, the reservation of a DELETE) loses the A record of its old name and the PTR of its old address,
    unless the new ones hold them anyway. A side without hostname or IPv4 address gets no record.
  - Items set C(zone) and C(ptr_zone) themselves, so the task must not set O(ddi.kea_dns.dns_record#module:zone).
author:
  - ddi.kea_dns maintainers (@ddi)
options:
  _input:
    description: The event (C(ansible_eda.event) in a playbook that ansible-rulebook runs).
    type: dict
    required: true
  zone:
    description:
      - Zone of the A records; short hostnames are made absolute in it.
      - When left out, the event's C(fqdn) is used (the source's C(dns_zone)) and the zone is found on the server.
    type: str
  ptr:
    description: Also keep the PTR records.
    type: bool
    default: false
  ptr_zone:
    description: Reverse zone of the PTR records. When left out, it is found on the server by longest match.
    type: str
  ttl:
    description: TTL of the records. When left out, the task's O(ddi.kea_dns.dns_record#module:ttl).
    type: int
seealso:
  - module: ddi.kea_dns.dns_record
"""

EXAMPLES = r"""
- name: Make DNS follow the event (in a playbook that ansible-rulebook runs)
  ddi.kea_dns.dns_record:
    provider: powerdns
    records: "{{ ansible_eda.event | ddi.kea_dns.event_records(zone='site.test', ptr=true) }}"

- name: >-
    An UPDATE that moved a BMC: [{name: us3-cab10-ru21-idrac.site.test, value: 10.99.0.51, state: present, ...},
    {name: us3-cab10-ru20-idrac.site.test, value: 10.99.0.50, state: absent, ...}]
  ansible.builtin.debug:
    msg: >-
      {{ {'operation': 'UPDATE', 'hostname': 'us3-cab10-ru21-idrac', 'ip': '10.99.0.51',
          'old': {'hostname': 'us3-cab10-ru20-idrac', 'ip': '10.99.0.50'}} | ddi.kea_dns.event_records(zone='site.test') }}
"""

RETURN = r"""
_value:
  description: Items for O(ddi.kea_dns.dns_record#module:records), in the order they are given; empty when the event touches no record.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import KeaDnsError
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox.events import dns_records


def event_records(event, zone=None, ptr=False, ptr_zone=None, ttl=None):
    try:
        return dns_records(event, zone=zone, ptr=ptr, ptr_zone=ptr_zone, ttl=ttl)
    except KeaDnsError as exc:
        raise AnsibleFilterError(f"ddi.kea_dns.event_records: {exc}") from None


class FilterModule:
    def filters(self):
        return {"event_records": event_records}
