# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: a hosts file as a DNS backend, for development (seed 004's dev mode).

The records are the lines of one managed block of the file (default ``/etc/hosts``)::

    # BEGIN DDI.KEA_DNS MANAGED BLOCK
    # Written by ddi.kea_dns (hosts_file backend): edits inside this block are replaced.
    10.99.0.50  us3-cab10-ru20-idrac.site.test  # managed-by ddi.kea_dns owner=kea/default ref=subnet-1/... ttl=600
    # Total entries: 1
    # END DDI.KEA_DNS MANAGED BLOCK

One line per address and name, sorted by name, then address (IPv4 before IPv6), so the same records always give the
same bytes. Every line outside the block is neither read nor written: it stays byte for byte. A hosts file holds A and
AAAA records only (the resolver answers reverse lookups from the same lines): a PTR name has no zone here, so sources
leave PTRs out. A hosts file has no zones either: a name's zone is the longest of ``hosts_file_zones`` that holds it,
or, when none is given, its parent domain (``a.site.test`` -> ``site.test``).

A change is read, planned and written under an exclusive lock of the file's directory (``flock``), so two writers
(the daemon and a ``dns_record`` task) never lose each other's lines. The new file is written next to the old one and
renamed onto it (mode and owner kept), so a reader sees the old file or the new one, never a part. Nothing is
written when the block would not change.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import re
import typing as t
from dataclasses import dataclass

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import DEFAULT_TTL, Change, DnsBackend, Provider, RRset, RRsetKey, Traits, parse_name
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.ownership import format_mark, parse_mark, ref_of
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, NotFoundError, TransportError
from ansible_collections.ddi.kea_dns.plugins.module_utils._files import replacing
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import Option

BEGIN = "# BEGIN DDI.KEA_DNS MANAGED BLOCK"
END = "# END DDI.KEA_DNS MANAGED BLOCK"
NOTICE = "# Written by ddi.kea_dns (hosts_file backend): edits inside this block are replaced."
TOTAL = "# Total entries: "
TTL_RE = re.compile(r"(?:^|\s)ttl=(\d+)(?:\s|$)")


@dataclass(frozen=True)
class Entry:
    """One line of the block: an address and a name, with the owner, ref and TTL of its RRset."""

    address: str
    name: str
    owner: str | None = None
    ref: str | None = None
    ttl: int = DEFAULT_TTL

    @property
    def rtype(self) -> str:
        return "AAAA" if ":" in self.address else "A"

    def sort_key(self) -> tuple:
        parsed = ipaddress.ip_address(self.address)
        return (self.name, parsed.version, parsed)

    def line(self) -> str:
        mark = format_mark(self.owner, self.ref) if self.owner else ""
        return f"{self.address}\t{self.name}\t# {' '.join(filter(None, [mark, f'ttl={self.ttl}']))}"


def _entry(line: str) -> Entry | None:
    """A block line -> Entry; None for comments, blank lines and lines that are no address and name."""
    text, _hash, comment = line.partition("#")
    fields = text.split()
    if len(fields) < 2:
        return None
    try:
        address = str(ipaddress.ip_address(fields[0]))
        name = parse_name(fields[1])
    except (ValueError, InvalidInputError):
        return None
    mark = parse_mark(comment.strip())
    ttl = TTL_RE.search(comment)
    return Entry(address, name, mark.owner if mark else None, mark.ref if mark else None, int(ttl.group(1)) if ttl else DEFAULT_TTL)


def split_block(text: str) -> tuple[str, list[Entry], str, bool]:
    """The file's text before the block, the block's entries, the text after it, and whether there is a block."""
    start = text.find(BEGIN + "\n")
    if start < 0 or (start > 0 and text[start - 1] != "\n"):
        return text, [], "", False
    end = text.find("\n" + END, start)
    if end < 0:
        raise InvalidInputError("hosts_file_path", None, f"the file has the line {BEGIN!r} but not {END!r}; fix the block by hand")
    body = text[start + len(BEGIN) + 1:end + 1]
    after = text[end + 1 + len(END):]
    after = after[1:] if after.startswith("\n") else after
    entries = [entry for line in body.splitlines() if (entry := _entry(line)) is not None]
    return text[:start], entries, after, True


def render_block(entries: t.Iterable[Entry]) -> str:
    lines = [entry.line() for entry in sorted(entries, key=Entry.sort_key)]
    return "\n".join([BEGIN, NOTICE, *lines, f"{TOTAL}{len(lines)}", END]) + "\n"


def join(before: str, entries: t.Iterable[Entry], after: str) -> str:
    if before and not before.endswith("\n"):
        before += "\n"
    return before + render_block(entries) + after


class HostsFileBackend(DnsBackend):
    traits = Traits(name="hosts_file", native_batch=True, ownership=True, can_list_zone=True, record_types=("A", "AAAA"))

    def __init__(self, path: str, zones: t.Sequence[str] = ()) -> None:
        if not path:
            raise InvalidInputError("hosts_file_path", path, "the path of the hosts file is required")
        self.path = path
        self.where = f"hosts file {path}"
        self._zones = sorted({parse_name(zone, "hosts_file_zones") for zone in zones}, key=len, reverse=True)

    def zones(self) -> list[str] | None:
        return list(self._zones) or None

    def find_zone(self, name: str) -> str:
        if name.endswith(".arpa") or name == "arpa":
            raise NotFoundError(f"a hosts file holds no PTR records ({name}): the resolver answers reverse lookups from its A and AAAA lines")
        for zone in self._zones:
            if name == zone or name.endswith("." + zone):
                return zone
        if self._zones:
            raise NotFoundError(f"no zone of hosts_file_zones ({', '.join(self._zones)}) holds {name}")
        return name.partition(".")[2] or name

    def _read(self) -> str:
        try:
            with open(self.path, encoding="utf-8") as handle:
                return handle.read()
        except FileNotFoundError:
            return ""
        except OSError as exc:
            raise TransportError(f"cannot read {self.where}: {exc.strerror}") from None

    def _in_zone(self, entry: Entry, zone: str) -> bool:
        try:
            return self.find_zone(entry.name) == zone
        except NotFoundError:
            return False

    def _rrsets(self, entries: t.Iterable[Entry], zone: str) -> dict[RRsetKey, RRset]:
        grouped: dict[RRsetKey, list[Entry]] = {}
        for entry in entries:
            if self._in_zone(entry, zone):
                grouped.setdefault(RRsetKey(entry.name, entry.rtype), []).append(entry)
        return {key: RRset(zone, key, tuple(sorted(e.address for e in group)), group[0].ttl, owner=group[0].owner, origin=group[0].ref)
                for key, group in grouped.items()}

    def get(self, zone: str, keys: t.Collection[RRsetKey]) -> dict[RRsetKey, RRset]:
        wanted = set(keys)
        return {key: rrset for key, rrset in self._rrsets(split_block(self._read())[1], zone).items() if key in wanted}

    def list_zone(self, zone: str) -> list[RRset]:
        return list(self._rrsets(split_block(self._read())[1], zone).values())

    @contextlib.contextmanager
    def _locked(self) -> t.Iterator[None]:
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            descriptor = os.open(directory, os.O_RDONLY)
        except OSError as exc:
            raise TransportError(f"cannot open the directory of {self.where}: {exc.strerror}") from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)

    def apply(self, zone: str, changes: t.Sequence[Change]) -> None:
        """All changes in one rewrite of the block (atomic: one rename)."""
        with self._locked():
            text = self._read()
            before, entries, after, _found = split_block(text)
            keys = {change.key for change in changes}
            kept = [e for e in entries if not (self._in_zone(e, zone) and RRsetKey(e.name, e.rtype) in keys)]
            for change in changes:
                if change.after is not None:
                    ref = ref_of(change.after.origin)
                    kept.extend(Entry(value, change.key.name, change.after.owner, ref, change.after.ttl) for value in change.after.values)
            new_text = join(before, kept, after)
            if new_text != text:
                self._write(new_text)

    def _write(self, text: str) -> None:
        try:
            stat = os.stat(self.path) if os.path.exists(self.path) else None
            with replacing(self.path, stat.st_mode & 0o7777 if stat else 0o644, prefix=".hosts-") as partial:
                with open(partial, "w", encoding="utf-8") as handle:
                    handle.write(text)
                if stat is not None and os.geteuid() == 0:
                    os.chown(partial, stat.st_uid, stat.st_gid)
        except OSError as exc:
            raise TransportError(f"cannot write {self.where}: {exc.strerror} (the file is replaced by a rename in its directory, "
                                 "which a bind-mounted file, as in a container, does not allow)") from None


OPTIONS = (
    Option("hosts_file_path", "path", "/etc/hosts", "hosts file whose managed block holds the records (dev mode)", env=("HOSTS_FILE_PATH",)),
    Option("hosts_file_zones", "list", (), "zones of the hosts file backend (empty: a name's zone is its parent domain)"),
)


def make(options: t.Mapping[str, t.Any]) -> DnsBackend:
    return HostsFileBackend(options["hosts_file_path"], options["hosts_file_zones"] or ())


PROVIDER = Provider("hosts_file", OPTIONS, make)
