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

import grp
import os
import pwd
import shutil
import stat
import time
import typing as t
from dataclasses import dataclass

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
RELOAD_AFTER = 2.0  # seconds a restored zone may stay without contents before the server is reloaded


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
        knot_dir, manifest = _unpack(path, os.path.join(work, "knot"), params["archive_format"] == "plain")
        in_archive = sorted(manifest["zones"])
        outside = [z for z in zones or () if z not in in_archive]
        if outside:
            raise NotFoundError(f"zone {', '.join(outside)} is not in the archive {path} (it holds {', '.join(in_archive)}); nothing was changed")
        zones = zones or in_archive
        missing = [z for z in zones + ([static_zone] if static_zone else []) if z not in server_zones]
        if missing:
            raise NotFoundError(f"zone {', '.join(missing)} from the archive does not exist on the {backend.where}; nothing was changed")
        backed_up = {z: _zone_file(path, knot_dir, z) for z in zones}
        found = {z: backend.zone_records(z) for z in zones}
        # The end state of each zone: the archive's records, with the static records merged on top.
        desired = desired_records(params, backend, static_zone) if static_zone else []
        static_changes = plan_records(rrsets_of(static_zone, backed_up[static_zone]), desired)[0] if static_zone in backed_up else []
        end_state = {z: _with_changes(backed_up[z], static_changes if z == static_zone else []) for z in zones}
        restore = [z for z in zones if _without_serial(end_state[z]) != _without_serial(found[z])]
        serials = {z: next_serial(_serial(found[z]), _serial(backed_up[z])) for z in restore}
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
                    _wait_for_records(backend, name, backed_up[name], f"zone-restore from {path}", expired, done.append)
                for name in restore:  # the new serial (and the static records) in one transaction per zone
                    soa = _soa(backed_up[name], serials[name])
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


def _unpack(path: str, knot_dir: str, plain: bool) -> tuple[str, dict]:
    """The archive verified and unpacked: (the directory of Knot's backup, the manifest). A plain archive (seed 003's
    knotc zone-backup, tarred) has its backup label at its root or in one directory, and its zone files must parse."""
    manifest = archive.unpack(path, knot_dir, kind=FULL_PREFIX, plain=plain)
    if manifest["format"] == "plain":
        tops = [os.path.join(knot_dir, d) for d in os.listdir(knot_dir) if os.path.isdir(os.path.join(knot_dir, d))]
        found = [d for d in [knot_dir, *tops] if os.path.isfile(os.path.join(d, LABEL)) and os.path.isdir(os.path.join(d, "zonefiles"))]
        if not found:
            raise archive.ArchiveError(path, f"it holds no Knot zone-backup ({LABEL} and zonefiles/, at its root or in one directory)")
        knot_dir = found[0]
        names = sorted(f[: -len(".zone")] for f in os.listdir(os.path.join(knot_dir, "zonefiles")) if f.endswith(".zone"))
        manifest = dict(manifest, kind=FULL_PREFIX, zones={z: len(_zone_file(path, knot_dir, z)) for z in names})
    if not os.path.isfile(os.path.join(knot_dir, LABEL)) or not manifest.get("zones"):
        raise archive.ArchiveError(path, f"it holds no Knot backup ({LABEL} and zonefiles/)")
    return knot_dir, manifest


def _zone_file(path: str, knot_dir: str, zone: str) -> list[str]:
    try:
        return zone_file_records(os.path.join(knot_dir, "zonefiles", f"{zone}.zone"), zone)
    except KeaDnsError as exc:
        raise archive.ArchiveError(path, str(exc)) from None


def _serial(lines: list[str]) -> int:
    for line in lines:
        _owner, _ttl, rtype, data = line.split(" ", 3)
        if rtype == "SOA":
            return int(data.split()[2])
    return 0  # no contents (a purged or expired zone)


def next_serial(*serials: int) -> int:
    """A serial above all of ``serials`` in RFC 1982 arithmetic (the one secondaries use), never 0."""
    highest = serials[0]
    for serial in serials[1:]:
        if 0 < (serial - highest) % 2**32 < 2**31:
            highest = serial
    return (highest + 1) % 2**32 or 1


def _soa(lines: list[str], serial: int) -> str:
    """The ``<ttl> <rdata>`` of the SOA among ``lines`` with ``serial``."""
    for line in lines:
        _owner, ttl, rtype, data = line.split(" ", 3)
        if rtype == "SOA":
            fields = data.split()
            return f"{ttl} {' '.join(fields[:2] + [str(serial)] + fields[3:])}"
    raise KeaDnsError("the archive's zone has no SOA record")


def _wait_for_records(backend: KnotBackend, zone: str, wanted: list[str], what: str, expired: bool, step: t.Callable[[str], None]) -> None:
    """Knot answers zone-restore before it has loaded the restored zone; wait until it serves exactly ``wanted``.
    Knot 3.2 does not load the zone file of a zone that has no contents (a zone-purge expires it): for such a zone,
    or one still empty RELOAD_AFTER seconds after its restore, the server is reloaded (once)."""
    started = time.monotonic()
    deadline = started + backend.settings.timeout
    reloaded = False
    while (found := _records_while_loading(backend, zone)) != wanted:
        if not reloaded and not found and (expired or time.monotonic() - started > RELOAD_AFTER):
            step(f"server reloaded (zone {zone} had no contents after its restore)")
            backend.reload()
            reloaded = True
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


@dataclass(frozen=True)
class KnotdUser:
    """The user knotd runs as: the owner of its control socket (Knot creates it as that user)."""

    socket: str
    uid: int
    gid: int
    name: str
    groups: frozenset[int]

    @classmethod
    def of(cls, control_socket: str) -> KnotdUser:
        owner = os.stat(control_socket)
        try:
            name = pwd.getpwuid(owner.st_uid).pw_name
            groups = frozenset(os.getgrouplist(name, owner.st_gid))
        except KeyError:  # a uid without a name (a container image without the user)
            name, groups = str(owner.st_uid), frozenset({owner.st_gid})
        return cls(control_socket, owner.st_uid, owner.st_gid, name, groups)

    def check(self, path: str, field: str, value: str) -> None:
        """InvalidInputError unless knotd can enter every directory down to ``path`` and write ``path``."""
        if self.uid == 0:
            return
        path = os.path.abspath(path)
        parts = path.split(os.sep)[1:]
        for depth in range(len(parts) + 1):
            directory = os.sep + os.sep.join(parts[:depth])
            info = os.stat(directory)
            need = stat.S_IRWXU if directory == path else stat.S_IXUSR  # owner bits; shifted for group and other
            shift = 0 if info.st_uid == self.uid else 3 if info.st_gid in self.groups else 6
            if (info.st_mode << shift) & need != need:
                owner = _user_name(info.st_uid) + ":" + _group_name(info.st_gid)
                fix = (f"chgrp {_group_name(self.gid)} {directory} && chmod g+x {directory}" if directory != path
                       else f"run the task as root or as {self.name}")
                raise InvalidInputError(field, value, f"knotd runs as {self.name} (the owner of the control socket {self.socket}) and "
                                                      f"cannot {'use' if directory == path else 'enter'} {directory} (mode "
                                                      f"{stat.S_IMODE(info.st_mode):04o}, {owner}); {fix}, or use a directory "
                                                      f"it can enter; nothing was changed")


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def hand_to_knotd(path: str, knotd: KnotdUser) -> None:
    """Let knotd, which may run as another user (``knot``), write and read ``path``: when this runs as root, the
    directory tree is given to knotd's user."""
    if os.geteuid() != 0:
        return
    for root, dirs, files in os.walk(path):
        for name in [root] + [os.path.join(root, d) for d in dirs] + [os.path.join(root, f) for f in files]:
            os.chown(name, knotd.uid, knotd.gid)
