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
Every check (archive, zones, static records, knotd's access to the scratch directory) runs before the first step
that changes the server; a failure after it names the steps already done. Each restored zone ends on a serial above
both the archive's and the one served before (RFC 1982), set in one transaction with the static records, and Knot
sends a NOTIFY, so secondaries that transferred the damaged zone transfer the restored one.

knotd runs as the owner of its control socket (``knot`` with Debian's package): when this runs as root, the scratch
directories are given to that user, a backup directory it creates is 0750 with that user's group, and a directory
knotd cannot enter is refused before anything is done, naming the fix.
"""

from __future__ import annotations

import os
import shutil
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._backup import archive
from ansible_collections.ddi.kea_dns.plugins.module_utils._backup.knot_zones import (
    FULL_PREFIX,
    ZONES_ONLY,
    KnotdUser,
    hand_to_knotd,
    next_serial,
    soa_record,
    soa_serial,
    unpack,
    wait_for_records,
    with_changes,
    without_serial,
    zone_file,
)
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import RECORD_TYPES, RRset, RRsetKey, parse_name
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.knot import KnotBackend, KnotSettings, rrsets_of, zone_file_records
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.plan import DesiredRecord, desired_from_params, diff, plan_records, result
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, KeaDnsError, NotFoundError
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.edge import summarise_long_list

REPLACES = " (replaces "  # the source of a removal implied by a static record


def run_knot_zone(module: t.Any) -> dict:
    params = module.params
    zone = parse_name(params["zone"], "zone") if params.get("zone") else None
    with_records = bool(params.get("records") or params.get("static_records"))
    if params["state"] == "present" and zone is None:
        raise InvalidInputError("zone", None, "state=present needs the zone whose records to manage")
    if with_records and zone is None:
        raise InvalidInputError("zone", None, "records and static_records need the zone they belong to")
    zones = [parse_name(name, f"zones[{index}]") for index, name in enumerate(params.get("zones") or [])] or None
    if zones and params["state"] != "restore":
        raise InvalidInputError("zones", params["zones"], "only state=restore takes zones (the zones of the archive to restore)")
    backend = KnotBackend(KnotSettings(socket=params["knot_socket"], timeout=params["knot_timeout"]))
    try:
        if params["state"] == "backup":
            return _backup(module, backend, zone)
        if params["state"] == "restore":
            # zone names the zone of the records; alone, it narrows the restore to that zone, as zones: [zone].
            return _restore(module, backend, zones or ([zone] if zone and not with_records else None), zone if with_records else None)
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


def _merge(module: t.Any, backend: KnotBackend, zone: str, current: dict[RRsetKey, RRset] | None, soa: str | None = None) -> dict:
    """Plan and apply records + static records in one transaction; ``current`` replaces reading the server; ``soa``
    is set in the same transaction (a restore's new serial)."""
    params = module.params
    desired = desired_records(params, backend, zone)
    if current is None:
        current = backend.get(zone, [item.key for item in desired]) if desired else {}
    changes = plan_records(current, desired, "replace")[0]
    changed = {change.key for change in changes}
    unchanged = sum(1 for item in desired if item.key not in changed and REPLACES not in item.source)
    if (changes or soa) and not module.check_mode:
        backend.apply(zone, changes, soa=soa)
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
    knotd = KnotdUser.of(backend.settings.socket)
    group = knotd.gid if knotd.uid and os.geteuid() == 0 else None  # only root may hand a directory to knotd's group
    directory = archive.backup_dir(params.get("backup_dir"), module.check_mode, group=group)
    if zone:
        _require_zone(backend, zone)
    zones = [zone] if zone else backend.zones()
    when = archive.stamp()
    full = archive.timestamped_path(directory, FULL_PREFIX, name, when)
    stable = os.path.join(directory, ZONES_ONLY)
    outcome: dict = {"changed": True, "archive": full, "zones_archive": stable, "zones": zones, "removed": []}
    if module.check_mode:
        return outcome
    with archive.scratch(directory) as work:
        hand_to_knotd(work, knotd)
        knotd.check(work, "backup_dir", directory)
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


def _restore(module: t.Any, backend: KnotBackend, zones: list[str] | None, static_zone: str | None) -> dict:
    """Every check first (archive, zones, static records, knotd's access), then the restore of the zones that differ,
    each ending on a serial above every serial served before, with the static records merged in the same transaction."""
    params = module.params
    path = params.get("archive")
    if not path:
        raise InvalidInputError("archive", path, "state=restore needs the archive to restore")
    server_zones = backend.zones()
    with archive.scratch(os.path.dirname(os.path.abspath(path))) as work:
        knot_dir, manifest = unpack(path, os.path.join(work, "knot"), params["archive_format"] == "plain")
        in_archive = sorted(manifest["zones"])
        outside = [z for z in zones or () if z not in in_archive]
        if outside:
            raise NotFoundError(f"zone {', '.join(outside)} is not in the archive {path} (it holds {', '.join(in_archive)}); nothing was changed")
        zones = zones or in_archive
        missing = [z for z in zones + ([static_zone] if static_zone else []) if z not in server_zones]
        if missing:
            raise NotFoundError(f"zone {', '.join(missing)} from the archive does not exist on the {backend.where}; nothing was changed")
        backed_up = {z: zone_file(path, knot_dir, z) for z in zones}
        found = {z: backend.zone_records(z) for z in zones}
        # The end state of each zone: the archive's records, with the static records merged on top.
        desired = desired_records(params, backend, static_zone) if static_zone else []
        static_changes = plan_records(rrsets_of(static_zone, backed_up[static_zone]), desired)[0] if static_zone in backed_up else []
        end_state = {z: with_changes(backed_up[z], static_changes if z == static_zone else []) for z in zones}
        restore = [z for z in zones if without_serial(end_state[z]) != without_serial(found[z])]
        serials = {z: next_serial(soa_serial(found[z]), soa_serial(backed_up[z])) for z in restore}
        merged = result([], 0)
        if restore and not module.check_mode:
            knotd = KnotdUser.of(backend.settings.socket)
            hand_to_knotd(work, knotd)
            knotd.check(knot_dir, "archive", path)
            done: list[str] = []
            try:
                for name in restore:
                    expired = backend.serial(name) is None
                    backend.restore(knot_dir, name, done.append)
                    wait_for_records(backend, name, backed_up[name], f"zone-restore from {path}", expired, done.append)
                for name in restore:  # the new serial (and the static records) in one transaction per zone
                    soa = soa_record(backed_up[name], serials[name])
                    if name == static_zone:
                        merged = _merge(module, backend, name, rrsets_of(name, backed_up[name]), soa=soa)
                    else:
                        done.append(f"serial of {name} set to {serials[name]}")
                        backend.apply(name, [], soa=soa)
                        backend.flush(name)
                    backend.notify(name)
            except KeaDnsError as exc:
                raise KeaDnsError(f"{exc}; the restore had already changed the server: {'; '.join(done)}") from None
        if static_zone and (static_zone not in restore or module.check_mode):
            current = rrsets_of(static_zone, backed_up[static_zone]) if static_zone in restore else None
            merged = _merge(module, backend, static_zone, current)
    outcome = dict(merged, changed=bool(restore) or merged["changed"], restored=restore, zones=zones, manifest=manifest, serials=serials)
    if module._diff:
        restore_diff = {"before": {z: found[z] for z in restore}, "after": {z: backed_up[z] for z in restore}}
        outcome["diff"] = [restore_diff, merged.get("diff") or diff([])]
    return outcome
