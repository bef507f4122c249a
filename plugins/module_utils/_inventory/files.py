# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the site-cabinet inventory files the listener writes (``<site>-<cabinet>-discovery.yml``).

One YAML inventory file per cabinet, as the replaced daemon wrote them, so that a directory of them is one inventory:
the site group (``us3``) holds the site-cabinet group (``us3_cab10``) which holds the hosts; a BMC-type group
(``idrac``) lists them again. Host names, variables and groups are those of the kea_reservations inventory plugin (``_inventory/hosts.py``). A file is written
atomically (temporary file, then rename) and only when its content changes; a file the listener wrote earlier for a
cabinet that has no BMC left is removed. Files without the listener's header are never touched.
"""

from __future__ import annotations

import os
import re
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._files import replacing
from ansible_collections.ddi.kea_dns.plugins.module_utils._inventory.hosts import host_name, host_vars
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Reservation
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.naming import HostnameParser, Location
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.kea import KeaSource

try:
    import yaml
except ImportError:  # pragma: no cover - the daemon's requirements include PyYAML
    yaml = None

# libyaml's emitter when PyYAML has it (its wheels do): about ten times faster, and the inventory thread holds the
# interpreter lock for less time, so the DNS path is not delayed.
_DUMPER = getattr(yaml, "CSafeDumper", None) or getattr(yaml, "SafeDumper", None)
HEADER = "# Written by the ddi.kea_dns listener"
SUFFIX = "-discovery.yml"
FILE_PART_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class Renderer:
    """Renders the files, remembering per cabinet the text of the previous call and a fingerprint of its
    reservations: a batch that touched one cabinet re-renders that cabinet only, so the cost per event does not grow
    with the fleet. Only texts and fingerprints are kept, not the reservations (at 100,000 reservations keeping them
    held about 150 MB for the daemon's whole life)."""

    def __init__(self, parser: HostnameParser, settings: KeaSource) -> None:
        self.parser, self.settings = parser, settings
        self._texts: dict[tuple[str, str], tuple[tuple[int, ...], str]] = {}

    def render(self, reservations: t.Iterable[Reservation]) -> tuple[dict[str, str], list[str]]:
        """File name -> content for every cabinet, and the selected hostnames the naming pattern could not place.
        DHCPv6 reservations add their addresses to the host of their hostname, or are a host of their own when the
        hostname has no DHCPv4 reservation (as in the inventory plugin, ``hosts.build``)."""
        reservations = list(reservations)
        with_v4 = {host_name(r) for r in reservations if r.key.family == 4 and r.ip and r.hostname}
        v6: dict[str, Reservation] = {}
        for reservation in reservations:
            if reservation.key.family == 6 and reservation.hostname and reservation.ipv6_addresses:
                v6.setdefault(host_name(reservation), reservation)
        cabinets: dict[tuple[str, str], list[tuple[Reservation, Location, Reservation | None]]] = {}
        unplaced = []
        for reservation in reservations:
            if not self.settings.selects(reservation.hostname):
                continue
            if reservation.key.family == 6:
                if host_name(reservation) in with_v4 or v6.get(host_name(reservation)) is not reservation:
                    continue  # its addresses are with the host of its DHCPv4 reservation, or of the first DHCPv6 one
            elif not reservation.ip:
                continue
            location = self.parser.parse(reservation.hostname)
            if location is None or not FILE_PART_RE.match(location.site) or not FILE_PART_RE.match(location.cabinet):
                unplaced.append(str(reservation.hostname))
            else:
                extra = v6.get(host_name(reservation)) if reservation.key.family == 4 else None
                cabinets.setdefault((location.site, location.cabinet), []).append((reservation, location, extra))
        texts: dict[tuple[str, str], tuple[tuple[int, ...], str]] = {}
        for key, members in cabinets.items():
            signature = tuple(sorted(_fingerprint(reservation, extra) for reservation, _location, extra in members))
            previous = self._texts.get(key)
            texts[key] = previous if previous is not None and previous[0] == signature else (signature, _text(key, self._entries(members)))
        self._texts = texts
        return {f"{site}-{cabinet}{SUFFIX}": text for (site, cabinet), (_sig, text) in sorted(texts.items())}, sorted(unplaced)

    def _entries(self, members: list[tuple[Reservation, Location, Reservation | None]]) -> list[tuple]:
        return [(location.site, location.cabinet, location.groups(), host_name(reservation),
                 host_vars(reservation, location, self.settings.zone, v6=extra)) for reservation, location, extra in members]


def _fingerprint(reservation: Reservation, v6: Reservation | None = None) -> int:
    """What a host's entry is made of: the reservation (its hash leaves out user_context), its user context, and the
    addresses of the DHCPv6 reservation of its hostname."""
    return hash((reservation, repr(reservation.user_context) if reservation.user_context else None, v6.ipv6_addresses if v6 else None))


def _text(key: tuple[str, str], members: list[tuple]) -> str:
    site, cabinet = key
    groups = members[0][2]
    # sorted() is stable: a name reserved twice keeps its first reservation, as in the inventory plugin (_inventory.build)
    hosts: dict[str, dict] = {}
    for entry in sorted(members, key=lambda entry: entry[3]):
        hosts.setdefault(entry[3], entry[4])
    children: dict[str, t.Any] = {groups["site"]: {"children": {groups["cabinet"]: {"hosts": hosts}}}}
    types: dict[str, dict] = {}
    for entry in members:
        if "bmc_type" in entry[2]:
            types.setdefault(entry[2]["bmc_type"], {})[entry[3]] = None
    for group, names in sorted(types.items()):
        children[group] = {"hosts": dict(sorted(names.items()))}
    text = yaml.dump({"all": {"children": children}}, Dumper=_DUMPER, default_flow_style=False, sort_keys=False)
    return f"{HEADER} (site {site}, cabinet {cabinet}); rewritten when reservations change.\n---\n{text}"


def render(reservations: t.Iterable[Reservation], parser: HostnameParser, settings: KeaSource) -> tuple[dict[str, str], list[str]]:
    """One-off rendering (see Renderer)."""
    return Renderer(parser, settings).render(reservations)


def changes(output_dir: str, files: t.Mapping[str, str]) -> tuple[dict[str, str | None], list[str]]:
    """What write() would do: the files whose content differs (name -> current content, None when missing), and the
    listener's files of cabinets that are gone."""
    differing: dict[str, str | None] = {}
    for name, content in sorted(files.items()):
        try:
            with open(os.path.join(output_dir, name), encoding="utf-8") as current:
                text = current.read()
        except FileNotFoundError:
            text = None
        if text != content:
            differing[name] = text
    stale = []
    if os.path.isdir(output_dir):
        stale = [name for name in sorted(os.listdir(output_dir))
                 if name.endswith(SUFFIX) and name not in files and _is_ours(os.path.join(output_dir, name))]
    return differing, stale


def write(output_dir: str, files: t.Mapping[str, str]) -> tuple[list[str], list[str]]:
    """Make ``output_dir`` hold exactly ``files`` among the listener's files; returns (written, removed) names."""
    os.makedirs(output_dir, exist_ok=True)
    differing, stale = changes(output_dir, files)
    for name in differing:
        with replacing(os.path.join(output_dir, name), 0o644, prefix=f".{name}.") as temporary, open(temporary, "w", encoding="utf-8") as handle:
            handle.write(files[name])
    for name in stale:
        os.unlink(os.path.join(output_dir, name))
    return list(differing), stale


def _is_ours(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.readline().startswith(HEADER)
    except (OSError, UnicodeDecodeError):
        return False
