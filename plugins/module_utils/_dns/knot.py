# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: Knot DNS through its control socket (libknot, as knotc uses it).

A batch is one zone transaction (zone-begin, zone-unset/zone-set, zone-commit). Any error aborts the
transaction, so none is left open and nothing is half-applied. Knot keeps no owner metadata.

Beyond the DNS contract, the zone operations of the knot_zone module live here too: flush, Knot's own
zone-backup / zone-restore, and every record of a zone (all types) as canonical text lines, read from the
server or from a zone file, so that a zone and a backup can be compared record by record.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import typing as t
from dataclasses import dataclass

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import (
    RECORD_TYPES,
    Change,
    DnsBackend,
    RRset,
    RRsetKey,
    Traits,
    longest_zone,
    to_presentation,
)
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import (
    KeaDnsError,
    MissingLibraryError,
    NotFoundError,
    TransportError,
)

try:
    import dns.exception
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    import dns.zone
except ImportError:  # pragma: no cover - reported by zone_file_records()
    dns = None

try:
    import libknot
    import libknot.control
except ImportError:  # pragma: no cover - reported by KnotBackend()
    libknot = None

WHOLE_ZONE_READ = 10  # more RRsets than this: read the zone once instead of one zone-read each
# What a Knot backup holds besides the zone file, as knotc's +<part>/+no<part> filters (lower case: include).
BACKUP_PARTS = {"zonefiles": "z", "journal": "j", "timers": "t", "keys": "k", "catalog": "c"}


@dataclass(frozen=True)
class KnotSettings:
    socket: str = "/run/knot/knot.sock"
    timeout: float = 10.0


def _from_data(rtype: str, data: str) -> str:
    if rtype in ("PTR", "CNAME"):
        return data.rstrip(".").lower()
    if rtype == "TXT":
        strings, current, quoted, escaped = [], [], False, False
        for char in data:
            if escaped:
                current.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                if quoted:
                    strings.append("".join(current))
                    current = []
                quoted = not quoted
            elif quoted:
                current.append(char)
        return "".join(strings)
    if rtype in ("A", "AAAA"):
        return str(ipaddress.ip_address(data))
    return data


class KnotBackend(DnsBackend):
    traits = Traits(name="knot", native_batch=True, ownership=False, can_list_zone=True)

    def __init__(self, settings: KnotSettings) -> None:
        if libknot is None:
            raise MissingLibraryError("libknot", "libknot")
        try:
            libknot.Knot()
        except OSError as exc:
            raise MissingLibraryError(f"libknot.so ({exc})", "the Knot library (Debian: apt install libknot13)") from None
        self.settings = settings
        self.where = f"Knot control socket {settings.socket}"
        self._ctl = libknot.control.KnotCtl()
        try:
            self._ctl.connect(settings.socket)
        except libknot.control.KnotCtlError as exc:
            raise TransportError(f"cannot connect to the {self.where}: {exc}") from None
        self._ctl.set_timeout(max(1, int(settings.timeout)))

    def _do(self, what: str, **block: str) -> t.Any:
        try:
            self._ctl.send_block(**block)
            return self._ctl.receive_block()
        except libknot.control.KnotCtlErrorRemote as exc:
            message = str(exc).split(" (COMMAND", 1)[0]
            if "no such zone" in message:
                raise NotFoundError(f"{self.where}: {what}: no such zone") from None
            raise KeaDnsError(f"{self.where} refused {what}: {message}") from None
        except libknot.control.KnotCtlError as exc:
            raise TransportError(f"{self.where} did not answer {what} within {self.settings.timeout} s or failed: {exc}") from None

    def find_zone(self, name: str) -> str:
        zones = [zone.rstrip(".").lower() for zone in self._do("listing zones", cmd="zone-status")]
        return longest_zone(name, zones, f"the {self.where}")

    def _rrsets(self, zone: str, data: dict) -> list[RRset]:
        rrsets = []
        for nodes in data.values():
            for owner, types in nodes.items():
                for rtype, rdata in types.items():
                    if rtype in RECORD_TYPES:
                        values = tuple(sorted(_from_data(rtype, d) for d in rdata["data"]))
                        rrsets.append(RRset(zone, RRsetKey(owner.rstrip(".").lower(), rtype), values, int(rdata["ttl"])))
        return rrsets

    def get(self, zone: str, keys: t.Collection[RRsetKey]) -> dict[RRsetKey, RRset]:
        if len(keys) > WHOLE_ZONE_READ:
            wanted = set(keys)
            return {r.key: r for r in self.list_zone(zone) if r.key in wanted}
        found = {}
        for key in keys:
            try:
                data = self._do(f"reading {key.label()}", cmd="zone-read", zone=zone, owner=key.name + ".", rtype=key.type)
            except KeaDnsError as exc:
                if "no such node" in str(exc) or "no such record" in str(exc):
                    continue
                raise
            found.update({r.key: r for r in self._rrsets(zone, data) if r.key == key})
        return found

    def list_zone(self, zone: str) -> list[RRset]:
        return self._rrsets(zone, self._do(f"reading zone {zone}", cmd="zone-read", zone=zone))

    def apply(self, zone: str, changes: t.Sequence[Change]) -> None:
        if not changes:
            return
        what = f"the transaction on zone {zone} ({len(changes)} RRsets)"
        self._do(what, cmd="zone-begin", zone=zone)
        try:
            for change in changes:
                owner = change.key.name + "."
                if change.before is not None:
                    self._do(what, cmd="zone-unset", zone=zone, owner=owner, rtype=change.key.type)
                if change.after is not None:
                    for value in change.after.values:
                        self._do(what, cmd="zone-set", zone=zone, owner=owner, ttl=str(change.after.ttl), rtype=change.key.type,
                                 data=to_presentation(change.key.type, value))
            self._do(what, cmd="zone-commit", zone=zone)
        except KeaDnsError:
            # Report the original error; if the abort fails too, knotd drops the transaction with the connection.
            with contextlib.suppress(KeaDnsError):
                self._do(what, cmd="zone-abort", zone=zone)
            raise

    def zones(self) -> list[str]:
        return sorted(zone.rstrip(".").lower() for zone in self._do("listing zones", cmd="zone-status"))

    def zone_records(self, zone: str) -> list[str]:
        """Every record of ``zone``, of every type, as sorted canonical lines (see ``canonical``)."""
        lines = []
        for nodes in self._do(f"reading zone {zone}", cmd="zone-read", zone=zone).values():
            for owner, types in nodes.items():
                for rtype, rdata in types.items():
                    lines.extend(canonical(owner, rdata["ttl"], rtype, data) for data in rdata["data"])
        return sorted(lines)

    def flush(self, zone: str) -> None:
        """Write the zone to its zone file now (forced, so also with zonefile-sync: -1), waiting until it is done."""
        self._do(f"flushing zone {zone}", cmd="zone-flush", zone=zone, flags="BF")

    def backup(self, directory: str, zone: str | None) -> None:
        """Knot's zone-backup of ``zone`` (every zone when None) into ``directory``, which must not hold a backup:
        zone files, timers, keys and catalog (Knot's defaults) and the journal."""
        self._do(f"zone-backup of {zone or 'every zone'} into {directory}", cmd="zone-backup", zone=zone, data=directory,
                 flags="B", filters="dj")

    def restore(self, directory: str, zone: str) -> None:
        """Knot's zone-restore of ``zone`` from ``directory``, restoring the parts the backup holds. Without a journal in
        the backup (zone files only), the zone's journal is purged first: Knot would replay it on the restored file."""
        if not os.path.isdir(os.path.join(directory, "journal")):
            self._do(f"purging the journal of {zone} before its restore", cmd="zone-purge", zone=zone, flags="F", filters="j")
        filters = "d" + "".join(flag if os.path.isdir(os.path.join(directory, part)) else flag.upper()
                                for part, flag in BACKUP_PARTS.items())
        self._do(f"zone-restore of {zone} from {directory}", cmd="zone-restore", zone=zone, data=directory, flags="B", filters=filters)

    def close(self) -> None:
        with contextlib.suppress(libknot.control.KnotCtlError):
            self._ctl.send(libknot.control.KnotCtlType.END)
            self._ctl.close()


def canonical(owner: str, ttl: object, rtype: str, data: str) -> str:
    """One record as ``<owner> <ttl> <type> <rdata>``: absolute lower-case owner, rdata as dnspython prints it."""
    _require_dnspython()
    try:
        text = dns.rdata.from_text(dns.rdataclass.IN, rtype, data).to_text()
    except dns.exception.DNSException as exc:
        raise KeaDnsError(f"cannot read the {rtype} record {owner} {data!r}: {exc}") from None
    return f"{owner.lower().rstrip('.')}. {int(t.cast(int, ttl))} {rtype} {text}"


def zone_file_records(path: str, zone: str) -> list[str]:
    """Every record of a zone file (as Knot writes them into a backup) as sorted canonical lines."""
    _require_dnspython()
    try:
        parsed = dns.zone.from_file(path, origin=zone + ".", relativize=False, check_origin=False)
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        raise KeaDnsError(f"cannot read the zone file {os.path.basename(path)} of zone {zone}: {exc}") from None
    lines = []
    for name, rdataset in parsed.iterate_rdatasets():
        for rdata in rdataset:
            lines.append(canonical(name.to_text(), rdataset.ttl, dns.rdatatype.to_text(rdataset.rdtype), rdata.to_text()))
    return sorted(lines)


def rrsets_of(zone: str, lines: t.Iterable[str]) -> dict[RRsetKey, RRset]:
    """The RRsets of the managed record types among canonical record lines (to plan changes against a backup)."""
    grouped: dict[RRsetKey, tuple[list[str], int]] = {}
    for line in lines:
        owner, ttl, rtype, data = line.split(" ", 3)
        if rtype in RECORD_TYPES:
            values, _ttl = grouped.setdefault(RRsetKey(owner.rstrip("."), rtype), ([], int(ttl)))
            values.append(_from_data(rtype, data))
    return {key: RRset(zone, key, tuple(sorted(values)), ttl) for key, (values, ttl) in grouped.items()}


def _require_dnspython() -> None:
    if dns is None:
        raise MissingLibraryError("dnspython", "dnspython")
