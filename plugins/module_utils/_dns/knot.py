# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: Knot DNS through its control socket (libknot, as knotc uses it).

A batch is one zone transaction (zone-begin, zone-unset/zone-set, zone-commit). Any error aborts the
transaction, so none is left open and nothing is half-applied. Knot keeps no owner metadata.
"""

from __future__ import annotations

import contextlib
import ipaddress
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
    import libknot
    import libknot.control
except ImportError:  # pragma: no cover - reported by KnotBackend()
    libknot = None

WHOLE_ZONE_READ = 10  # more RRsets than this: read the zone once instead of one zone-read each


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

    def close(self) -> None:
        with contextlib.suppress(libknot.control.KnotCtlError):
            self._ctl.send(libknot.control.KnotCtlType.END)
            self._ctl.close()
