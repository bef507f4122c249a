# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: what the lease_backup module runs.

A backup reads the leases (``_backup/lease_files.py``, ``_backup/lease_tables.py``) into a scratch directory and archives them (``_backup/archive.py``) as
``kea-leases-<name>-<UTC stamp>.tar.gz`` and the stable ``kea-leases.tar.gz``, then applies ``keep``. Lease files lie
at the archive's root (``memfile_layout: root``), where seed 003's init container expects them. A restore unpacks
and verifies the archive first, then compares it with the target: a target that already holds exactly the
archive's leases is left alone (changed=false), a target holding other leases is refused unless ``force``.

``archive_format=plain`` also restores seed 003's plain tar of Kea's directory: its lease files are checked
(``_backup/lease_files.py`` plain_lease_files) and make the manifest the restore then works from, exactly as from a manifest.
"""

from __future__ import annotations

import os
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._backup import archive, lease_files, lease_tables
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import ConflictError, InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.db import db_settings

PREFIX = "kea-leases"
STABLE = "kea-leases.tar.gz"


def run_lease_backup(module: t.Any) -> dict:
    return _backup(module) if module.params["state"] == "backup" else _restore(module)


def _backup(module: t.Any) -> dict:
    params = module.params
    name = archive.backup_name(params.get("name"))
    directory = archive.backup_dir(params.get("backup_dir"), module.check_mode)
    when = archive.stamp()
    path = archive.timestamped_path(directory, PREFIX, name, when)
    stable = os.path.join(directory, STABLE)
    manifest: dict = {"kind": PREFIX, "name": name, "created": when, "lease_database": params["lease_database"]}
    with archive.scratch(directory if os.path.isdir(directory) else None) as work:
        if params["lease_database"] == "memfile":
            files = lease_files.copy_lease_files(params["lease_files"], work, params["lfc_wait"])
            with open(os.path.join(work, os.path.basename(params["lease_files"][0])), encoding="utf-8", errors="replace") as handle:
                header = handle.readline().strip()
            manifest.update(source={"files": files}, kea_schema_version=None, memfile_header=header, memfile_layout=lease_files.MEMFILE_LAYOUT,
                            rows={name: item["rows"] for name, item in files.items()})
        else:
            settings = db_settings(params, on_secret=module.no_log_values.add)
            dumped = lease_tables.dump_tables(settings, work)
            manifest.update(source={"database": settings.where()}, kea_schema_version=dumped["kea_schema_version"], tables=dumped["tables"],
                            rows={table: item["rows"] for table, item in dumped["tables"].items() if not item["statistics"]})
        result: dict = {"changed": True, "archive": path, "stable_archive": stable, "rows": manifest["rows"], "removed": []}
        if module.check_mode:
            return result
        result["manifest"] = archive.write(path, work, manifest)
    archive.copy(path, stable)
    result["removed"] = archive.prune(directory, PREFIX, name, params["keep"])
    return result


def _restore(module: t.Any) -> dict:
    params = module.params
    path = params["archive"]
    plain = params["archive_format"] == "plain"
    if plain and params["lease_database"] != "memfile":
        raise InvalidInputError("archive_format", "plain", "a plain archive (seed 003's backup-kea-leases.sh) holds lease files and restores only "
                                "with lease_database=memfile; PostgreSQL lease tables restore from an archive of this collection "
                                "(archive_format=manifest); nothing was changed")
    with archive.scratch() as work:
        unpacked = os.path.join(work, "archive")
        manifest = archive.unpack(path, unpacked, kind=PREFIX, plain=plain)
        skipped: dict[str, str] = {}
        if manifest["format"] == "plain":
            found, skipped = lease_files.plain_lease_files(path, unpacked, archive.file_names(manifest), params["lease_files"])
            manifest = dict(manifest, lease_database="memfile", memfile_layout=lease_files.MEMFILE_LAYOUT, source={"files": found},
                            rows={name: item["rows"] for name, item in found.items()})
        if manifest.get("lease_database") != params["lease_database"]:
            raise InvalidInputError("lease_database", params["lease_database"],
                                    f"the archive {path} holds a {manifest.get('lease_database')} backup; nothing was changed")
        result: dict = {"archive": path, "manifest": manifest, "rows": manifest["rows"]}
        if params["lease_database"] == "memfile":
            result.update(_restore_memfile(module, lease_files.lease_dir(unpacked, manifest, path), manifest), skipped=skipped)
        else:
            result.update(_restore_tables(module, work, manifest))
    return result


def _restore_memfile(module: t.Any, source: str, manifest: dict) -> dict:
    """Restore the lease files of ``source`` (the unpacked archive's directory of them) as ``manifest`` lists them."""
    params = module.params
    archived = manifest["source"]["files"]
    targets = lease_files.memfile_targets(params["lease_files"], archived)
    present = lease_files.occupied_memfiles(params["lease_files"])
    stale = sorted(p for p in present if p not in targets.values())
    identical = not stale and all(os.path.isfile(target) and archive.sha256_file(target) == archive.sha256_file(os.path.join(source, name))
                                  for name, target in targets.items())
    report = {"changed": not identical, "files": targets, "removed": stale, "replaced": present}
    if identical:
        return report
    if any(present.values()) and not params["force"]:
        held = ", ".join(f"{p} ({rows} leases)" for p, rows in present.items() if rows)
        raise ConflictError(f"the target lease files are not empty: {held}; set force=true to replace them; nothing was changed")
    if not module.check_mode:
        lease_files.write_lease_files(source, targets, stale)
    return report


def _restore_tables(module: t.Any, work: str, manifest: dict) -> dict:
    params = module.params
    settings = db_settings(params, on_secret=module.no_log_values.add)
    plan = lease_tables.load_tables(settings, os.path.join(work, "archive"), manifest, force=True, check_mode=True)
    if any(item["replaced"] for item in plan["tables"].values()):
        # The target holds leases: the same ones (same rows, same order) mean there is nothing to do.
        current = lease_tables.dump_tables(settings, os.path.join(work, "current"))["tables"]
        wanted = {item["path"]: item["sha256"] for item in manifest["files"]}
        if all(table in current and archive.sha256_file(os.path.join(work, "current", item["file"])) == wanted[item["file"]]
               for table, item in manifest["tables"].items() if not item.get("statistics")):
            return dict(plan, changed=False)
    done = lease_tables.load_tables(settings, os.path.join(work, "archive"), manifest, force=params["force"], check_mode=module.check_mode)
    return dict(done, changed=True)
