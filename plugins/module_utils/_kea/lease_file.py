# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the active leases of a Kea memfile lease file (the listener's legacy mode).

Kea's memfile appends one CSV line per lease change (``address,hwaddr,client_id,valid_lifetime,expire,subnet_id,
fqdn_fwd,fqdn_rev,hostname,state,...``); the last line of an address wins. While lease file clean-up runs, older
lines sit in ``<file>.2`` and ``<file>.1``; Kea reads them in the order .2, .1, file, and so does this parser. A lease
is active when its state is 0 (default), its valid lifetime is not 0 (0 marks a deleted lease) and it has not
expired. Lines that do not parse are counted and skipped.
"""

from __future__ import annotations

import csv
import ipaddress
import os
import time
import typing as t
from dataclasses import dataclass

from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Reservation, ReservationKey


@dataclass
class LeaseFileState:
    reservations: list[Reservation]
    invalid_lines: int
    signature: tuple  # changes when any of the files changed


def _paths(path: str) -> list[str]:
    return [f"{path}.2", f"{path}.1", path]


def _signature(paths: t.Sequence[str]) -> tuple:
    found = []
    for path in paths:
        try:
            stat = os.stat(path)
            found.append((path, stat.st_mtime_ns, stat.st_size, stat.st_ino))
        except FileNotFoundError:
            found.append((path, None))
    return tuple(found)


def read(path: str, now: float | None = None) -> LeaseFileState:
    """The active leases of ``path`` (and its clean-up files) as reservations (hw-address identifiers)."""
    now = time.time() if now is None else now
    paths = _paths(path)
    latest: dict[str, dict[str, str]] = {}
    invalid = 0
    if not os.path.exists(path):
        raise FileNotFoundError(f"lease file {path} does not exist")
    for name in paths:
        if not os.path.exists(name):
            continue
        with open(name, newline="", encoding="utf-8", errors="replace") as handle:
            for row in csv.DictReader(handle):
                if not row.get("address") or row.get("address") == "address":
                    continue
                latest[row["address"]] = row
    reservations = []
    for row in latest.values():
        try:
            address = str(ipaddress.IPv4Address(row["address"].strip()))
            state = int(row.get("state") or 0)
            lifetime = int(row.get("valid_lifetime") or 0)
            expire = int(row.get("expire") or 0)
            subnet_id = int(row.get("subnet_id") or 0)
            hwaddr = bytes.fromhex((row.get("hwaddr") or "").replace(":", "").replace("-", ""))
        except (ValueError, KeyError, AttributeError):
            invalid += 1
            continue
        if state != 0 or lifetime == 0 or expire <= now:
            continue
        hostname = (row.get("hostname") or "").strip().rstrip(".") or None
        reservations.append(Reservation(key=ReservationKey(subnet_id, 0, hwaddr), ip=address, hostname=hostname))
    reservations.sort(key=lambda r: (r.hostname or "", r.ip or ""))
    return LeaseFileState(reservations, invalid, _signature(paths))


def signature(path: str) -> tuple:
    """Changes whenever the lease file or one of its clean-up files changes."""
    return _signature(_paths(path))
