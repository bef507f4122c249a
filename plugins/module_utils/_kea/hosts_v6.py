# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: DHCPv6 reservations in Kea's ``hosts`` and ``ipv6_reservations`` tables <-> the model.

A DHCPv6 reservation is a ``hosts`` row with ``dhcp6_subnet_id`` set, and its addresses (``type`` 0, IA_NA, /128)
and delegated prefixes (``type`` 2, IA_PD) in ``ipv6_reservations`` (``ON DELETE CASCADE``), as Kea writes them: the
host row first, its addresses after it. ``address`` is VARCHAR(39) up to Kea schema 17 and INET from 18:
``host(address::inet)`` reads both, and a text value is written to both. The collection writes a DHCPv6 reservation
in a row of its own; a row that also holds a DHCPv4 reservation (Kea's config backend or another tool wrote it) keeps
it when the DHCPv6 one is removed (``hosts.py`` does the same the other way round). Every statement is parameterised.
"""

from __future__ import annotations

import ipaddress
import json
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.db import psycopg2
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Reservation, ReservationKey

ADDRESS, PREFIX = 0, 2  # ipv6_reservations.type: IA_NA address, IA_PD prefix
SELECT = (
    "SELECT h.host_id, h.dhcp_identifier, h.dhcp_identifier_type, h.dhcp6_subnet_id, h.hostname, h.dhcp6_client_classes, "
    "h.user_context, "
    "coalesce(array_agg(host(r.address::inet)) FILTER (WHERE r.type = 0), '{}'), "
    "coalesce(array_agg(host(r.address::inet) || '/' || r.prefix_len) FILTER (WHERE r.type = 2), '{}') "
    "FROM hosts h LEFT JOIN ipv6_reservations r ON r.host_id = h.host_id"
)
ORDER = "GROUP BY h.host_id ORDER BY h.dhcp6_subnet_id, h.hostname, h.host_id"


def row_to_reservation(row: t.Sequence) -> Reservation:
    host_id, identifier, identifier_type, subnet_id, hostname, classes, context, addresses, prefixes = row
    try:
        user_context = json.loads(context) if context else None
    except ValueError:
        user_context = {"unparsed": context}
    return Reservation(
        key=ReservationKey(subnet_id=int(subnet_id), identifier_type=int(identifier_type), identifier=bytes(identifier), family=6),
        hostname=hostname,
        client_classes=tuple(name.strip() for name in classes.split(",") if name.strip()) if classes else (),
        user_context=user_context if user_context is None or isinstance(user_context, dict) else {"unparsed": context},
        host_id=host_id,
        ipv6_addresses=tuple(sorted(str(ipaddress.IPv6Address(a)) for a in addresses)),
        prefixes=tuple(sorted(str(ipaddress.IPv6Network(p, strict=False)) for p in prefixes)),
    )


def select_touching(cursor: t.Any, hostnames: t.Collection[str], addresses: t.Collection[str]) -> list[Reservation]:
    """DHCPv6 reservations whose hostname (case-insensitive) or one of whose addresses is one of those given."""
    cursor.execute(f"{SELECT} WHERE h.dhcp6_subnet_id IS NOT NULL AND (lower(h.hostname) = ANY(%s) OR h.host_id IN "
                   f"(SELECT host_id FROM ipv6_reservations WHERE type = 0 AND host(address::inet) = ANY(%s))) {ORDER}",
                   (sorted({h.lower() for h in hostnames}), sorted(addresses)))
    return [row_to_reservation(row) for row in cursor.fetchall()]


def _row(reservation: Reservation) -> tuple:
    return (reservation.hostname, ",".join(reservation.client_classes) or None,
            json.dumps(reservation.user_context, sort_keys=True) if reservation.user_context is not None else None)


def _address_rows(host_id: int, reservation: Reservation) -> list[tuple]:
    return ([(address, 128, ADDRESS, host_id) for address in reservation.ipv6_addresses]
            + [(prefix.split("/")[0], int(prefix.split("/")[1]), PREFIX, host_id) for prefix in reservation.prefixes])


def apply(cursor: t.Any, create: list[Reservation], update: list[tuple[Reservation, Reservation]], delete: list[Reservation]) -> None:
    """The DHCPv6 part of a plan: deletes first (so that addresses can move), then updates, then creates."""
    extras = psycopg2.extras
    if delete:
        ids = [r.host_id for r in delete]
        cursor.execute("DELETE FROM ipv6_reservations WHERE host_id = ANY(%s)", (ids,))
        cursor.execute("DELETE FROM hosts WHERE host_id = ANY(%s) AND dhcp4_subnet_id IS NULL", (ids,))
        cursor.execute("UPDATE hosts SET dhcp6_subnet_id = NULL, dhcp6_client_classes = NULL WHERE host_id = ANY(%s)", (ids,))
    if update:
        extras.execute_values(
            cursor,
            "UPDATE hosts SET hostname = v.hostname, dhcp6_client_classes = v.classes, user_context = v.context "
            "FROM (VALUES %s) AS v(host_id, hostname, classes, context) WHERE hosts.host_id = v.host_id",
            [(after.host_id, *_row(after)) for _before, after in update],
            template="(%s::integer, %s::varchar, %s::varchar, %s::text)", page_size=1000)
        gone, added = [], []
        for before, after in update:
            old, new = set(_address_rows(before.host_id, before)), set(_address_rows(before.host_id, after))
            gone.extend(sorted(old - new))
            added.extend(sorted(new - old))
        if gone:
            extras.execute_values(
                cursor,
                "DELETE FROM ipv6_reservations r USING (VALUES %s) AS v(address, prefix_len, type, host_id) "
                "WHERE r.host_id = v.host_id AND host(r.address::inet) = v.address AND r.prefix_len = v.prefix_len AND r.type = v.type",
                gone, template="(%s::text, %s::smallint, %s::smallint, %s::integer)", page_size=1000)
        _insert_addresses(cursor, added)
    if create:
        made = extras.execute_values(
            cursor,
            "INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp6_subnet_id, hostname, dhcp6_client_classes, user_context) "
            "VALUES %s RETURNING host_id, dhcp_identifier, dhcp_identifier_type, dhcp6_subnet_id",
            [(psycopg2.Binary(r.key.identifier), r.key.identifier_type, r.key.subnet_id, *_row(r)) for r in create],
            page_size=1000, fetch=True)
        ids = {(bytes(identifier), int(kind), int(subnet)): host_id for host_id, identifier, kind, subnet in made}
        _insert_addresses(cursor, [row for r in create
                                   for row in _address_rows(ids[(r.key.identifier, r.key.identifier_type, r.key.subnet_id)], r)])


def _insert_addresses(cursor: t.Any, rows: list[tuple]) -> None:
    if rows:
        psycopg2.extras.execute_values(cursor, "INSERT INTO ipv6_reservations (address, prefix_len, type, host_id) VALUES %s", rows,
                                       page_size=1000)
