# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: ownership as TXT marker records, for backends that keep no owner metadata.

Wraps a backend (RFC 2136, Knot). For every RRset the collection writes at ``<name>`` it keeps a TXT RRset at
``_kea-dns.<name>`` holding one value per owned type (``managed-by ddi.kea_dns A``). The marker changes go in
the same call as the records, so on the atomic backends records and markers change together. Reads fold the
markers into ``RRset.owned`` and hide them.
"""

from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import OWNER_MARK, Change, DnsBackend, RRset, RRsetKey, parse_name

MARKER_LABEL = "_kea-dns"


def marker_key(key: RRsetKey) -> RRsetKey:
    return RRsetKey(parse_name(f"{MARKER_LABEL}.{key.name}", "name"), "TXT")


def marker_value(rtype: str) -> str:
    return f"{OWNER_MARK} {rtype}"


def is_marker(key: RRsetKey) -> bool:
    return key.type == "TXT" and key.name.startswith(MARKER_LABEL + ".")


class OwnerTxtBackend(DnsBackend):
    def __init__(self, inner: DnsBackend) -> None:
        self.inner = inner
        self.traits = dataclasses.replace(inner.traits, ownership=True)
        self._markers: dict[RRsetKey, RRset | None] = {}  # marker key -> marker read (None: absent)

    def find_zone(self, name: str) -> str:
        return self.inner.find_zone(name)

    def _fold(self, rrsets: t.Iterable[RRset]) -> list[RRset]:
        rrsets = list(rrsets)
        markers = {r.key: r for r in rrsets if is_marker(r.key)}
        folded = []
        for rrset in rrsets:
            if is_marker(rrset.key):
                continue
            marker = markers.get(marker_key(rrset.key))
            folded.append(dataclasses.replace(rrset, owned=bool(marker and marker_value(rrset.key.type) in marker.values)))
        return folded

    def get(self, zone: str, keys: t.Collection[RRsetKey]) -> dict[RRsetKey, RRset]:
        wanted = [key for key in keys if not is_marker(key)]
        markers = sorted({marker_key(key) for key in wanted})
        found = self.inner.get(zone, [*wanted, *markers])
        for key in markers:
            self._markers[key] = found.get(key)
        return {r.key: r for r in self._fold(found.values())}

    def list_zone(self, zone: str) -> list[RRset]:
        rrsets = self.inner.list_zone(zone)
        for rrset in rrsets:
            if is_marker(rrset.key):
                self._markers[rrset.key] = rrset
        return self._fold(rrsets)

    def _marker_changes(self, zone: str, changes: t.Sequence[Change]) -> list[Change]:
        unread = sorted({marker_key(c.key) for c in changes} - set(self._markers))
        if unread:
            found = self.inner.get(zone, unread)
            self._markers.update({key: found.get(key) for key in unread})
        values: dict[RRsetKey, set[str]] = {}
        ttls: dict[RRsetKey, int] = {}
        for change in changes:
            key = marker_key(change.key)
            before = self._markers[key]
            current = values.setdefault(key, set(before.values) if before else set())
            if change.after is not None and change.after.owned:
                current.add(marker_value(change.key.type))
                ttls[key] = change.after.ttl
            elif change.after is None:
                current.discard(marker_value(change.key.type))
        marker_changes = []
        for key, wanted in sorted(values.items()):
            before = self._markers[key]
            if set(before.values if before else ()) == wanted:
                continue
            ttl = ttls.get(key, before.ttl if before else 600)
            after = RRset(zone, key, tuple(sorted(wanted)), ttl, owned=True) if wanted else None
            marker_changes.append(Change(before, after))
        return marker_changes

    def apply(self, zone: str, changes: t.Sequence[Change]) -> None:
        marker_changes = self._marker_changes(zone, changes)
        self.inner.apply(zone, [*changes, *marker_changes])
        for change in marker_changes:
            self._markers[change.key] = change.after

    def close(self) -> None:
        self.inner.close()
