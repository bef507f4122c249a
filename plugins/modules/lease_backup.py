#!/usr/bin/python
# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: lease_backup
short_description: Back up and restore ISC Kea DHCP leases (memfile lease files or the PostgreSQL lease tables), verifiably
version_added: 0.1.0
description:
  - With O(state=backup), reads Kea's leases and writes C(kea-leases-<name>-<UTC timestamp>.tar.gz) and the stable
    C(kea-leases.tar.gz) (the names of seed 003) into O(backup_dir). Each holds a C(manifest.json) with the sha256 of
    every file, the row counts, the source and the Kea schema version. O(keep) applies retention.
  - O(lease_database=memfile) copies each of O(lease_files) with the companions of Kea's lease file cleanup
    (C(.2), and C(.1) and C(.completed) while a cleanup is under way). The copy waits while C(kea-lfc) runs (its
    C(<file>.pid)) and starts again if a companion changed while it was taken. Kea only appends to the current file,
    so its copy ends at the last complete line.
  - The lease files lie at the archive's root, next to C(manifest.json), as in Kea's directory, with the mode (and,
    when the task runs as root, the owner) of the files they copy. Seed 003's init container (C(tar xzf
    /var/lib/kea/kea-leases.tar.gz -C /var/lib/kea), then remove the tar file) therefore puts them where Kea reads
    them when it starts; C(manifest.json) lands next to them and Kea ignores it. Archives written before this layout
    (lease files under C(memfile/)) still restore.
  - O(lease_database=postgresql) copies the tables C(lease4) and C(lease6) (when present) with COPY in one
    REPEATABLE READ, read-only transaction, so both come from the same snapshot.
  - With O(state=restore), the archive is verified against its manifest before anything is touched. A target that
    already holds exactly the archive's leases is left alone (C(changed=false)). A target that holds other leases is
    refused unless O(force=true). PostgreSQL tables are loaded in one transaction whose row counts are checked before
    it commits, and lease files are put in place by rename.
  - With O(archive_format=plain) (O(lease_database=memfile) only), a plain tar of Kea's directory made by seed 003's
    C(backup-kea-leases.sh) is restored too. It has no checksums, so each of its files that is a lease file of
    O(lease_files) (same file name, or the one lease file of the archive restored under the one entry's name) or a
    companion of one must be a complete Kea lease file. Its first line must be a lease file header (C(address,...)),
    and every row must end with a newline and have as many comma-separated fields as the header. Its other files
    (pid files, other files of Kea's directory) are not restored and are listed in RV(skipped). An archive with no
    lease file is refused. The restore then follows the same rules as for an archive with a manifest.
  - Check mode is a dry run. A backup reads the source and reports the archive names and row counts without writing
    them, and a restore verifies the archive and reports what it would replace.
author:
  - ddi.kea_dns maintainers (@ddi)
extends_documentation_fragment:
  - ddi.kea_dns.archive
  - ddi.kea_dns.kea_db
  - ddi.kea_dns.vault
  - ddi.kea_dns.attributes
  - ddi.kea_dns.attributes.ACTIONGROUP_KEA
options:
  state:
    description:
      - V(backup) writes archives into O(backup_dir); V(restore) restores O(archive).
    type: str
    default: backup
    choices: [backup, restore]
  lease_database:
    description:
      - Where Kea keeps its leases, as C(lease-database.type) in the Kea configuration. The O(db_host) group of
        options applies to V(postgresql), O(lease_files) to V(memfile).
    type: str
    required: true
    choices: [memfile, postgresql]
  lease_files:
    description:
      - With O(lease_database=memfile), Kea's lease files (C(lease-database.name)), for example the DHCPv4 and the DHCPv6 file.
      - On restore, each archived file goes next to the entry of the same file name. With one file on both sides, the
        archived file is restored under the given name.
      - With O(archive_format=plain), only the archive's files at its root named as an entry, or as an entry's
        companion (C(.2), C(.1), C(.completed)), are restored. When no file has such a name and O(lease_files) has
        one entry, the archive's files that start with a lease file header are restored under the entry's name, if
        they all belong to one lease file.
    type: list
    elements: path
    default: [/var/lib/kea/kea-leases4.csv]
  force:
    description:
      - With O(state=restore), replace the leases of a target that holds other leases. The PostgreSQL tables are
        emptied in the same transaction that loads the archive, and lease-file companions that the archive lacks are
        removed so that Kea does not load them with the restored files.
    type: bool
    default: false
  lfc_wait:
    description:
      - With O(lease_database=memfile), how many seconds to wait for a running lease file cleanup (C(kea-lfc)) to
        finish before the task fails.
    type: int
    default: 30
notes:
  - Restore lease files while Kea is stopped (on a plain host, stop the service around the task; in a pod, restore
    before the pod is restarted, as C(playbooks/restore.yml) does). Kea reads its lease files only when it starts.
  - Restore the PostgreSQL tables into a database whose Kea schema holds the archive's columns (the same or a later
    schema version, C(kea-admin db-upgrade)). The statistics tables of Kea's lease triggers are restored from the same
    snapshot, or counted by the triggers (see RV(statistics)). Either way they match the restored leases.
  - A PostgreSQL restore holds an exclusive lock on the lease tables until it commits (a few seconds for 100,000 leases).
  - In a Kubernetes pod, run the task through the C(kubernetes.core.kubectl) connection; see C(playbooks/backup.yml).
seealso:
  - module: ddi.kea_dns.knot_zone
"""

EXAMPLES = r"""
- name: Back up the PostgreSQL lease tables (password from KEA_DB_PASSWORD), keep the last 14
  ddi.kea_dns.lease_backup:
    lease_database: postgresql
    db_host: 127.0.0.1
    db_name: kea
    db_user: kea
    backup_dir: /var/backups/kea
    name: dhcp1
    keep: 14

- name: Back up Kea's memfile leases (DHCPv4 and DHCPv6) as seed 003's backup-kea-leases.sh did
  ddi.kea_dns.lease_backup:
    lease_database: memfile
    lease_files:
      - /var/lib/kea/kea-leases4.csv
      - /var/lib/kea/kea-leases6.csv
    backup_dir: /var/backups/kea
    name: unified-dns-dhcp

- name: Restore the lease tables into a fresh database (dry run first with --check)
  ddi.kea_dns.lease_backup:
    state: restore
    lease_database: postgresql
    db_host: 127.0.0.1
    db_name: kea_restored
    archive: /var/backups/kea/kea-leases.tar.gz

- name: Import a kea-leases.tar.gz made by seed 003's backup-kea-leases.sh (Kea stopped), reporting the files it skips
  ddi.kea_dns.lease_backup:
    state: restore
    lease_database: memfile
    archive_format: plain
    archive: /var/backups/seed-003/kea-leases.tar.gz
    lease_files:
      - /var/lib/kea/kea-leases4.csv
    force: true
"""

RETURN = r"""
archive:
  description: The timestamped archive written (or that would be written in check mode), or the archive restored.
  returned: always
  type: str
  sample: /var/backups/kea/kea-leases-dhcp1-20261121T101500Z.tar.gz
stable_archive:
  description: The stable C(kea-leases.tar.gz), a copy of the newest archive.
  returned: state=backup
  type: str
  sample: /var/backups/kea/kea-leases.tar.gz
rows:
  description: Leases per table (PostgreSQL) or per lease file (memfile, lines after the header) in the archive.
  returned: always
  type: dict
  sample: {lease4: 100000, lease6: 0}
removed:
  description:
    - With O(state=backup), the older archives deleted to keep O(keep).
    - With O(state=restore) and O(lease_database=memfile), the lease-file companions removed because the archive lacks them.
  returned: state=backup, or state=restore with lease_database=memfile
  type: list
  elements: str
manifest:
  description:
    - The archive's manifest (kind, name, created, lease_database, source, kea_schema_version, rows, files with
      sha256). For memfile it also holds C(memfile_header) and C(memfile_layout) (V(root); archives without it hold
      their lease files under C(memfile/)).
    - For a plain archive (O(archive_format=plain)), the manifest made from its members, with C(format=plain), the
      sha256 of each member as unpacked, and C(source) and C(rows) of the lease files found.
  returned: state=restore, and state=backup outside check mode
  type: dict
tables:
  description: Per table, the rows of the archive (C(rows)) and the rows the target held and the restore replaced (C(replaced)).
  returned: state=restore with lease_database=postgresql
  type: dict
  sample: {lease4: {rows: 100000, replaced: 0}}
statistics:
  description:
    - How the lease statistics tables of Kea's triggers (C(lease4_stat), C(lease4_stat_by_client_class), ...) were made.
    - V(snapshot) means the user owns the lease tables and the target has the archive's statistics tables. The
      triggers were then disabled for the load (inside its transaction) and the statistics tables were loaded from
      the archive's snapshot, which is far faster for large tables.
    - V(triggers) means Kea's triggers counted every restored row.
  returned: state=restore with lease_database=postgresql
  type: str
  sample: snapshot
files:
  description: Archived file name -> the path it was (or would be) restored to.
  returned: state=restore with lease_database=memfile
  type: dict
  sample: {kea-leases4.csv: /var/lib/kea/kea-leases4.csv, kea-leases4.csv.2: /var/lib/kea/kea-leases4.csv.2}
replaced:
  description: The lease files the target held before the restore, with their lease lines.
  returned: state=restore with lease_database=memfile
  type: dict
skipped:
  description:
    - The members of a plain archive that were not restored, each with the reason (not a lease file, a lease file
      that no entry of O(lease_files) names, or not at the archive's root). Empty for an archive with a manifest.
  returned: state=restore with lease_database=memfile
  type: dict
  sample: {kea-dhcp4.kea-dhcp4.pid: not a lease file, kea-leases6.csv: a lease file that no entry of lease_files names}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ddi.kea_dns.plugins.module_utils._module.argspec import archive_argspec, kea_db_argspec, vault_argspec
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.edge import run
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.lease_backup import run_lease_backup


def main() -> None:
    argument_spec = {
        "state": {"type": "str", "default": "backup", "choices": ["backup", "restore"]},
        "lease_database": {"type": "str", "required": True, "choices": ["memfile", "postgresql"]},
        "lease_files": {"type": "list", "elements": "path", "default": ["/var/lib/kea/kea-leases4.csv"]},
        "force": {"type": "bool", "default": False},
        "lfc_wait": {"type": "int", "default": 30},
        **archive_argspec(),
        **kea_db_argspec(),
        **vault_argspec(),
    }
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[("state", "backup", ["backup_dir"]), ("state", "restore", ["archive"])],
        supports_check_mode=True,
    )
    run(module, run_lease_backup)


if __name__ == "__main__":
    main()
