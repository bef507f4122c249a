# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: what the knot_zone module runs.

``state=present``: ``records`` (present or absent) and ``static_records`` (always present, and they win: an RRset
they name holds exactly their values, and a CNAME they set replaces the other records of its name, or the other way
round) become one zone transaction, planned with the same code as dns_record (``_dns/plan.py``).

``state=backup``: Knot's zone-backup into a scratch directory, archived as ``knot-zones-<name>-<UTC stamp>.tar.gz``
(everything Knot wrote) and ``zones.tar.gz`` (zone files and label only), each with a sha256 manifest.

``state=restore``: the archive is unpacked and verified, each zone's records are compared with the server's, only
zones that differ are restored with Knot's zone-restore and then compared again record by record; static records
are planned against the archive's records, so check mode and diff show the end state before anything is done.
"""

from __future__ import annotations

import os
import shutil
import time
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils import _archive as archive
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import RECORD_TYPES, Change, RRset, RRsetKey, parse_name, to_presentation
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.knot import (
    KnotBackend,
    KnotSettings,
    canonical,
    rrsets_of,
    zone_file_records,
)
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.plan import DesiredRecord, desired_from_params, diff, plan_records, result
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, KeaDnsError, NotFoundError
from ansible_collections.ddi.kea_dns.plugins.module_utils._module import summarise_long_list

FULL_PREFIX = "knot-zones"
ZONES_ONLY = "zones.tar.gz"
LABEL = "knot_backup.label"
REPLACES = " (replaces "  # the source of a removal implied by a static record


def run_knot_zone(module: t.Any) -> dict:
    params = module.params
    zone = parse_name(params["zone"], "zone") if params.get("zone") else None
    if params["state"] == "present" and zone is None:
        raise InvalidInputError("zone", None, "state=present needs the zone whose records to manage")
    if (params.get("records") or params.get("static_records")) and zone is None:
        raise InvalidInputError("zone", None, "records and static_records need the zone they belong to")
    backend = KnotBackend(KnotSettings(socket=params["knot_socket"], timeout=params["knot_timeout"]))
    try:
        if params["state"] == "backup":
            return _backup(module, backend, zone)
        if params["state"] == "restore":
            return _restore(module, backend, zone)
        _require_zone(backend, zone)  # type: ignore[arg-type]
        return _merge(module, backend, zone, None)  # type: ignore[arg-type]
    finally:
        backend.close()


def _require_zone(backend: KnotBackend, zone: str) -> None:
    if zone not in backend.zones():
        raise NotFoundError(f"zone {zone} does not exist on the {backend.where}")


def desired_records(params: t.Mapping, backend: KnotBackend, zone: str) -> list[DesiredRecord]:
    """``records`` and ``static_records`` as one list of RRsets to ensure; static records win."""
    defaults = {"zone": zone, "ttl": params.get("ttl"), "type": "A"}
    static: list[DesiredRecord] = []
    for index, item in enumerate(params.get("static_records") or []):
        source = f"static_records[{index}]"
        if not isinstance(item, dict):
            raise InvalidInputError(source, item, "expected a dictionary with name, type, value or values and ttl")
        if item.get("state") not in (None, "present"):
            raise InvalidInputError(f"{source}.state", item["state"], "static records are always present; remove records with records and state=absent")
        static.extend(_in_zone(desired_from_params(item, backend, source, defaults), zone))
    records: list[DesiredRecord] = []
    for index, item in enumerate(params.get("records") or []):
        if not isinstance(item, dict):
            raise InvalidInputError(f"records[{index}]", item, "expected a dictionary with name, type, value or values, ttl and state")
        records.extend(_in_zone(desired_from_params(item, backend, f"records[{index}]", defaults), zone))
    by_key: dict[RRsetKey, DesiredRecord] = {}
    for item in static:
        if item.key in by_key:
            raise InvalidInputError(item.source, item.key.label(), f"the same RRset is also given as {by_key[item.key].source}")
        by_key[item.key] = item
    # The static records win over what they conflict with: a CNAME owns its name alone.
    implied: dict[RRsetKey, DesiredRecord] = {}
    for item in static:
        others = [rtype for rtype in RECORD_TYPES if rtype != "CNAME"] if item.key.type == "CNAME" else ["CNAME"]
        for rtype in others:
            key = RRsetKey(item.key.name, rtype)
            if key in by_key:
                raise InvalidInputError(item.source, item.key.label(), f"a CNAME cannot share its name with other records ({by_key[key].source})")
            implied.setdefault(key, DesiredRecord(zone, key, (), present=False, source=f"{item.source}{REPLACES}{rtype})"))
    kept = [item for item in records if item.key not in by_key and item.key not in implied]
    return kept + static + list(implied.values())


def _in_zone(items: list[DesiredRecord], zone: str) -> list[DesiredRecord]:
    for item in items:
        if item.zone != zone:
            raise InvalidInputError(item.source, item.key.name, f"not in zone {zone}; one knot_zone task manages one zone")
    return items


def _merge(module: t.Any, backend: KnotBackend, zone: str, current: dict[RRsetKey, RRset] | None) -> dict:
    """Plan and apply records + static records in one transaction; ``current`` replaces reading the server."""
    params = module.params
    desired = desired_records(params, backend, zone)
    if current is None:
        current = backend.get(zone, [item.key for item in desired]) if desired else {}
    changes = plan_records(current, desired, "replace")[0]
    changed = {change.key for change in changes}
    unchanged = sum(1 for item in desired if item.key not in changed and REPLACES not in item.source)
    if changes and not module.check_mode:
        backend.apply(zone, changes)
        if params["flush"]:
            backend.flush(zone)
    outcome = result(changes, unchanged)
    if module._diff:
        outcome["diff"] = diff(changes)
    summarise_long_list(outcome, params, "records")
    return outcome


def _backup(module: t.Any, backend: KnotBackend, zone: str | None) -> dict:
    params = module.params
    name = archive.backup_name(params.get("name"))
    directory = archive.backup_dir(params.get("backup_dir"), module.check_mode)
    zones = [zone] if zone else backend.zones()
    if zone:
        _require_zone(backend, zone)
    when = archive.stamp()
    full = archive.timestamped_path(directory, FULL_PREFIX, name, when)
    stable = os.path.join(directory, ZONES_ONLY)
    outcome: dict = {"changed": True, "archive": full, "zones_archive": stable, "zones": zones, "removed": []}
    if module.check_mode:
        return outcome
    with archive.scratch(directory) as work:
        hand_to_knotd(work, backend.settings.socket)
        knot_dir = os.path.join(work, "knot")
        backend.backup(knot_dir, zone)
        files = sorted(f for f in os.listdir(os.path.join(knot_dir, "zonefiles")) if f.endswith(".zone"))
        counts = {f[: -len(".zone")]: len(zone_file_records(os.path.join(knot_dir, "zonefiles", f), f[: -len(".zone")])) for f in files}
        manifest = {"kind": FULL_PREFIX, "name": name, "created": when, "zones": counts,
                    "parts": sorted(p for p in os.listdir(knot_dir) if os.path.isdir(os.path.join(knot_dir, p)))}
        outcome["manifest"] = archive.write(full, knot_dir, manifest)
        for part in manifest["parts"]:
            if part != "zonefiles":
                shutil.rmtree(os.path.join(knot_dir, part))
        archive.write(stable, knot_dir, dict(manifest, parts=["zonefiles"]))
    outcome["removed"] = archive.prune(directory, FULL_PREFIX, name, params["keep"])
    return outcome


def _restore(module: t.Any, backend: KnotBackend, zone: str | None) -> dict:
    params = module.params
    path = params.get("archive")
    if not path:
        raise InvalidInputError("archive", path, "state=restore needs the archive to restore")
    server_zones = backend.zones()
    with archive.scratch(os.path.dirname(os.path.abspath(path))) as work:
        knot_dir = os.path.join(work, "knot")
        manifest = archive.unpack(path, knot_dir, kind=FULL_PREFIX)
        in_archive = sorted(manifest.get("zones") or {})
        if not os.path.isfile(os.path.join(knot_dir, LABEL)) or not in_archive:
            raise archive.ArchiveError(path, f"it holds no Knot backup ({LABEL} and zonefiles/)")
        if zone is not None and zone not in in_archive:
            raise NotFoundError(f"zone {zone} is not in the archive {path} (it holds {', '.join(in_archive)}); nothing was changed")
        zones = [zone] if zone else in_archive
        missing = [z for z in zones if z not in server_zones]
        if missing:
            raise NotFoundError(f"zone {', '.join(missing)} from the archive does not exist on the {backend.where}; nothing was changed")
        backed_up = {z: zone_file_records(os.path.join(knot_dir, "zonefiles", f"{z}.zone"), z) for z in zones}
        found = {z: backend.zone_records(z) for z in zones}
        # The end state of each zone: the archive's records with the static records merged on top.
        static_zone = zone if params.get("records") or params.get("static_records") else None
        static_changes = plan_records(rrsets_of(zone, backed_up[zone]), desired_records(params, backend, zone))[0] if static_zone else []
        end_state = {z: _with_changes(backed_up[z], static_changes if z == static_zone else []) for z in zones}
        restore = [z for z in zones if _without_serial(end_state[z]) != _without_serial(found[z])]
        if not module.check_mode and restore:
            hand_to_knotd(work, backend.settings.socket)
            for name in restore:
                backend.restore(knot_dir, name)
                _wait_for_records(backend, name, backed_up[name], f"zone-restore from {path}")
        if static_zone:
            current = rrsets_of(static_zone, backed_up[static_zone]) if static_zone in restore else None
            merged = _merge(module, backend, static_zone, current)
        else:
            merged = result([], 0)
    outcome = dict(merged, changed=bool(restore) or merged["changed"], restored=restore, zones=zones, manifest=manifest)
    if module._diff:
        restore_diff = {"before": {z: found[z] for z in restore}, "after": {z: backed_up[z] for z in restore}}
        outcome["diff"] = [restore_diff, merged.get("diff") or diff([])]
    return outcome


def _wait_for_records(backend: KnotBackend, zone: str, wanted: list[str], what: str) -> None:
    """Knot answers zone-restore before it has loaded the restored zone; wait until it serves exactly ``wanted``."""
    deadline = time.monotonic() + backend.settings.timeout
    while (found := _records_while_loading(backend, zone)) != wanted:
        if time.monotonic() > deadline:
            raise KeaDnsError(f"zone {zone} does not hold the archive's records {backend.settings.timeout:g} s after {what} "
                              f"({len(found)} records, the archive has {len(wanted)})")
        time.sleep(0.05)


def _records_while_loading(backend: KnotBackend, zone: str) -> list[str]:
    try:
        return backend.zone_records(zone)
    except NotFoundError:
        raise
    except KeaDnsError:  # the zone has no contents while Knot loads it
        return []


def _with_changes(lines: list[str], changes: list[Change]) -> list[str]:
    """Canonical record lines with RRset changes applied."""
    present = set(lines)
    for change in changes:
        for rrset, apply in ((change.before, present.discard), (change.after, present.add)):
            for value in rrset.values if rrset else ():
                apply(canonical(rrset.key.name, rrset.ttl, rrset.key.type, to_presentation(rrset.key.type, value)))  # type: ignore[union-attr]
    return sorted(present)


def _without_serial(lines: list[str]) -> list[str]:
    """Record lines with the SOA serial masked: Knot raises it with every change, so it is not compared."""
    masked = []
    for line in lines:
        owner, ttl, rtype, data = line.split(" ", 3)
        if rtype == "SOA":
            fields = data.split()
            data = " ".join(fields[:2] + ["*"] + fields[3:])
        masked.append(f"{owner} {ttl} {rtype} {data}")
    return sorted(masked)


def hand_to_knotd(path: str, control_socket: str) -> None:
    """Let knotd, which may run as another user (``knot``), write and read ``path``: when this runs as root, the
    directory tree is given to the owner of the control socket."""
    if os.geteuid() != 0:
        return
    owner = os.stat(control_socket)
    for root, dirs, files in os.walk(path):
        for name in [root] + [os.path.join(root, d) for d in dirs] + [os.path.join(root, f) for f in files]:
            os.chown(name, owner.st_uid, owner.st_gid)
