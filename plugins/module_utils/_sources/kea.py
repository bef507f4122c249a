# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: Kea reservations as a source of DNS records (owner ``kea/<name>``).

Its scope: the A record (DHCPv4) and AAAA record (DHCPv6: every reserved address, never a delegated prefix) of every
selected hostname and, with ``ptr``, the PTR record of every address of a selected reservation, in ``in-addr.arpa``
or ``ip6.arpa`` (nibble format). A hostname is selected when its first label matches one of the ``hostname_filter`` globs (default: the
BMC names ``*-ilo``, ``*-idrac``, ``*-bmc``). The planner (``_dns/sync.py``) changes and deletes only the records of
this scope that carry the source's owner id. The items are reservations; what a batch touches is a ``Touched`` (the
hostnames and addresses of its outbox rows).
"""

from __future__ import annotations

import fnmatch
import functools
import re
import typing as t
from dataclasses import dataclass

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import DEFAULT_TTL, RRset, RRsetKey, fqdn, reverse_name
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.status import ItemRecords
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.sync import Desired, FindZone, unplaced_label
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, NotFoundError
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Reservation
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import DEFAULT_HOSTNAME_FILTER, DEFAULT_OWNER

# What makes a name have no record: not a valid DNS name, or no zone of the backend holds it. Anything else (the
# backend unreachable, credentials refused) fails the whole plan: read as "no record", it would delete owned ones.
NO_RECORD = (InvalidInputError, NotFoundError)
REVERSE_SUFFIXES = (".in-addr.arpa", ".ip6.arpa")
NAME_TYPES = ("A", "AAAA")


@functools.lru_cache(maxsize=32)
def _selector(patterns: tuple[str, ...]) -> re.Pattern:
    """The ``hostname_filter`` globs as one compiled expression, as ``fnmatch.fnmatchcase`` of the lower-cased label
    against each lower-cased glob would match (a reconcile asks it twice per reservation)."""
    if not patterns:
        return re.compile(r"(?!)")  # no glob selects nothing
    return re.compile("|".join(fnmatch.translate(pattern.lower()) for pattern in patterns))


@dataclass(frozen=True)
class Touched:
    """What one batch of changes touches: the hostnames (lower-case, as stored) of DHCPv4 changes (their A records)
    and of DHCPv6 changes (their AAAA records), and addresses of both families (their PTR records)."""

    hostnames: t.Collection[str]
    addresses: t.Collection[str]
    v6_hostnames: t.Collection[str] = frozenset()


def reservation_label(reservation: Reservation) -> str:
    return f"host {reservation.hostname!r} ({reservation.key.label()})"


@dataclass(frozen=True)
class KeaSource:
    zone: str | None = None  # short hostnames are made absolute in this zone; None: hostnames must be absolute
    ttl: int = DEFAULT_TTL
    ptr: bool = False
    ptr_zone: str | None = None  # None: the backend's longest matching reverse zone
    hostname_filter: tuple[str, ...] = DEFAULT_HOSTNAME_FILTER
    owner_id: str = DEFAULT_OWNER  # the owner id of the records this source writes, changes and deletes

    def selects(self, hostname: str | None) -> bool:
        if not hostname:
            return False
        label = hostname.lower().rstrip(".").split(".", 1)[0]
        return _selector(tuple(self.hostname_filter)).match(label) is not None

    def fqdn(self, hostname: str) -> str:
        """The absolute DNS name of a reservation's hostname; InvalidInputError when it is no valid DNS name."""
        return fqdn(hostname, self.zone)

    def _zone_of(self, name: str, rtype: str, find_zone: FindZone) -> str:
        if rtype == "PTR" and self.ptr_zone and name.endswith("." + self.ptr_zone):
            return self.ptr_zone
        if self.zone and (name == self.zone or name.endswith("." + self.zone)):
            return self.zone
        return find_zone(name)

    def records_of(self, reservation: Reservation) -> ItemRecords:
        """The record keys one reservation implies (its DNS status, ``_dns/status.py``), or why it implies none."""
        if reservation.key.family == 4:
            rtype, ips = "A", (reservation.ip,) if reservation.ip else ()
        else:
            rtype, ips = "AAAA", reservation.ipv6_addresses
        if not reservation.hostname:
            return ItemRecords(skipped="no hostname")
        if not self.selects(reservation.hostname):
            return ItemRecords(skipped=f"hostname {reservation.hostname!r} is not selected by hostname_filter")
        if not ips:
            return ItemRecords(skipped="no address")
        try:
            name = self.fqdn(reservation.hostname.lower())
        except InvalidInputError as exc:
            return ItemRecords(skipped=str(exc))
        ptrs = tuple(RRsetKey(reverse_name(ip), "PTR") for ip in ips) if self.ptr else ()
        return ItemRecords(keys=(RRsetKey(name, rtype), *ptrs))

    # -- the Source protocol of _dns/sync.py -------------------------------------------------------------------------
    def desired(self, items: t.Iterable[Reservation], find_zone: FindZone, touched: Touched | None = None) -> Desired:
        """The records implied by the reservations ``items``: A records of ``touched.hostnames`` and PTR records of
        ``touched.addresses``; with ``touched`` None every one they name (a full reconcile)."""
        result = Desired()
        values: dict[tuple[str, str], set[str]] = {}  # (type, subject) -> values
        origins: dict[tuple[str, str], t.Any] = {}  # (type, subject) -> the key of the first reservation implying it
        for reservation in items:
            if reservation.key.family == 4:
                rtype, ips = "A", (reservation.ip,) if reservation.ip else ()
            else:
                rtype, ips = "AAAA", reservation.ipv6_addresses
            if not ips or not self.selects(reservation.hostname):
                continue
            hostname = reservation.hostname.lower()  # type: ignore[union-attr]
            wants_name = touched is None or hostname in (touched.hostnames if rtype == "A" else touched.v6_hostnames)
            ptrs = [ip for ip in ips if touched is None or ip in touched.addresses] if self.ptr else []
            if not wants_name and not ptrs:
                continue
            try:
                name = self.fqdn(hostname)
            except InvalidInputError as exc:
                result.invalid[reservation_label(reservation)] = str(exc)
                continue
            if wants_name:
                values.setdefault((rtype, name), set()).update(ips)
                origins.setdefault((rtype, name), reservation.key)
            for ip in ptrs:
                values.setdefault(("PTR", ip), set()).add(name)
                origins.setdefault(("PTR", ip), reservation.key)
        for (rtype, subject), found in values.items():
            name = reverse_name(subject) if rtype == "PTR" else subject
            try:
                zone = self._zone_of(name, rtype, find_zone)
            except NO_RECORD as exc:  # a transport failure is raised: it says nothing about the record
                result.invalid[unplaced_label(RRsetKey(name, rtype))] = str(exc)
                continue
            key = RRsetKey(name, rtype)
            result.records[key] = RRset(zone, key, tuple(sorted(found)), self.ttl, owner=self.owner_id,
                                        origin=origins[(rtype, subject)])
        return result

    def scope_keys(self, touched: Touched, find_zone: FindZone) -> dict[RRsetKey, str]:
        keys: dict[RRsetKey, str] = {}
        for rtype, hostname in [("A", h) for h in touched.hostnames] + [("AAAA", h) for h in touched.v6_hostnames]:
            if not self.selects(hostname):
                continue
            try:
                name = self.fqdn(hostname)
                keys[RRsetKey(name, rtype)] = self._zone_of(name, rtype, find_zone)
            except NO_RECORD:
                continue  # an invalid or zone-less name has no record to remove; the row reports it
        if self.ptr:
            for address in touched.addresses:
                name = reverse_name(address)
                try:
                    keys[RRsetKey(name, "PTR")] = self._zone_of(name, "PTR", find_zone)
                except NO_RECORD:
                    continue
        return keys

    def in_scope(self, rrset: RRset) -> bool:
        """A and AAAA records of selected names; with ``ptr``, PTR records pointing at selected names (so records that
        dns_record tasks own, with other names, are never reconciled away)."""
        if rrset.key.type in NAME_TYPES:
            return self.selects(rrset.key.name)
        if rrset.key.type == "PTR" and self.ptr:
            return any(self.selects(value) for value in rrset.values)
        return False

    def home_zones(self, listed: t.Sequence[str] | None) -> list[str]:
        """``zone`` and, with ``ptr``, ``ptr_zone``; without ``ptr_zone`` every reverse zone the backend lists, so that
        a reconcile also finds the PTR records of reservations deleted while nothing ran (a backend that cannot list
        its zones, RFC 2136, reads only the reverse zones the current reservations point into)."""
        zones = [zone for zone in (self.zone, self.ptr_zone if self.ptr else None) if zone]
        if self.ptr and not self.ptr_zone and listed:
            zones.extend(zone for zone in listed if zone.endswith(REVERSE_SUFFIXES) and zone not in zones)
        return zones
