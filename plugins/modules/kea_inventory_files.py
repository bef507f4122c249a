#!/usr/bin/python
# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kea_inventory_files
short_description: Write the site-cabinet inventory files of Kea's BMC reservations
version_added: 0.1.0
description:
  - Reads the DHCPv4 reservations of a Kea PostgreSQL database and makes O(path) hold one YAML inventory file per
    cabinet, C(<site>-<cabinet>-discovery.yml), as the listener daemon (role ddi.kea_dns.dns_listener) writes them;
    the same reservations give the same files, byte for byte.
  - A file is rewritten (atomically) only when its content changes. A file the listener or this module wrote for a
    cabinet that has no BMC left is removed. Other files in O(path) are never touched.
  - Hosts, variables and groups are those of the P(ddi.kea_dns.kea_reservations#inventory) inventory plugin.
  - The rulebook C(ddi.kea_dns.kea_dns) runs it (playbook C(ddi.kea_dns.inventory_refresh)) after changes.
author:
  - ddi.kea_dns maintainers (@ddi)
extends_documentation_fragment:
  - ddi.kea_dns.kea_db
  - ddi.kea_dns.vault
  - ddi.kea_dns.naming
  - ddi.kea_dns.attributes
  - ddi.kea_dns.attributes.ACTIONGROUP_KEA
options:
  path:
    description: Directory of the files; created when missing.
    type: path
    required: true
  hostname_filter:
    description: Globs of the hostnames (first label) that are BMCs; the listener daemon's default.
    type: list
    elements: str
    default: ['*-ilo', '*-idrac', '*-bmc']
  dns_zone:
    description: Zone that makes short hostnames the C(fqdn) host variable.
    type: str
notes:
  - The files are written where the task runs.
seealso:
  - module: ddi.kea_dns.kea_reservation_info
  - plugin: ddi.kea_dns.kea_reservations
    plugin_type: inventory
"""

EXAMPLES = r"""
- name: Site-cabinet inventory files of every BMC (database credentials from KEA_DB_*)
  ddi.kea_dns.kea_inventory_files:
    path: /var/lib/kea/discovery
    dns_zone: site.test
"""

RETURN = r"""
written:
  description: Files written (or, in check mode, that would be), by name.
  returned: always
  type: list
  elements: str
  sample: [us3-cab10-discovery.yml]
removed:
  description: Files removed because their cabinet has no BMC left.
  returned: always
  type: list
  elements: str
files:
  description: Every file the reservations make.
  returned: always
  type: list
  elements: str
unplaced:
  description: Selected hostnames the naming pattern cannot place (they are in no file).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ddi.kea_dns.plugins.module_utils._module.argspec import kea_db_argspec, kea_source_argspec, naming_argspec, vault_argspec
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.edge import run
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.kea_inventory_files import write_files


def main() -> None:
    argument_spec = {
        "path": {"type": "path", "required": True},
        **kea_source_argspec("hostname_filter"),
        "dns_zone": {"type": "str"},
        **kea_db_argspec(),
        **vault_argspec(),
        **naming_argspec(),
    }
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    run(module, write_files)


if __name__ == "__main__":
    main()
