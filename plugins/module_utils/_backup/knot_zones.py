# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: Knot zone backups restored: archives unpacked and verified, zone files read, SOA
serials that secondaries follow (RFC 1982), waiting for a restored zone to load, and knotd's own user (the owner of
its control socket) given what it must read and write."""

from __future__ import annotations

import grp
import os
import pwd
import stat
import time
import typing as t
from dataclasses import dataclass

from ansible_collections.ddi.kea_dns.plugins.module_utils._backup import archive
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import Change, to_presentation
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.knot import KnotBackend, canonical, zone_file_records
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, KeaDnsError, NotFoundError

FULL_PREFIX = "knot-zones"
ZONES_ONLY = "zones.tar.gz"
LABEL = "knot_backup.label"
RELOAD_AFTER = 2.0  # seconds a restored zone may stay without contents before the server is reloaded


def unpack(path: str, knot_dir: str, plain: bool) -> tuple[str, dict]:
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
        manifest = dict(manifest, kind=FULL_PREFIX, zones={z: len(zone_file(path, knot_dir, z)) for z in names})
    if not os.path.isfile(os.path.join(knot_dir, LABEL)) or not manifest.get("zones"):
        raise archive.ArchiveError(path, f"it holds no Knot backup ({LABEL} and zonefiles/)")
    return knot_dir, manifest


def zone_file(path: str, knot_dir: str, zone: str) -> list[str]:
    try:
        return zone_file_records(os.path.join(knot_dir, "zonefiles", f"{zone}.zone"), zone)
    except KeaDnsError as exc:
        raise archive.ArchiveError(path, str(exc)) from None


def soa_serial(lines: list[str]) -> int:
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


def soa_record(lines: list[str], serial: int) -> str:
    """The ``<ttl> <rdata>`` of the SOA among ``lines`` with ``serial``."""
    for line in lines:
        _owner, ttl, rtype, data = line.split(" ", 3)
        if rtype == "SOA":
            fields = data.split()
            return f"{ttl} {' '.join(fields[:2] + [str(serial)] + fields[3:])}"
    raise KeaDnsError("the archive's zone has no SOA record")


def wait_for_records(backend: KnotBackend, zone: str, wanted: list[str], what: str, expired: bool, step: t.Callable[[str], None]) -> None:
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


def with_changes(lines: list[str], changes: list[Change]) -> list[str]:
    """Canonical record lines with RRset changes applied."""
    present = set(lines)
    for change in changes:
        for rrset, apply in ((change.before, present.discard), (change.after, present.add)):
            for value in rrset.values if rrset else ():
                apply(canonical(rrset.key.name, rrset.ttl, rrset.key.type, to_presentation(rrset.key.type, value)))  # type: ignore[union-attr]
    return sorted(present)


def without_serial(lines: list[str]) -> list[str]:
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
