#!/usr/bin/python
# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: knot_zone
short_description: Manage a Knot DNS zone through its control socket, merge static records, back zones up and restore them
version_added: 0.1.0
description:
  - With O(state=present), makes the records of one zone hold O(records) and O(static_records) in one Knot zone
    transaction (zone-begin, zone-set/zone-unset, zone-commit). Any error aborts the transaction; none is left open
    and nothing is half-applied. O(flush=true) then writes the zone file.
  - O(static_records) follow the merge of seed 003 (static records from configuration set on top of whatever the zone
    holds) and win on conflict. An RRset they name holds exactly their values. A CNAME among them replaces the other
    records of its name, and an A, AAAA, PTR or TXT among them replaces a CNAME of its name. Records the zone holds
    under other names are left alone.
  - With O(state=backup), runs Knot's own zone-backup (zone files, journal, timers, keys, catalog) of O(zone), or of
    every zone when O(zone) is left out, and writes two archives into O(backup_dir), each with a C(manifest.json) of
    sha256 sums. C(knot-zones-<name>-<UTC timestamp>.tar.gz) holds the full backup, and the stable C(zones.tar.gz)
    holds the zone files only, for a restore hook or init container. Knot writes its backup into a scratch directory
    inside O(backup_dir), so the Knot server must run on the host the task runs on.
  - O(archive) can be a C(knot-zones-*.tar.gz) or a C(zones.tar.gz) this module wrote.
  - With O(state=restore), verifies O(archive) against its manifest before anything is touched, compares each zone of
    the archive (or only O(zones)) with the server record by record, and restores with Knot's zone-restore only the
    zones that differ. It then checks that each restored zone holds exactly the archive's records. O(static_records)
    (and O(records)) of O(zone) given in the same task are merged on top, so every damaged zone is restored and the
    static records end up on top of the restored zone. A zone that has no contents, for example after
    C(knotc zone-purge), is loaded by a server reload; Knot 3.2 loads it no other way.
  - Each restored zone ends on an SOA serial above both the archive's serial and the serial the server served before
    the restore (RFC 1982 arithmetic). The serial is set in the same transaction as the static records, and a NOTIFY
    goes to the remotes of the zone's C(notify) setting, so a secondary that transferred the damaged zone transfers the
    restored one.
  - Every check that can fail runs before the first step that changes the server. These are the archive (manifest,
    sha256, gzip trailer), the zones, the static records, and whether knotd's user can use the scratch directory. A
    failure after that point fails the task and names the steps already done, for example
    C(purged the journal of site.test; zone-restore of site.test).
  - Check mode reports what would change, and diff shows the records before and after. A re-run with the same input
    reports no change.
author:
  - ddi.kea_dns maintainers (@ddi)
extends_documentation_fragment:
  - ddi.kea_dns.dns.KNOT
  - ddi.kea_dns.archive
  - ddi.kea_dns.attributes
  - ddi.kea_dns.attributes.ACTIONGROUP_KNOT
options:
  zone:
    description:
      - The zone, for example V(site.test).
      - Required with O(state=present) and with O(records) or O(static_records).
      - With O(state=backup), the one zone to back up; left out means every zone of the server.
      - With O(state=restore), the zone of O(records) and O(static_records). Given without them, it narrows the
        restore to that zone, as O(zones=[zone]). Static records do not narrow the restore; every zone of the
        archive that differs is restored.
    type: str
  zones:
    description:
      - With O(state=restore), only these zones of the archive are compared and restored. Left out, every zone of
        the archive.
    type: list
    elements: str
  state:
    description:
      - V(present) manages O(records) and O(static_records).
      - V(backup) writes archives into O(backup_dir); V(restore) restores O(archive).
    type: str
    default: present
    choices: [present, backup, restore]
  records:
    description:
      - RRsets to make present or absent. Each item is a dictionary with the keys C(name) (relative to O(zone) or
        absolute), C(type) (default V(A)), C(value) or C(values), C(ttl) (default O(ttl)) and C(state) (V(present), the default, or V(absent)).
      - With C(state=absent), the listed values are removed, or the whole RRset when no value is listed.
    type: list
    elements: dict
  static_records:
    description:
      - RRsets from configuration, always present and winning on conflict (see the description). Each item is a
        dictionary with the keys C(name), C(type) (default V(A)), C(value) or C(values), and C(ttl) (default O(ttl)).
      - Every item is validated before the transaction starts; an invalid one fails the task naming its index, field
        and value, and nothing is changed.
      - When an RRset is in both O(records) and O(static_records), the static record wins.
    type: list
    elements: dict
  ttl:
    description:
      - TTL of the items of O(records) and O(static_records) that do not set one.
    type: int
    default: 600
  flush:
    description:
      - After a committed change, write the zone to its zone file and wait until it is written (Knot's zone-flush,
        forced, so that it also works when C(zonefile-sync) is V(-1)).
    type: bool
    default: true
  knot_timeout:
    description:
      - Seconds to wait for each answer of the control socket (a backup or restore of large zones takes longer).
    type: int
    default: 60
notes:
  - The task runs on the Knot host (or in its pod, see C(playbooks/backup.yml)), as root or as the user knotd runs as.
    knotd's user is the owner of the control socket (C(knot) with Debian's package). When the task runs as root, the
    scratch directories are given to that user. A O(backup_dir) the module creates gets mode C(0750) and that user's
    group. A directory knotd cannot enter (for example one with mode C(0700), owned by root) is refused before
    anything is done, and the message names the fix.
  - The SOA serial is not compared when deciding whether a zone differs from the archive; Knot raises it with every change.
  - Record types of O(records) and O(static_records) are A, AAAA, PTR, CNAME and TXT. Backup and restore cover every type.
requirements:
  - dnspython (to compare zones with backups)
seealso:
  - module: ddi.kea_dns.dns_record
  - module: ddi.kea_dns.lease_backup
"""

EXAMPLES = r"""
- name: Merge the static records of the configuration into site.test and write the zone file
  ddi.kea_dns.knot_zone:
    knot_socket: /run/knot/knot.sock
    zone: site.test
    static_records:
      - {name: ns1, value: 10.99.0.2}
      - {name: kea, value: 10.99.0.3}
      - {name: dhcp, type: CNAME, value: kea.site.test}

- name: BMC records present and absent in one transaction
  ddi.kea_dns.knot_zone:
    zone: site.test
    records:
      - {name: us3-cab10-ru20-idrac, value: 10.99.0.50}
      - {name: us3-cab10-ru21-idrac, state: absent}

- name: Back up every zone (knot-zones-unified-dns-dhcp-<UTC timestamp>.tar.gz and zones.tar.gz), keep 7
  ddi.kea_dns.knot_zone:
    state: backup
    backup_dir: /var/backups/knot
    name: unified-dns-dhcp
    keep: 7

- name: Restore every zone that differs from the zone-files archive, then merge the static records of site.test on top
  ddi.kea_dns.knot_zone:
    state: restore
    archive: /var/backups/knot/zones.tar.gz
    zone: site.test
    static_records:
      - {name: ns1, value: 10.99.0.2}

- name: Import an archive of seed 003's backup-knot-zones.ts (a plain tar without manifest)
  ddi.kea_dns.knot_zone:
    state: restore
    archive: /var/backups/knot/zones.tar.gz
    archive_format: plain
"""

RETURN = r"""
changes:
  description: Every RRset the task created, updated or deleted (or would, in check mode), with C(action).
  returned: always
  type: list
  elements: dict
  sample:
    - {action: create, zone: site.test, name: ns1.site.test, type: A, values: [10.99.0.2], ttl: 600, owned: false}
summary:
  description: How many RRsets were created, updated, deleted and left unchanged.
  returned: always
  type: dict
  sample: {created: 1, updated: 0, deleted: 0, unchanged: 2}
archive:
  description: The full archive written (or that would be written in check mode).
  returned: state=backup
  type: str
  sample: /var/backups/knot/knot-zones-unified-dns-dhcp-20261121T101500Z.tar.gz
zones_archive:
  description: The zone-files-only archive C(zones.tar.gz), replaced by each backup.
  returned: state=backup
  type: str
  sample: /var/backups/knot/zones.tar.gz
zones:
  description: The zones backed up, or the zones of the archive that the restore covered.
  returned: state=backup or state=restore
  type: list
  elements: str
  sample: [site.test, 99.10.in-addr.arpa]
removed:
  description: Older archives deleted to keep O(keep).
  returned: state=backup
  type: list
  elements: str
restored:
  description: The zones that differed from the archive and were restored (or would be, in check mode).
  returned: state=restore
  type: list
  elements: str
  sample: [site.test]
serials:
  description: The SOA serial each restored zone ends on (or would, in check mode), above the archive's and the one served before.
  returned: state=restore
  type: dict
  sample: {site.test: 104}
manifest:
  description: The archive's manifest (kind, name, created, zones with their record counts, parts, files with sha256).
  returned: state=restore, and state=backup outside check mode
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ddi.kea_dns.plugins.module_utils._module.argspec import archive_argspec, dns_provider_argspec
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.edge import run
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.knot_zone import run_knot_zone


def main() -> None:
    argument_spec = {
        "zone": {"type": "str"},
        "zones": {"type": "list", "elements": "str"},
        "state": {"type": "str", "default": "present", "choices": ["present", "backup", "restore"]},
        # Items are validated by the core (plugins/module_utils/_dns/plan.py), field by field with their index.
        "records": {"type": "list", "elements": "dict"},
        "static_records": {"type": "list", "elements": "dict"},
        "ttl": {"type": "int", "default": 600},
        "flush": {"type": "bool", "default": True},
        "knot_timeout": {"type": "int", "default": 60},
        **dns_provider_argspec("knot"),
        **archive_argspec(),
    }
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[("state", "backup", ["backup_dir"]), ("state", "restore", ["archive"])],
        supports_check_mode=True,
    )
    run(module, run_knot_zone)


if __name__ == "__main__":
    main()
