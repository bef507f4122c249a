# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: backup archives that can be verified, shared by knot_zone and lease_backup.

An archive is a ``.tar.gz`` of a directory with ``manifest.json`` as its first member. The manifest lists every
other member with its size and sha256 and carries what the caller adds (source, row counts, schema version).
``unpack`` extracts into a fresh directory and checks every member against the manifest while it does, so a
corrupt, truncated or altered archive is refused before anything in place is touched. Archives are written to a
temporary file in the target directory and renamed, so a reader never sees half an archive.

Names follow seed 003: ``<prefix>-<name>-<UTC timestamp>.tar.gz`` (kept ``keep`` at a time) plus a stable name
(``zones.tar.gz``, ``kea-leases.tar.gz``) that init containers and restore scripts look for.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import io
import json
import os
import re
import shutil
import socket
import tarfile
import tempfile
import zlib

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import ConflictError, InvalidInputError, KeaDnsError
from ansible_collections.ddi.kea_dns.plugins.module_utils._files import replacing

MANIFEST = "manifest.json"
FORMAT = 1
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
CHUNK = 1 << 20


class ArchiveError(KeaDnsError):
    """An archive is unreadable, incomplete or does not match its manifest."""

    def __init__(self, path: str, cause: str) -> None:
        super().__init__(f"archive {path}: {cause}; nothing was changed")


def check_name(name: object, field: str = "name") -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InvalidInputError(field, name, "expected 1 to 100 letters, digits, dots, hyphens or underscores, starting with a letter or digit")
    return name


def backup_name(name: str | None) -> str:
    """The ``<name>`` of archive names: as given, or the short host name of the host the task runs on."""
    return check_name(name or socket.gethostname().split(".")[0])


def backup_dir(directory: str | None, check_mode: bool, group: int | None = None) -> str:
    """The directory of the archives, created when missing (except in check mode): mode 0700, or 0750 with ``group``
    (the group of a server that writes into it as another user: knotd as ``knot``)."""
    if not directory:
        raise InvalidInputError("backup_dir", directory, "a backup needs the directory of the archives")
    if not os.path.isdir(directory):
        if os.path.exists(directory):
            raise InvalidInputError("backup_dir", directory, "exists and is not a directory")
        if not check_mode:
            os.makedirs(directory, mode=0o700 if group is None else 0o750)
            if group is not None:
                os.chown(directory, -1, group)
                os.chmod(directory, 0o750)  # not narrowed by the umask
    return directory


def stamp(now: datetime.datetime | None = None) -> str:
    return (now or datetime.datetime.now(datetime.UTC)).strftime(STAMP_FORMAT)


def timestamped_path(directory: str, prefix: str, name: str, when: str) -> str:
    """``<directory>/<prefix>-<name>-<when>.tar.gz``; ConflictError when it exists (two backups in one second)."""
    path = os.path.join(directory, f"{prefix}-{name}-{when}.tar.gz")
    if os.path.exists(path):
        raise ConflictError(f"archive {path} already exists (a backup of {name} in the same second); nothing was changed")
    return path


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write(path: str, source_dir: str, manifest: dict) -> dict:
    """Archive every regular file under ``source_dir`` into ``path`` (atomically) with ``manifest`` + file list."""
    files = []
    for root, dirs, names in os.walk(source_dir):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(root, name)
            if os.path.isfile(full) and not os.path.islink(full):
                files.append({"path": os.path.relpath(full, source_dir), "size": os.path.getsize(full), "sha256": sha256_file(full)})
    manifest = dict(manifest, format=FORMAT, files=files)
    data = json.dumps(manifest, indent=2, sort_keys=True).encode()
    with replacing(path, 0o600) as partial, tarfile.open(partial, "w:gz", compresslevel=6) as tar:
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode, info.mtime = len(data), 0o644, int(datetime.datetime.now().timestamp())
        tar.addfile(info, io.BytesIO(data))
        for item in files:
            tar.add(os.path.join(source_dir, item["path"]), arcname=item["path"], recursive=False)
    return manifest


def copy(source: str, path: str) -> None:
    """Copy an archive to ``path`` atomically (the stable name)."""
    with replacing(path, 0o600) as partial:
        shutil.copyfile(source, partial)


def unpack(path: str, dest: str, kind: str | None = None, plain: bool = False) -> dict:
    """Extract ``path`` into the empty directory ``dest`` and verify it against its manifest; returns the manifest.

    Refused (ArchiveError): a missing, corrupt or truncated file (the gzip stream is read to its trailer, so a bad CRC
    or length is refused as ``gzip -t`` refuses it), no manifest, another ``kind`` than expected, a member that is
    not a regular file or would land outside ``dest``, a member missing, unlisted, of another size or sha256.

    ``plain``: an archive without a manifest (seed 003's) is accepted too; its members are checked for what a plain
    archive allows (regular files and directories inside ``dest``, intact gzip) and the manifest returned is made
    from them, with ``format: "plain"`` and no ``kind``: the caller checks the contents.
    """
    if not os.path.isfile(path):
        raise ArchiveError(path, "no such file")
    try:
        with tarfile.open(path, "r:gz") as tar:
            first = tar.next()
            if first is None:
                raise ArchiveError(path, "it holds no members")
            if first.name != MANIFEST:
                if not plain:
                    raise ArchiveError(path, f"the first member is not {MANIFEST}; this is not an archive of this collection "
                                             "(an archive of seed 003's scripts is restored with archive_format=plain)")
                manifest = _unpack_plain(path, tar, first, dest)
            else:
                manifest = _unpack_listed(path, tar, first, dest, kind)
            _read_to_end(tar)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise ArchiveError(path, f"corrupt or truncated ({exc})") from None
    return manifest


def _unpack_listed(path: str, tar: tarfile.TarFile, first: tarfile.TarInfo, dest: str, kind: str | None) -> dict:
    manifest = _manifest(path, tar.extractfile(first).read())  # type: ignore[union-attr]
    if kind is not None and manifest.get("kind") != kind:
        raise ArchiveError(path, f"it holds a {manifest.get('kind')!r} backup, not a {kind!r} backup")
    expected = {item["path"]: item for item in manifest["files"]}
    seen = set()
    for member in tar:
        if member.offset == first.offset:
            continue  # the manifest, read above
        name = os.path.normpath(member.name)
        if not member.isfile() or name.startswith(("/", "..")) or name not in expected or name in seen:
            raise ArchiveError(path, f"member {member.name!r} is not listed in the manifest or is no regular file")
        digest, size = _extract(tar, member, os.path.join(dest, name))
        item = expected[name]
        if digest != item["sha256"] or size != item["size"]:
            raise ArchiveError(path, f"checksum mismatch for {name}: the manifest says sha256 {item['sha256']} "
                                     f"({item['size']} bytes), the archive holds {digest} ({size} bytes)")
        seen.add(name)
    missing = sorted(set(expected) - seen)
    if missing:
        raise ArchiveError(path, f"members listed in the manifest are missing: {', '.join(missing[:5])}")
    return manifest


def _unpack_plain(path: str, tar: tarfile.TarFile, first: tarfile.TarInfo, dest: str) -> dict:
    files = []
    for member in [first, *tar]:
        name = os.path.normpath(member.name)
        if name.startswith(("/", "..")) or not (member.isfile() or member.isdir()):
            raise ArchiveError(path, f"member {member.name!r} is no regular file or directory inside the archive")
        if member.isdir() or name == ".":
            continue
        if any(item["path"] == name for item in files):
            raise ArchiveError(path, f"member {name!r} is in the archive twice")
        digest, size = _extract(tar, member, os.path.join(dest, name))
        files.append({"path": name, "size": size, "sha256": digest})
    if not files:
        raise ArchiveError(path, "it holds no files")
    return {"format": "plain", "kind": None, "files": sorted(files, key=lambda item: item["path"])}


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, target: str) -> tuple[str, int]:
    os.makedirs(os.path.dirname(target), exist_ok=True)
    digest, size = hashlib.sha256(), 0
    read = functools.partial(tar.extractfile(member).read, CHUNK)  # type: ignore[union-attr]
    with open(target, "wb") as out:
        for chunk in iter(read, b""):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def _read_to_end(tar: tarfile.TarFile) -> None:
    """Read the gzip stream past the tar's end to its trailer: only there are its CRC and length checked."""
    stream = tar.fileobj
    while stream.read(CHUNK):  # type: ignore[union-attr]
        pass


def _manifest(path: str, data: bytes) -> dict:
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        raise ArchiveError(path, f"{MANIFEST} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), list):
        raise ArchiveError(path, f"{MANIFEST} is not a format {FORMAT} manifest")
    return manifest


def prune(directory: str, prefix: str, name: str, keep: int) -> list[str]:
    """Remove all but the ``keep`` newest ``<prefix>-<name>-<stamp>.tar.gz`` in ``directory`` (0: keep all)."""
    if keep <= 0:
        return []
    pattern = re.compile(re.escape(f"{prefix}-{name}-") + r"(\d{8}T\d{6}Z)\.tar\.gz")
    found = sorted((m.group(1), m.group(0)) for m in map(pattern.fullmatch, os.listdir(directory)) if m)
    removed = []
    for _when, file_name in found[:-keep]:
        os.unlink(os.path.join(directory, file_name))
        removed.append(os.path.join(directory, file_name))
    return removed


def scratch(directory: str | None = None) -> tempfile.TemporaryDirectory:
    """A private working directory, removed on exit."""
    return tempfile.TemporaryDirectory(prefix=".kea-dns-", dir=directory)


def file_names(manifest: dict) -> list[str]:
    return [item["path"] for item in manifest["files"]]
