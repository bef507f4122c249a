# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backup archive options; argspec: plugins/module_utils/_module/argspec.py archive_argspec()."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  backup_dir:
    description:
      - With O(state=backup), the directory of the archives on the host the task runs on; created with mode C(0700)
        when missing.
      - Each backup writes C(<prefix>-<name>-<UTC timestamp>.tar.gz) and replaces the archive of the stable name,
        each with a C(manifest.json) of sha256 sums as its first member. Archives are written to a temporary file
        and renamed, so a reader never sees half an archive.
      - Required with O(state=backup).
    type: path
  name:
    description:
      - The C(<name>) in the archive names, for example the StatefulSet's name as in seed 003.
      - Defaults to the short host name of the host the task runs on.
    type: str
  keep:
    description:
      - With O(state=backup), how many timestamped archives of this O(name) to keep in O(backup_dir), the newest;
        older ones are deleted after the new one is written. V(0) keeps all. The stable name is not counted.
    type: int
    default: 0
  archive:
    description:
      - With O(state=restore), the archive to restore. It is unpacked into a scratch directory and every member is
        checked against the manifest (sha256 and size) before anything in place is touched; a corrupt, truncated or
        altered archive fails the task and nothing is changed.
      - The gzip stream is read to its end, so a damaged trailer (CRC or length) is refused as C(gzip -t) refuses it.
      - Required with O(state=restore).
    type: path
  archive_format:
    description:
      - With O(state=restore), what O(archive) must be.
      - V(manifest) (the default) accepts only archives of this collection, with a C(manifest.json) first.
      - V(plain) also accepts a plain C(.tar.gz) without a manifest, such as the archives of seed 003's
        C(backup-knot-zones.ts) and C(backup-kea-leases.sh). Without sha256 sums, only what a plain archive allows
        is verified before anything is touched. The gzip stream must be intact to its trailer. Members must be
        regular files or directories inside the archive, with no links. Each file must be what the module
        restores (zone files that parse, or Kea lease files with a lease file header and complete rows). An archive
        that has a manifest is still verified against it.
    type: str
    default: manifest
    choices: [manifest, plain]
"""
