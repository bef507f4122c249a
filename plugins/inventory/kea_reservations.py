# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: kea_reservations
short_description: Kea DHCPv4 and DHCPv6 reservations as an inventory grouped by site, cabinet and BMC type
version_added: 0.1.0
description:
  - Reads the DHCPv4 reservations of Kea's PostgreSQL hosts database in one query (optionally joined with the
    C(lease4) table) and makes every reservation whose hostname follows O(naming_pattern) a host.
  - The DHCPv6 reservations of a hostname add the host variables C(ipv6_addresses) and C(ipv6_address) (the first).
    A hostname with DHCPv6 reservations only is a host too, its C(ansible_host) the first IPv6 address (unless
    O(subnet_ids) is set, which names DHCPv4 subnets).
  - C(ansible_host) is the reserved IPv4 address (see O(prefer_ipv6)). Host variables are C(mac) (or C(identifier) for identifier types
    other than C(hw-address)), C(identifier_type), C(subnet_id), C(site), C(cabinet), C(rack_unit), C(bmc_type),
    C(fqdn), C(user_context) when the reservation has one, and with O(leases) C(lease_state), C(lease_last_seen)
    and C(lease_expire). Every value read from the database is marked unsafe, so it is never templated.
  - Groups are the site (C(us3)), the site-cabinet (C(us3_cab10)), a child group of the site, and the BMC type
    (C(idrac)), the groups of the listener daemon's C(<site>-<cabinet>-discovery.yml) files.
  - Hostnames the naming pattern cannot place are listed in a warning, and are hosts of O(unparsed_group) when it
    is set. With O(strict=true) they fail the inventory instead, as do errors in O(compose), O(groups) and
    O(keyed_groups).
  - The host name is the reservation's hostname, lower-cased. A hostname reserved more than once (in two subnets)
    is one host, from the reservation of the lowest subnet id; the others are listed in a warning.
  - The configuration file must be named C(*.kea_reservations.yml) or C(*.kea_reservations.yaml).
  - With O(cache=true) the hosts are cached after they are read and parsed; a change of O(subnet_ids),
    O(hostname_regex), O(naming_pattern), O(dns_zone), O(leases), O(prefer_ipv6) or of the database reads the
    database again.
    O(compose), O(groups) and O(keyed_groups) are applied on every run.
author:
  - ddi.kea_dns maintainers (@ddi)
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
  - ddi.kea_dns.kea_db
  - ddi.kea_dns.kea_db.PLUGIN
  - ddi.kea_dns.vault
  - ddi.kea_dns.vault.PLUGIN
  - ddi.kea_dns.naming
options:
  plugin:
    description: The name of this plugin; the configuration file is for it.
    type: str
    required: true
    choices: [ddi.kea_dns.kea_reservations]
  subnet_ids:
    description:
      - Only reservations in these Kea subnets (V(0) for global reservations). Filtered in the database.
      - By default every DHCPv4 reservation.
    type: list
    elements: int
  hostname_regex:
    description:
      - Only reservations whose hostname matches this PostgreSQL regular expression (POSIX ARE), case-insensitively.
        Filtered in the database, as O(ddi.kea_dns.kea_reservation_info#module:hostname_regex) does.
      - O(naming_pattern), a Python regular expression, then reads site, cabinet, rack unit and BMC type from
        the hostnames selected.
    type: str
  dns_zone:
    description:
      - DNS zone that makes short hostnames absolute in the C(fqdn) variable (V(us3-cab10-ru20-idrac) becomes
        V(us3-cab10-ru20-idrac.example.com)). Hostnames already inside the zone are kept.
      - Without it C(fqdn) is the hostname as it is reserved.
    type: str
  leases:
    description:
      - Join each reservation with the lease Kea holds for its address (table C(lease4)) and add the variables
        C(lease_state) (Kea's state name, V(default) for a current lease), C(lease_last_seen) (the client's last
        transmission) and C(lease_expire), as ISO 8601 UTC times. Hosts without a lease have none of them.
    type: bool
    default: false
  prefer_ipv6:
    description:
      - Make C(ansible_host) the first DHCPv6 address of a host that has one, instead of its IPv4 address.
    type: bool
    default: false
  unparsed_group:
    description:
      - Group for the reservations whose hostname O(naming_pattern) cannot place. Without it they are not hosts.
    type: str
  events_schema:
    description:
      - Schema of the collection's own tables (the P(ddi.kea_dns.kea_db_events#module) module and role). When it
        holds the C(dns_status) table and the login may read it, each host gets C(dns_status) (V(pending),
        V(synced), V(failed), V(skipped) or V(conflict); for a host with a DHCPv4 and a DHCPv6 reservation the more
        urgent), C(dns_synced_at) (ISO 8601 UTC time of the last successful sync) and C(dns_status_reason) (why it
        failed, was skipped or conflicts). Without the table, or without C(SELECT) on it, hosts have none of them.
    type: str
    default: kea_dns
notes:
  - The database user needs only C(SELECT) on C(hosts) (and on C(lease4) and C(lease_state) with O(leases), and on
    the C(dns_status) table of O(events_schema) for the DNS status variables).
  - Options may come from the environment (E(KEA_DB_HOST), E(KEA_DB_PASSWORD), E(VAULT_TOKEN), ...), which is how
    an AWX or AAP credential type passes them; see the collection's docs/inventory.md.
  - Errors (database unreachable, wrong credentials, an invalid regular expression, an unknown option) fail the
    source with one line naming the cause. Set E(ANSIBLE_INVENTORY_UNPARSED_FAILED=true) (as AWX does) to make
    that an error of C(ansible-inventory) and C(ansible-playbook) rather than a warning and an empty inventory.
requirements:
  - psycopg2 (C(pip install psycopg2-binary)) on the controller
  - hvac (C(pip install hvac)) on the controller, with O(use_vault)
seealso:
  - module: ddi.kea_dns.kea_reservation_info
  - plugin: ansible.builtin.constructed
    plugin_type: inventory
"""

EXAMPLES = r"""
# bmc.kea_reservations.yml: every BMC reservation, connection from KEA_DB_* environment variables
plugin: ddi.kea_dns.kea_reservations
hostname_regex: '-(idrac|ilo|bmc|xcc)[0-9]*$'
dns_zone: oob.example.com

---
# site-us3.kea_reservations.yml: two subnets, with leases, credentials from Vault (VAULT_ADDR and VAULT_TOKEN
# in the environment), the Redfish URL of every BMC, a group of the leased BMCs and one per subnet;
# cached for ten minutes
plugin: ddi.kea_dns.kea_reservations
db_host: kea-db.example.com
use_vault: true
db_vault_path: teams/core-infrastructure/server/kea_db
subnet_ids: [10, 11]
leases: true
unparsed_group: unparsed
compose:
  redfish_url: "'https://' ~ ansible_host ~ '/redfish/v1'"
groups:
  leased: lease_state is defined and lease_state == 'default'
keyed_groups:
  - key: subnet_id | string
    prefix: subnet
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ansible-inventory
cache_timeout: 600
"""

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import KeaDnsError
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.argspec import kea_db_argspec, vault_argspec
from ansible_collections.ddi.kea_dns.plugins.plugin_utils._kea_inventory import Fetcher, Populator, check_options


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "ddi.kea_dns.kea_reservations"
    # ansible-core 2.19 and later strip the template trust of every value this plugin sets; older cores get
    # wrap_var()ed values (see plugin_utils/_kea_inventory.py).
    trusted_by_default = False

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith((".kea_reservations.yml", ".kea_reservations.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        try:
            config = self._read_config_data(path)
            check_options(config, self)
            options = {name: self.get_option(name) for name in (*kea_db_argspec(), *vault_argspec(), "events_schema")}
            fetcher = Fetcher(options, self.get_option("subnet_ids"), self.get_option("hostname_regex"),
                              self.get_option("naming_pattern"), self.get_option("dns_zone"), self.get_option("leases"),
                              self.get_option("prefer_ipv6"))
            data = self._hosts(fetcher, path, cache)
            Populator(self, self.inventory, self.display).populate(data)
        except KeaDnsError as exc:
            raise AnsibleParserError(f"{self.NAME}: {exc}") from None

    def _hosts(self, fetcher: Fetcher, path: str, cache: bool) -> dict:
        """The hosts from the cache when it holds them for these options, else from the database (then cached)."""
        if not self.get_option("cache"):
            return fetcher.fetch()
        key = self.get_cache_key(path)
        if cache:
            cached = self._cache.get(key)
            if isinstance(cached, dict) and cached.get("fingerprint") == fetcher.fingerprint:
                return cached
        data = fetcher.fetch()
        self._cache[key] = data
        return data
