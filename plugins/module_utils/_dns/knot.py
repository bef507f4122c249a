# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: Knot DNS through its control socket (libknot, as knotc uses it).

A batch is one zone transaction (zone-begin, zone-unset/zone-set, zone-commit). Any error aborts the
transaction, so none is left open and nothing is half-applied. Knot keeps no owner metadata.

knotd serves one control client at a time and closes a connection idle for its control timeout (5 s by default).
So the connection is made on demand, held for one batch only (``traits.release_after_batch``: other daemons and
``knotc`` users get the socket in between), and dropped on any failure: the next call makes a new one.

Beyond the DNS contract, the zone operations of the knot_zone module live here too: flush, Knot's own
zone-backup / zone-restore, and every record of a zone (all types) as canonical text lines, read from the
server or from a zone file, so that a zone and a backup can be compared record by record.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import time
import typing as t
from dataclasses import dataclass

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import (
    RECORD_TYPES,
    Change,
    DnsBackend,
    Provider,
    RRset,
    RRsetKey,
    Traits,
    longest_zone,
    to_presentation,
)
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import KeaDnsError, MissingLibraryError, NotFoundError, TransportError
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import Option

# libknot and dnspython, imported on first use: the registry reads every backend's declaration without its client
# library, and the backend itself needs no dnspython (1.5 MB resident): only the zone and backup reads below do.
dns: t.Any = None
libknot: t.Any = None


def _libraries() -> None:
    global libknot
    if libknot is None:
        with contextlib.suppress(ImportError):  # reported by KnotBackend()
            import libknot
            import libknot.control


STALE_TRANSACTION_WAIT = 3.0  # seconds a zone transaction someone else left open is waited for before it is aborted
# What a Knot backup holds besides the zone file, as knotc's +<part>/+no<part> filters (lower case: include).
BACKUP_PARTS = {"zonefiles": "z", "journal": "j", "timers": "t", "keys": "k", "catalog": "c"}


@dataclass(frozen=True)
class KnotSettings:
    socket: str
    timeout: float


def _from_data(rtype: str, data: str) -> str:
    if rtype in ("PTR", "CNAME"):
        return data.rstrip(".").lower()
    if rtype == "A":  # the common cases first: a zone read of 100,000 names spent 1.5 s in ipaddress and the TXT loop
        with contextlib.suppress(OSError):
            return socket.inet_ntoa(socket.inet_pton(socket.AF_INET, data))
    if rtype == "TXT" and len(data) >= 2 and data[0] == data[-1] == '"' and data.count('"') == 2 and "\\" not in data:
        return data[1:-1]  # one string, nothing escaped (the markers)
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
    traits = Traits(name="knot", native_batch=True, ownership=False, can_list_zone=True, release_after_batch=True, batch_rows=1000,
                    reconcile_chunk=5000)

    def __init__(self, settings: KnotSettings) -> None:
        _libraries()
        if libknot is None:
            raise MissingLibraryError("libknot", "libknot")
        try:
            libknot.Knot()
        except OSError as exc:
            raise MissingLibraryError(f"libknot.so ({exc})", "the Knot library (Debian: apt install libknot13)") from None
        self.settings = settings
        self.where = f"Knot control socket {settings.socket}"
        self._ctl: t.Any = None  # the open control connection, or None
        self._orphans: set[str] = set()  # zones whose transaction this backend began and could not end
        self._zone_names: list[str] | None = None  # find_zone's copy of the zone list (read again on a miss)
        self._connection()  # fail early on a wrong socket path

    # -- the control connection: made on demand, dropped on any failure and by close() ---------------------------------
    def _connection(self) -> t.Any:
        """The control connection, made when there is none; a transaction this backend began and could not end is
        aborted first. knotd serves one control client at a time: while another holds the socket, a connect is queued
        and the first answer waits (up to ``timeout``), so two daemons or a ``knotc`` user take turns."""
        if self._ctl is None:
            ctl = libknot.control.KnotCtl()
            try:
                ctl.connect(self.settings.socket)
            except libknot.control.KnotCtlError as exc:
                raise TransportError(f"cannot connect to the {self.where}: {exc}") from None
            ctl.set_timeout(max(1, int(self.settings.timeout)))
            self._ctl = ctl
            for zone in sorted(self._orphans):  # a transaction left open when the connection died: end it first
                try:
                    self._do(f"aborting the transaction left open on zone {zone}", cmd="zone-abort", zone=zone)
                except TransportError:
                    raise
                except KeaDnsError:
                    pass  # no transaction open any more
                self._orphans.discard(zone)
        return self._ctl

    def _do(self, what: str, reader: t.Callable[[t.Any], t.Any] | None = None, **block: str) -> t.Any:
        """Send one command and receive its answer (with ``reader``, or libknot's ``receive_block``)."""
        ctl = self._connection()
        try:
            ctl.send_block(**block)
            return reader(ctl) if reader is not None else ctl.receive_block()
        except libknot.control.KnotCtlErrorRemote as exc:
            message = str(exc).split(" (COMMAND", 1)[0]
            if "no such zone" in message:
                raise NotFoundError(f"{self.where}: {what}: no such zone") from None
            raise KeaDnsError(f"{self.where} refused {what}: {message}") from None
        except libknot.control.KnotCtlError as exc:
            # Reset (knotd closed an idle connection, or restarted), timeout (another client holds the socket, or knotd
            # hangs): this connection is unusable; the next call makes a new one.
            self.close()
            raise TransportError(f"{self.where} did not answer {what} within {self.settings.timeout} s or failed: {exc}") from None

    def find_zone(self, name: str) -> str:
        """The zone of ``name`` from the zone list read once and kept, as the other backends do (a reconcile or a
        metrics pass asks it for every name: one control call each made the route program stall for a second); a
        name no kept zone holds reads the list again, so a zone added since is found."""
        if self._zone_names is not None:
            with contextlib.suppress(NotFoundError):
                return longest_zone(name, self._zone_names, f"the {self.where}")
        self._zone_names = self.zones()
        return longest_zone(name, self._zone_names, f"the {self.where}")

    def _rrsets(self, zone: str, what: str, **read: str) -> list[RRset]:
        """The RRsets of the managed types that a zone-read (of the zone, or of ``owner`` and ``rtype``) answers."""
        rrsets = []
        records = self._do(what, _read_records, cmd="zone-read", zone=zone, **read)
        while records:  # emptied as it is read: the answer and the RRsets of a large zone are not held twice
            (owner, rtype), (ttl, *data) = records.popitem()
            if rtype in RECORD_TYPES:
                values = (_from_data(rtype, data[0]),) if len(data) == 1 else tuple(sorted(_from_data(rtype, d) for d in data))
                rrsets.append(RRset(zone, RRsetKey(owner.rstrip(".").lower(), rtype), values, int(ttl)))
        return rrsets

    def get(self, zone: str, keys: t.Collection[RRsetKey]) -> dict[RRsetKey, RRset]:
        """One zone-read per RRset, whatever their number: the cost of a batch does not grow with the zone."""
        found = {}
        for key in keys:
            try:
                rrsets = self._rrsets(zone, f"reading {key.label()}", owner=key.name + ".", rtype=key.type)
            except KeaDnsError as exc:
                if "no such node" in str(exc) or "no such record" in str(exc):
                    continue
                raise
            found.update({r.key: r for r in rrsets if r.key == key})
        return found

    def list_zone(self, zone: str) -> list[RRset]:
        return self._rrsets(zone, f"reading zone {zone}")

    def _begin(self, zone: str, what: str) -> None:
        """zone-begin. Knot ties a transaction to the zone, not to a connection: one left open by a client that died
        (a killed daemon) blocks every later one. It is waited for up to STALE_TRANSACTION_WAIT (a knotc user between
        two commands; the socket is released meanwhile, so that user can go on), then aborted."""
        deadline = time.monotonic() + STALE_TRANSACTION_WAIT
        while True:
            try:
                self._do(what, cmd="zone-begin", zone=zone)
                return
            except KeaDnsError as exc:
                if "too many transactions" not in str(exc):
                    raise
            if time.monotonic() >= deadline:
                try:
                    self._do(f"aborting a stale transaction on zone {zone} (open for more than {STALE_TRANSACTION_WAIT:.0f} s)",
                             cmd="zone-abort", zone=zone)
                except TransportError:
                    raise
                except KeaDnsError:
                    pass  # ended meanwhile
                deadline = time.monotonic() + STALE_TRANSACTION_WAIT
                continue
            self.close()
            time.sleep(0.2)

    def apply(self, zone: str, changes: t.Sequence[Change], soa: str | None = None) -> None:
        """``changes`` in one zone transaction; ``soa``: the SOA record (``<ttl> <rdata>``) to set in the same one, so
        that Knot keeps its serial instead of incrementing the one it serves."""
        if not changes and soa is None:
            return
        what = f"the transaction on zone {zone} ({len(changes)} RRsets{' and the SOA' if soa else ''})"
        self._begin(zone, what)
        try:
            if soa is not None:
                ttl, data = soa.split(" ", 1)
                self._do(what, cmd="zone-set", zone=zone, owner=zone + ".", ttl=ttl, rtype="SOA", data=data)
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
            # Report the original error. An abort that cannot be sent (the connection died) is sent on the next one.
            try:
                self._do(what, cmd="zone-abort", zone=zone)
            except TransportError:
                self._orphans.add(zone)
            except KeaDnsError:
                pass  # the commit failed and knotd already ended the transaction
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

    def serial(self, zone: str) -> int | None:
        """The SOA serial Knot serves for ``zone``; None when the zone has no contents (purged, expired, not loaded)."""
        status = self._do(f"reading the status of zone {zone}", cmd="zone-status", zone=zone)
        value = next(iter(status.values()), {}).get("serial", "-")
        return int(value) if value.isdigit() else None

    def reload(self) -> None:
        """Knot's server reload (configuration and changed zone files): the only way Knot 3.2 loads the zone file of a
        zone that has no contents (zone-reload answers "operation not supported" for it)."""
        self._do("reloading the server", cmd="reload")

    def notify(self, zone: str) -> None:
        """Send a NOTIFY of ``zone`` to the remotes of its ``notify`` setting (none configured: nothing is sent)."""
        self._do(f"sending a NOTIFY of zone {zone}", cmd="zone-notify", zone=zone)

    def flush(self, zone: str) -> None:
        """Write the zone to its zone file now (forced, so also with zonefile-sync: -1), waiting until it is done."""
        self._do(f"flushing zone {zone}", cmd="zone-flush", zone=zone, flags="BF")

    def backup(self, directory: str, zone: str | None) -> None:
        """Knot's zone-backup of ``zone`` (every zone when None) into ``directory``, which must not hold a backup:
        zone files, timers, keys and catalog (Knot's defaults) and the journal."""
        self._do(f"zone-backup of {zone or 'every zone'} into {directory}", cmd="zone-backup", zone=zone, data=directory,
                 flags="B", filters="dj")

    def restore(self, directory: str, zone: str, step: t.Callable[[str], None] = lambda _what: None) -> None:
        """Knot's zone-restore of ``zone`` from ``directory``, restoring the parts the backup holds. Without a journal in
        the backup (zone files only), the zone's journal is purged first: Knot would replay it on the restored file.
        ``step(what)`` is called before each command that changes the server (what a failure afterwards reports)."""
        if not os.path.isdir(os.path.join(directory, "journal")):
            step(f"purged the journal of {zone}")
            self._do(f"purging the journal of {zone} before its restore", cmd="zone-purge", zone=zone, flags="BF", filters="j")
        filters = "d" + "".join(flag if os.path.isdir(os.path.join(directory, part)) else flag.upper()
                                for part, flag in BACKUP_PARTS.items())
        step(f"zone-restore of {zone}")
        self._do(f"zone-restore of {zone} from {directory}", cmd="zone-restore", zone=zone, data=directory, flags="B", filters=filters)

    def close(self) -> None:
        """End the control session (knotd then serves the next client); the next call connects again."""
        ctl, self._ctl = self._ctl, None
        if ctl is not None:
            with contextlib.suppress(libknot.control.KnotCtlError):
                ctl.send(libknot.control.KnotCtlType.END)
            ctl.close()


def _read_records(ctl: t.Any) -> dict[tuple[str, str], list[str]]:
    """A zone-read answer as (owner, type) -> [ttl, data, ...], one received unit (record) at a time. libknot's
    ``receive_block`` builds nested dictionaries through a getter per field: 1.4-1.7 s for a zone of 200,000
    records (100,000 names and their markers), against 0.5 s here. A remote error is raised as it raises it."""
    unit = libknot.control.KnotCtlData()
    fields, index = unit.data, libknot.control.KnotCtlDataIdx
    error_at, owner_at, ttl_at, type_at, data_at = (int(i) for i in (index.ERROR, index.OWNER, index.TTL, index.TYPE, index.DATA))
    answer_types = (libknot.control.KnotCtlType.DATA, libknot.control.KnotCtlType.EXTRA)
    records: dict[tuple[str, str], list[str]] = {}
    error = None
    while ctl.receive(unit) in answer_types:
        if fields[error_at]:
            error = fields[error_at].decode()
            continue
        owner = fields[owner_at]
        if not owner:
            continue
        key = (owner.decode(), fields[type_at].decode())
        data = (fields[data_at] or b"").decode()
        entry = records.get(key)
        if entry is None:
            records[key] = [(fields[ttl_at] or b"0").decode(), data]
        else:
            entry.append(data)
    if error is not None:
        raise libknot.control.KnotCtlErrorRemote(error)
    return records


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
    global dns
    if dns is None:
        try:
            import dns.exception
            import dns.rdata
            import dns.rdataclass
            import dns.rdatatype
            import dns.zone
        except ImportError:
            raise MissingLibraryError("dnspython", "dnspython") from None


OPTIONS = (Option("knot_socket", "path", "/run/knot/knot.sock", "Knot control socket", env=("KNOT_SOCKET",)),)


def make(options: t.Mapping[str, t.Any]) -> DnsBackend:
    return KnotBackend(KnotSettings(socket=options["knot_socket"], timeout=float(options["dns_timeout"])))


PROVIDER = Provider("knot", OPTIONS, make)  # a control socket has no credentials
