# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: ownership as TXT marker records, for backends that keep no owner metadata.

Wraps a backend (RFC 2136, Knot, PowerDNS in ``txt`` mode). For every RRset the collection writes at ``<name>`` it
keeps a TXT RRset at ``_kea-dns.<name>`` holding one value per owned type, the mark of ``ownership.py``
(``managed-by ddi.kea_dns A owner=kea/default ref=subnet-1/hw-address/...``; written before owner ids:
``managed-by ddi.kea_dns A``, read as the default owner). The marker changes go in the same call as the records, so on
the atomic backends records and markers change together. Reads fold the markers into ``RRset.owner`` and hide them.
"""

from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import Change, DnsBackend, RRset, RRsetKey, parse_name
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.ownership import Mark, format_mark, parse_mark

MARKER_LABEL = "_kea-dns"


def marker_key(key: RRsetKey) -> RRsetKey:
    """The key of the marker of ``key``. Its name is a checked name (or one the server holds), so only the longer
    name's length can be wrong (InvalidInputError from parse_name); checking every label again cost a reconcile of
    100,000 names 0.8 s."""
    name = f"{MARKER_LABEL}.{key.name}"
    if len(name) > 253:
        parse_name(name, "name")
    return RRsetKey(name, "TXT")


def marks_by_type(marker: RRset | None) -> dict[str, Mark]:
    """The owner marks a marker RRset holds, by the type they are for."""
    found = {}
    for value in marker.values if marker is not None else ():
        mark = parse_mark(value)
        if mark is not None and mark.rtype:
            found[mark.rtype] = mark
    return found


def is_marker(key: RRsetKey) -> bool:
    return key.type == "TXT" and key.name.startswith(MARKER_LABEL + ".")


class OwnerTxtBackend(DnsBackend):
    def __init__(self, inner: DnsBackend) -> None:
        self.inner = inner
        # The markers read are remembered for one batch only (released after it, with the inner connections).
        self.traits = dataclasses.replace(inner.traits, ownership=True, release_after_batch=True)
        self._markers: dict[RRsetKey, RRset | None] = {}  # marker key -> marker read (None: absent)
        self._listed: set[str] = set()  # zones read whole (list_zone): a marker of theirs not in _markers is absent

    def find_zone(self, name: str) -> str:
        return self.inner.find_zone(name)

    def zones(self) -> list[str] | None:
        return self.inner.zones()

    def _fold(self, rrsets: t.Iterable[RRset]) -> list[RRset]:
        records: list[RRset] = []
        markers: dict[str, RRset] = {}  # by name (cheaper than by key for the 200,000 RRsets of a large zone)
        for rrset in rrsets:
            if is_marker(rrset.key):
                markers[rrset.key.name] = rrset
            else:
                records.append(rrset)
        folded = []
        for rrset in records:
            marker = markers.get(f"{MARKER_LABEL}.{rrset.key.name}")  # the name of marker_key(rrset.key)
            mark = marks_by_type(marker).get(rrset.key.type) if marker is not None else None
            # Owned by its marker, or by the inner backend's own metadata (a PowerDNS comment from before the move to markers).
            if mark is not None and rrset.owner is None:
                rrset = RRset(rrset.zone, rrset.key, rrset.values, rrset.ttl, owner=mark.owner)  # dataclasses.replace costs 3 times more
            folded.append(rrset)
        return folded

    def get(self, zone: str, keys: t.Collection[RRsetKey]) -> dict[RRsetKey, RRset]:
        wanted = [key for key in keys if not is_marker(key)]
        markers = sorted({marker_key(key) for key in wanted})
        found = self.inner.get(zone, [*wanted, *markers])
        for key in markers:
            self._markers[key] = found.get(key)
        return {r.key: r for r in self._fold(found.values())}

    def list_zone(self, zone: str) -> list[RRset]:
        """Every RRset of the zone, ownership folded in. The zone's markers are remembered, absent ones too: applying
        the changes of a reconcile then reads no marker again (one read per new name cost 100,000 round trips into an
        empty zone of 100,000)."""
        rrsets = self.inner.list_zone(zone)
        found = {r.key: r for r in rrsets if is_marker(r.key)}
        for key, marker in list(self._markers.items()):
            if marker is not None and marker.zone == zone and key not in found:
                self._markers[key] = None  # read before, gone now
        self._markers.update(found)
        self._listed.add(zone)
        return self._fold(rrsets)

    def _marker_changes(self, zone: str, changes: t.Sequence[Change]) -> list[Change]:
        unread = sorted({marker_key(c.key) for c in changes} - set(self._markers))
        if unread and zone in self._listed:
            self._markers.update(dict.fromkeys(unread))
        elif unread:
            found = self.inner.get(zone, unread)
            self._markers.update({key: found.get(key) for key in unread})
        values: dict[RRsetKey, set[str]] = {}
        ttls: dict[RRsetKey, int] = {}
        for change in changes:
            key = marker_key(change.key)
            before = self._markers[key]
            current = values.setdefault(key, set(before.values) if before else set())
            rtype = change.key.type
            current.difference_update({v for v in current if (mark := parse_mark(v)) is not None and mark.rtype == rtype})
            if change.after is not None and change.after.owner is not None:
                current.add(format_mark(change.after.owner, change.after.origin, rtype))
                ttls[key] = change.after.ttl
        marker_changes = []
        for key, wanted in sorted(values.items(), key=lambda item: (item[0].name, item[0].type)):
            before = self._markers[key]
            if set(before.values if before else ()) == wanted:
                continue
            ttl = ttls.get(key, before.ttl if before else 600)
            after = RRset(zone, key, tuple(sorted(wanted)), ttl, owner=_marker_owner(wanted)) if wanted else None
            marker_changes.append(Change(before, after))
        return marker_changes

    def apply(self, zone: str, changes: t.Sequence[Change]) -> None:
        marker_changes = self._marker_changes(zone, changes)
        self.inner.apply(zone, [*changes, *marker_changes])
        for change in marker_changes:
            self._markers[change.key] = change.after

    def close(self) -> None:
        """Also forgets the markers read: the next batch reads what it touches again."""
        self._markers.clear()
        self._listed.clear()
        self.inner.close()


def _marker_owner(values: t.Iterable[str]) -> str | None:
    """A marker RRset is the collection's own record (it never shows in reads): its owner is that of its first mark."""
    for value in sorted(values):
        mark = parse_mark(value)
        if mark is not None:
            return mark.owner
    return None
