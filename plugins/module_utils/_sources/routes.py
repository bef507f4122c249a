# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: Kubernetes routes as a source of DNS records (owner ``k8s/<cluster>``).

The items are ``RouteRecords`` (``route_hosts.py``: what each Ingress, IngressRoute or HTTPRoute wants). Its scope:
the A and AAAA records of names in the source's zones (every name when none is set), except the names of routes whose
address is not known yet (``RouteRecords.pending``): their records stay as they are, so an emptied load balancer
status never deletes them. The planner (``_dns/sync.py``) changes and deletes only records that carry this source's
owner id, so the Kea pipeline's records in the same zone, and records nobody here owns, are never touched.

Two routes may claim one name: its record holds the targets of both (the smallest TTL), its mark the first route.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import RRset, RRsetKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.status import ItemRecords
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.sync import Desired, FindZone, unplaced_label
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, NotFoundError
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.route_hosts import RouteRecords, RouteSettings, route_records
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.route_watch import KINDS, ObjectKey

DEFAULT_ROUTE_OWNER = "k8s/default"
NAME_TYPES = ("A", "AAAA")
REVERSE_SUFFIXES = (".in-addr.arpa", ".ip6.arpa")
NO_RECORD = (InvalidInputError, NotFoundError)


@dataclass(frozen=True)
class RouteNames:
    """What a batch of route changes touches: the names of the changed routes, before and after the change."""

    names: frozenset[str]


def route_settings(options: t.Mapping[str, t.Any]) -> RouteSettings:
    """The settings from the route source's options (``_options.ROUTE_SOURCE``)."""
    if not 0 < options["ttl"] <= 2147483647:
        raise InvalidInputError("ttl", options["ttl"], "a TTL ranges from 1 to 2147483647")
    return RouteSettings(zones=tuple(options["zones"] or ()), target=options["target"] or None, tls_hosts=options["tls_hosts"],
                         ingress_classes=tuple(options["ingress_classes"] or ()), wildcards=options["wildcards"], default_ttl=options["ttl"])


def records_of(objects: t.Mapping[ObjectKey, t.Mapping], settings: RouteSettings,
               keys: t.Iterable[ObjectKey] | None = None) -> dict[ObjectKey, RouteRecords | None]:
    """What the routes among ``objects`` (of ``keys``, or all) want; None for a key whose object is gone. An HTTPRoute
    reads the Gateways of ``objects``; a Gateway itself wants nothing."""
    gateways = {(key[1], key[2]): obj for key, obj in objects.items() if key[0] == "Gateway"}
    found: dict[ObjectKey, RouteRecords | None] = {}
    for key in objects if keys is None else keys:
        if key[0] == "Gateway":
            continue
        obj = objects.get(key)
        found[key] = None if obj is None else route_records(KINDS[key[0]].kind, obj, settings, gateways)
    return found


def held_names(items: t.Iterable[RouteRecords]) -> frozenset[str]:
    """The names only pending routes claim (no route gives them an address): their records are left as they are."""
    pending, served = set(), set()
    for item in items:
        (pending if item.pending else served).update(item.names)
    return frozenset(pending - served)


@dataclass(frozen=True)
class RouteSource:
    settings: RouteSettings = field(default_factory=RouteSettings)
    owner_id: str = DEFAULT_ROUTE_OWNER
    held: frozenset[str] = frozenset()  # held_names() of the current routes

    def records_of(self, item: RouteRecords) -> ItemRecords:
        """The record keys one route implies (its DNS status, ``_dns/status.py``), or why it implies none (yet)."""
        if not item.names:
            return ItemRecords(skipped="; ".join(item.problems + item.ignored) or "no host name")
        if item.pending:
            return ItemRecords(pending="its address is not known yet (empty load balancer status)")
        return ItemRecords(keys=tuple(rrset.key for rrset in item.rrsets(lambda name: name)))

    def desired(self, items: t.Iterable[RouteRecords], find_zone: FindZone, touched: RouteNames | None = None) -> Desired:
        """The A and AAAA records the routes want (of ``touched.names`` only, or all of them)."""
        result = Desired()
        wanted: dict[RRsetKey, list[t.Any]] = {}  # key -> [values, ttl, origin]
        for item in items:
            if touched is not None and touched.names.isdisjoint(item.names):
                continue  # one change among 1,000 routes: building every route's records took 8 ms
            if item.problems:
                result.invalid[item.ref] = "; ".join(item.problems)
            for rrset in item.rrsets(lambda name: name, self.owner_id):  # the zone is looked up once per name below
                if touched is not None and rrset.key.name not in touched.names:
                    continue
                entry = wanted.setdefault(rrset.key, [set(), rrset.ttl, item.ref])
                entry[0].update(rrset.values)
                entry[1] = min(entry[1], rrset.ttl)
        for key, (values, ttl, origin) in wanted.items():
            try:
                zone = find_zone(key.name)
            except NO_RECORD as exc:
                result.invalid[unplaced_label(key)] = str(exc)
                continue
            result.records[key] = RRset(zone, key, tuple(sorted(values)), ttl, owner=self.owner_id, origin=origin)
        return result

    def scope_keys(self, touched: RouteNames, find_zone: FindZone) -> dict[RRsetKey, str]:
        keys: dict[RRsetKey, str] = {}
        for name in touched.names:
            if name in self.held or not self.settings.in_zones(name):
                continue
            try:
                zone = find_zone(name)
            except NO_RECORD:
                continue
            keys.update({RRsetKey(name, rtype): zone for rtype in NAME_TYPES})
        return keys

    def in_scope(self, rrset: RRset) -> bool:
        return rrset.key.type in NAME_TYPES and rrset.key.name not in self.held and self.settings.in_zones(rrset.key.name)

    def home_zones(self, listed: t.Sequence[str] | None) -> list[str]:
        """The zones of the settings; without any, every forward zone the backend lists (none where it cannot list)."""
        if self.settings.zones:
            return list(self.settings.zones)
        return [zone for zone in listed or () if not zone.endswith(REVERSE_SUFFIXES)]
