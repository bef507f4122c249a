# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: Kea reservations -> inventory hosts (name, variables, groups). No Ansible imports.

Shared by the ``kea_reservations`` inventory plugin and the listener's site-cabinet files, so that a BMC has the
same name, variables and groups in both:

- the host name is the reservation's hostname, lower-cased, without a trailing dot;
- ``ansible_host`` is the reserved IPv4 address (the first DHCPv6 address for a host with DHCPv6 reservations only,
  or with ``prefer_ipv6``); ``ipv6_addresses`` and ``ipv6_address`` (the first) when the hostname has a DHCPv6
  reservation; then ``mac`` (or ``identifier`` for other identifier types),
  ``identifier_type``, ``subnet_id``, ``site``, ``cabinet``, ``rack_unit``, ``bmc_type`` (those the naming pattern
  read), ``fqdn``, ``user_context`` when the reservation has one, and with leases ``lease_state``,
  ``lease_last_seen`` and ``lease_expire``, and with the reservations' DNS status (the plugin reads it when the
  ``dns_status`` table is there) ``dns_status`` (of a host with a DHCPv4 and a DHCPv6 reservation, the more urgent
  one), ``dns_synced_at`` (the older one) and ``dns_status_reason``;
- the groups are the site (``us3``), the site-cabinet (``us3_cab10``, a child of the site) and the BMC type
  (``idrac``), from ``_naming.Location.groups()``.
"""

from __future__ import annotations

import contextlib
import time
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import fqdn
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.status import URGENCY
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import KeaDnsError
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.fields import IDENTIFIER_TYPE_NAMES, format_identifier
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Lease, Reservation
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.naming import HostnameParser, Location

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # lease times: ISO 8601, UTC


def host_name(reservation: Reservation) -> str:
    return str(reservation.hostname).lower().rstrip(".")


def utc(timestamp: int) -> str:
    return time.strftime(TIME_FORMAT, time.gmtime(timestamp))


def host_vars(reservation: Reservation, location: Location | None, zone: str | None, lease: Lease | None = None,
              v6: Reservation | None = None, prefer_ipv6: bool = False) -> dict[str, t.Any]:
    """The variables of one reservation's host, with the addresses of ``v6``, the DHCPv6 reservation of its hostname
    (``reservation`` itself when it is one). Values are plain data (str, int, dict), read from the database."""
    key = reservation.key
    addresses = list((reservation if key.family == 6 else v6 or reservation).ipv6_addresses)
    first = reservation.ip if reservation.ip and not (prefer_ipv6 and addresses) else (addresses[0] if addresses else None)
    found: dict[str, t.Any] = {"ansible_host": first, "subnet_id": key.subnet_id,
                               "identifier_type": IDENTIFIER_TYPE_NAMES[key.identifier_type]}
    if addresses:
        found["ipv6_addresses"], found["ipv6_address"] = addresses, addresses[0]
    found["mac" if key.identifier_type == 0 else "identifier"] = format_identifier(key.identifier)
    if location is not None:
        found["site"], found["cabinet"] = location.site, location.cabinet
        if location.rack_unit is not None:
            found["rack_unit"] = location.rack_unit
        if location.bmc_type is not None:
            found["bmc_type"] = location.bmc_type
    with contextlib.suppress(KeaDnsError):  # a name that is no DNS name just has no fqdn variable
        found["fqdn"] = fqdn(str(reservation.hostname), zone)
    if reservation.user_context:
        found["user_context"] = reservation.user_context
    if lease is not None:
        found["lease_state"] = lease.state
        found["lease_last_seen"] = utc(lease.last_seen)
        found["lease_expire"] = utc(lease.expire)
    return found


def status_vars(statuses: t.Mapping[tuple[int, int], dict], *reservations: Reservation | None) -> dict[str, t.Any]:
    """The DNS status variables of a host from its reservations' stored status (``_outbox/status.stored``)."""
    rows = [statuses[(r.host_id, r.key.family)] for r in reservations if r is not None and (r.host_id, r.key.family) in statuses]
    if not rows:
        return {}
    worst = min(rows, key=lambda row: URGENCY.index(row["status"]))
    found: dict[str, t.Any] = {"dns_status": worst["status"]}
    synced = [row["synced_at"] for row in rows if row["synced_at"]]
    if synced:
        found["dns_synced_at"] = min(synced)
    if worst["reason"]:
        found["dns_status_reason"] = worst["reason"]
    return found


def build(rows: t.Iterable[tuple[Reservation, Lease | None]], parser: HostnameParser, zone: str | None,
          v6: t.Iterable[Reservation] = (), v6_hosts: bool = True, prefer_ipv6: bool = False,
          statuses: t.Mapping[tuple[int, int], dict] | None = None) -> dict[str, t.Any]:
    """The inventory of some reservations, as plain JSON data (the inventory plugin caches it as it is). ``v6`` are
    DHCPv6 reservations: their addresses join the host of the same hostname, and with ``v6_hosts`` a hostname with
    DHCPv6 reservations only is a host of its own (its ``ansible_host`` the first address).


    - ``hosts``: ``[name, variables, groups]`` per host, ``groups`` being ``[site, site_cabinet, bmc_type or None]``
      for a hostname the naming pattern placed and None for one it did not;
    - ``unparsed``: the hostnames the naming pattern could not place, sorted;
    - ``duplicates``: hostnames reserved more than once; the first reservation (lowest subnet id, then IP) is kept;
    - ``skipped``: how many reservations had no hostname or no IPv4 address (they cannot be hosts).
    """
    hosts: list[list] = []
    seen: set[str] = set()
    unparsed: list[str] = []
    duplicates: set[str] = set()
    skipped = 0
    by_name: dict[str, Reservation] = {}
    for reservation in v6:
        if reservation.hostname and reservation.ipv6_addresses:
            by_name.setdefault(host_name(reservation), reservation)  # the first (lowest subnet id) of a name reserved twice
    only_v6 = [(reservation, None) for name, reservation in by_name.items()] if v6_hosts else []
    for reservation, lease in [*rows, *only_v6]:
        if reservation.key.family == 6 and host_name(reservation) in seen:
            continue  # its addresses are with the host of its DHCPv4 reservation
        if not reservation.hostname or not (reservation.ip or reservation.ipv6_addresses):
            skipped += 1
            continue
        name = host_name(reservation)
        if name in seen:
            duplicates.add(name)
            continue
        seen.add(name)
        location = parser.parse(name)
        if location is None:
            unparsed.append(name)
            groups = None
        else:
            named = location.groups()
            groups = [named["site"], named["cabinet"], named.get("bmc_type")]
        variables = host_vars(reservation, location, zone, lease, by_name.get(name), prefer_ipv6)
        if statuses:
            variables.update(status_vars(statuses, reservation, by_name.get(name)))
        hosts.append([name, variables, groups])
    return {"hosts": hosts, "unparsed": sorted(unparsed), "duplicates": sorted(duplicates), "skipped": skipped}
