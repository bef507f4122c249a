#!/usr/bin/python
# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kea_db_events
short_description: Install or remove the change outbox, triggers and listener role in a Kea PostgreSQL database
version_added: 0.1.0
description:
  - Creates, in a schema of its own (O(schema)), an outbox table and a trigger function, and three triggers on Kea's
    C(hosts) table (INSERT, UPDATE of hostname/address/identifier/subnet, DELETE). Every change writes one outbox row
    with the old and new values and sends a NOTIFY on O(channel) with the fields C(operation), C(hostname),
    C(ipv4_address), C(dhcp_identifier) and C(outbox_id).
  - Creates the listener's login role (O(listener_role)), which may read C(hosts) and work the outbox, nothing else.
  - Kea's own tables are not changed; Kea's schema upgrades keep working. Everything is done in one transaction.
  - Used by the role C(ddi.kea_dns.kea_db_events). The outbox is what the collection's listener daemon reads.
author:
  - ddi.kea_dns maintainers (@ddi)
extends_documentation_fragment:
  - ddi.kea_dns.kea_db
  - ddi.kea_dns.vault
  - ddi.kea_dns.attributes
  - ddi.kea_dns.attributes.ACTIONGROUP_KEA
options:
  state:
    description:
      - V(present) installs or updates the objects; V(absent) removes the triggers, the schema (with the outbox) and the role.
    type: str
    default: present
    choices: [present, absent]
  schema:
    description: Schema that holds the outbox and the trigger function.
    type: str
    default: kea_dns
  channel:
    description: NOTIFY channel; the replaced daemon listened on V(kea_lease_events).
    type: str
    default: kea_lease_events
  hosts_table:
    description: Kea's reservations table, as V(schema.table).
    type: str
    default: public.hosts
  listener_role:
    description:
      - Login role for the listener daemon. An empty string creates none.
    type: str
    default: kea_dns_listener
  listener_password:
    description:
      - Password of O(listener_role). It is stored as a SCRAM verifier computed here, so the clear password never
        appears in a statement the server could log.
    type: str
  update_password:
    description:
      - V(always) sets O(listener_password) when it differs from the stored one, compared through its SCRAM verifier.
        Reading the verifier needs a superuser connection; without one the password is set, and reported as a change,
        on every run. V(on_create) sets it only when the role is created.
    type: str
    default: always
    choices: [always, on_create]
notes:
  - O(db_user) must be allowed to create schemas, roles and triggers on O(hosts_table) (a superuser, or the owner of
    C(hosts) with CREATEROLE).
seealso:
  - module: ddi.kea_dns.kea_reservation
"""

EXAMPLES = r"""
- name: Outbox, triggers and listener role in Kea's database
  ddi.kea_dns.kea_db_events:
    db_host: 127.0.0.1
    db_user: postgres
    listener_password: "{{ vault_listener_password }}"

- name: Remove them again
  ddi.kea_dns.kea_db_events:
    db_host: 127.0.0.1
    db_user: postgres
    state: absent
"""

RETURN = r"""
state:
  description: What is installed after the task (what would be, in check mode).
  returned: always
  type: dict
  sample:
    schema: true
    fingerprint: ddi.kea_dns events 4be2f0a61c7d9e33
    triggers: [kea_dns_hosts_delete, kea_dns_hosts_insert, kea_dns_hosts_update]
    listener_role: true
statements:
  description: How many SQL statements were (or would be) run.
  returned: always
  type: int
password_changed:
  description: Whether the listener role's password was (or would be) set.
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ddi.kea_dns.plugins.module_utils._module.argspec import kea_db_argspec, vault_argspec
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.edge import run
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.kea_db_events import apply_events_schema


def main() -> None:
    argument_spec = {
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "schema": {"type": "str", "default": "kea_dns"},
        "channel": {"type": "str", "default": "kea_lease_events"},
        "hosts_table": {"type": "str", "default": "public.hosts"},
        "listener_role": {"type": "str", "default": "kea_dns_listener"},
        "listener_password": {"type": "str", "no_log": True},
        "update_password": {"type": "str", "default": "always", "choices": ["always", "on_create"], "no_log": False},
        **kea_db_argspec(),
        **vault_argspec(),
    }
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    run(module, apply_events_schema)


if __name__ == "__main__":
    main()
