# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: Kea's memfile lease files read for a backup and written back by a restore (lease_backup).

Memfile: a lease file and the companions of Kea's lease file cleanup (kea-lfc): ``<file>.2`` (previous leases),
``<file>.1`` and ``<file>.completed`` while or after a clean-up runs. A copy is consistent when no clean-up ran while
it was taken: the copier waits while kea-lfc runs (its ``<file>.pid``), copies, and starts again when a companion
changed meanwhile. Kea only appends to the current file, so its copy ends at the last complete line. The copies lie
at the archive's root, as in Kea's directory, so that seed 003's init container (``tar xzf kea-leases.tar.gz -C
/var/lib/kea``) puts them where Kea reads them; archives written before (``memfile/<file>``) still restore.

A plain archive (seed 003's ``backup-kea-leases.sh``: a tar of Kea's directory, no manifest) has no checksums. Its
files that are lease files of the restore (by name, or the one lease file of the archive restored under another
name) are checked to be what Kea loads: a lease file header first, and every row complete, with the header's
number of fields. Its other files (pid files, other files of Kea's directory) are skipped and reported.
"""

from __future__ import annotations

import os
import shutil
import time
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._backup.archive import MANIFEST, ArchiveError
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, NotFoundError, TransportError
from ansible_collections.ddi.kea_dns.plugins.module_utils._files import replacing

COMPANIONS = (".2", ".1", ".completed", "")  # Kea's order of loading; "" is the current file
MEMFILE_LAYOUT = "root"  # the manifest's memfile_layout: the lease files at the archive's root
MEMFILE_DIR = "memfile"  # where archives without memfile_layout (written before the root layout) hold them
HEADER_START = b"address,"  # every Kea lease file header (DHCPv4 and DHCPv6) starts so
SHOWN = 80  # characters of a bad line shown in a message


# --- memfile ---------------------------------------------------------------------------------------------------

def _lfc_pid(lease_file: str) -> int | None:
    """The pid of a running kea-lfc for ``lease_file``, or None."""
    try:
        with open(lease_file + ".pid", encoding="ascii") as handle:
            pid = int(handle.read().strip() or 0)
    except (OSError, ValueError):
        return None
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def _rotated_signature(lease_file: str) -> tuple:
    found = []
    for suffix in COMPANIONS:
        try:
            stat = os.stat(lease_file + suffix)
        except FileNotFoundError:
            found.append(None)
            continue
        # The current file grows while Kea appends; only its identity counts. The others must not change at all.
        found.append((stat.st_ino,) if suffix == "" else (stat.st_ino, stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def count_rows(path: str) -> int:
    """Data lines of a memfile CSV (the header excluded)."""
    with open(path, "rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return max(lines - 1, 0)


def _copy_complete_lines(source: str, target: str) -> None:
    shutil.copyfile(source, target)
    with open(target, "rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        tail = b""
        while size and not tail.endswith(b"\n"):
            step = min(size, 4096)
            handle.seek(size - step)
            tail = handle.read(step)
            cut = tail.rfind(b"\n")
            if cut >= 0:
                handle.truncate(size - step + cut + 1)
                return
            size -= step
            tail = b""
        if size == 0:
            handle.truncate(0)


def copy_lease_files(lease_files: t.Sequence[str], dest: str, lfc_wait: float = 30.0) -> dict[str, dict]:
    """Copy each lease file and its companions into ``dest`` itself (the archive's root); returns {archived name:
    {source, lease_file, rows}}. The copies keep the mode of their source, and its owner when this runs as root, as
    seed 003's tar of Kea's directory did, so that an init container unpacking as root makes them Kea's files."""
    for path in lease_files:
        if not os.path.isfile(path):
            raise NotFoundError(f"lease_files: lease file {path} does not exist")
    names = [os.path.basename(p) for p in lease_files]
    if len(set(names)) != len(names):
        raise InvalidInputError("lease_files", list(lease_files), "two lease files have the same file name")
    if MANIFEST in names:
        raise InvalidInputError("lease_files", list(lease_files), f"a lease file named {MANIFEST} would collide with the archive's manifest")
    os.makedirs(dest, exist_ok=True)
    deadline = time.monotonic() + lfc_wait
    copied: dict[str, dict] = {}
    while True:
        for archived in copied:
            os.unlink(os.path.join(dest, archived))
        copied = {}
        busy = [(p, _lfc_pid(p)) for p in lease_files if _lfc_pid(p)]
        if not busy:
            before = [_rotated_signature(p) for p in lease_files]
            vanished = False
            for path in lease_files:
                for suffix in COMPANIONS:
                    if os.path.exists(path + suffix):
                        archived = os.path.basename(path) + suffix
                        try:
                            _copy_like(path + suffix, os.path.join(dest, archived))
                        except FileNotFoundError:  # kea-lfc removed it meanwhile: copy again
                            vanished = True
                            continue
                        copied[archived] = {"source": path + suffix, "lease_file": os.path.basename(path),
                                            "rows": count_rows(os.path.join(dest, archived))}
            if not vanished and before == [_rotated_signature(p) for p in lease_files] and not any(_lfc_pid(p) for p in lease_files):
                return copied
        if time.monotonic() > deadline:
            what = ", ".join(f"{p} (kea-lfc pid {pid})" for p, pid in busy) or ", ".join(lease_files)
            raise TransportError(f"no consistent copy of {what}: Kea's lease file cleanup kept running or rotating the files for {lfc_wait:g} s")
        time.sleep(0.2)


def _copy_like(source: str, target: str) -> None:
    """The complete lines of ``source`` into ``target``, with its mode (and owner, as root)."""
    stat = os.stat(source)
    try:
        _copy_complete_lines(source, target)
        os.chmod(target, stat.st_mode & 0o777)
        if os.geteuid() == 0:
            os.chown(target, stat.st_uid, stat.st_gid)
    except BaseException:
        if os.path.exists(target):
            os.unlink(target)
        raise


def memfile_targets(lease_files: t.Sequence[str], archived: t.Mapping[str, dict]) -> dict[str, str]:
    """{archived name: target path}: each archived file goes next to the entry of ``lease_files`` of the same file
    name, with its suffix; with one lease file on both sides, it may be restored under another name."""
    bases = sorted({item["lease_file"] for item in archived.values()})
    by_name = {os.path.basename(p): p for p in lease_files}
    if len(bases) == 1 and len(lease_files) == 1:
        by_name = {bases[0]: lease_files[0]}
    missing = [base for base in bases if base not in by_name]
    if missing:
        raise InvalidInputError("lease_files", list(lease_files), f"the archive holds {', '.join(missing)}, which no entry of lease_files names")
    return {name: by_name[item["lease_file"]] + name[len(item["lease_file"]):] for name, item in archived.items()}


def occupied_memfiles(lease_files: t.Sequence[str]) -> dict[str, int]:
    """{path: rows} of the lease files and companions that exist at the target."""
    return {p + s: count_rows(p + s) for p in lease_files for s in COMPANIONS if os.path.isfile(p + s)}


def lease_dir(unpacked: str, manifest: dict, path: str) -> str:
    """The directory of the unpacked archive ``path`` that holds its lease files: its root (``memfile_layout: root``,
    and plain archives) or ``memfile/`` (archives written before). ArchiveError when one the manifest names is missing."""
    directory = unpacked if manifest.get("memfile_layout") == MEMFILE_LAYOUT else os.path.join(unpacked, MEMFILE_DIR)
    missing = sorted(name for name in manifest["source"]["files"] if not os.path.isfile(os.path.join(directory, name)))
    if missing:
        where = os.path.relpath(directory, unpacked)
        raise ArchiveError(path, f"the manifest names the lease files {', '.join(missing)}, which are not in the archive's {where} directory")
    return directory


def write_lease_files(source_dir: str, targets: dict[str, str], stale: t.Iterable[str]) -> None:
    """Put each archived file of ``source_dir`` in place (temporary file + rename, owner and mode of the file it
    replaces or of its directory) and remove ``stale`` companions that Kea would otherwise load with them."""
    for name, target in targets.items():
        directory = os.path.dirname(target) or "."
        reference = os.stat(target) if os.path.exists(target) else os.stat(directory)
        with replacing(target, reference.st_mode & 0o666 if os.path.exists(target) else 0o644, prefix=".restore-") as partial:
            shutil.copyfile(os.path.join(source_dir, name), partial)
            if os.geteuid() == 0:
                os.chown(partial, reference.st_uid, reference.st_gid)
    for path in stale:
        os.unlink(path)


# --- plain archives (seed 003) ---------------------------------------------------------------------------------

def plain_lease_files(path: str, unpacked: str, members: t.Sequence[str], lease_files: t.Sequence[str]) -> tuple[dict[str, dict], dict[str, str]]:
    """The lease files of the plain archive ``path``, unpacked in ``unpacked`` with ``members``, checked; returns
    ({archived name: {lease_file, rows}}, {skipped member: why}), the first as a manifest's ``source.files``.

    A member at the archive's root is a lease file when its name is the file name of an entry of ``lease_files``, or
    that name with a companion suffix. When none is, and ``lease_files`` has one entry, the archive's files that
    start with a lease file header are, if they are all of one lease file (restored under the entry's name, as
    ``memfile_targets`` does). Every lease file must pass ``check_lease_file``; an archive without one is refused.
    """
    at_root = sorted(m for m in members if "/" not in m)
    skipped = {m: "not at the archive's root, where Kea's lease files are" for m in members if "/" in m}
    bases = {os.path.basename(p) for p in lease_files}
    found = {name: base for name in at_root if (base := _named_lease_file(name, bases))}
    sniffed = {name: _strip_companion(name) for name in at_root if name not in found and _has_header(os.path.join(unpacked, name))}
    if not found and len(lease_files) == 1 and sniffed:
        if len(set(sniffed.values())) > 1:
            raise InvalidInputError("lease_files", list(lease_files), f"the archive {path} holds the lease files {', '.join(sorted(set(sniffed.values())))} "
                                    "and one entry of lease_files takes one; name each lease file to restore; nothing was changed")
        found, sniffed = sniffed, {}
    if not found:
        held = ", ".join(members[:10]) + (f" and {len(members) - 10} more" if len(members) > 10 else "")
        raise ArchiveError(path, f"it holds no lease file of lease_files ({', '.join(sorted(bases))}, or their {', '.join(COMPANIONS[:-1])} "
                                 f"companions) at its root, only {held}")
    archived = {name: {"lease_file": base, "rows": check_lease_file(path, os.path.join(unpacked, name), name)} for name, base in found.items()}
    for name in at_root:
        if name not in found:
            skipped[name] = "a lease file that no entry of lease_files names" if name in sniffed else "not a lease file"
    return archived, dict(sorted(skipped.items()))


def _named_lease_file(name: str, bases: t.Collection[str]) -> str | None:
    """The entry of ``bases`` whose lease file (or companion) ``name`` is, or None."""
    for suffix in ("", *COMPANIONS[:-1]):
        if name.endswith(suffix) and name[:len(name) - len(suffix)] in bases:
            return name[:len(name) - len(suffix)]
    return None


def _strip_companion(name: str) -> str:
    return next((name[:-len(suffix)] for suffix in COMPANIONS[:-1] if name.endswith(suffix) and len(name) > len(suffix)), name)


def _has_header(path: str) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(HEADER_START)) == HEADER_START


def _shown(line: bytes) -> str:
    text = line.rstrip(b"\r\n").decode("utf-8", "replace")
    return repr(text[:SHOWN] + ("..." if len(text) > SHOWN else ""))


def check_lease_file(path: str, file_path: str, name: str) -> int:
    """The rows of ``file_path``, the member ``name`` of the plain archive ``path``, checked to be what Kea loads:
    a lease file header first (``address,...``), then rows that each end with a newline and have as many
    comma-separated fields as the header (Kea writes a comma inside a field as ``&#x2c``). ArchiveError otherwise."""
    with open(file_path, "rb") as handle:
        header = handle.readline()
        if not header:
            raise ArchiveError(path, f"lease file {name} is empty: it has no lease file header (address,...)")
        if not header.startswith(HEADER_START):
            raise ArchiveError(path, f"lease file {name} has no lease file header: line 1 is {_shown(header)}, which does not start with 'address,'")
        if not header.endswith(b"\n"):
            raise ArchiveError(path, f"lease file {name} is truncated: its header line {_shown(header)} ends without a newline")
        fields = header.count(b",") + 1
        rows = 0
        for number, line in enumerate(handle, start=2):
            if not line.endswith(b"\n"):
                raise ArchiveError(path, f"lease file {name} is truncated: line {number} {_shown(line)} ends without a newline")
            if line.count(b",") + 1 != fields:
                raise ArchiveError(path, f"lease file {name} line {number} has {line.count(b',') + 1} comma-separated fields, its header "
                                         f"has {fields}: {_shown(line)}")
            rows += 1
    return rows
