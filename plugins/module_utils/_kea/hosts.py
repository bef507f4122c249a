# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: Kea's ``hosts`` table <-> the reservation model.

Every statement is parameterised; values never become SQL text. Here the DHCPv4 side (``dhcp4_subnet_id`` set,
``ipv4_address`` as bigint); ``hosts_v6.py`` has the DHCPv6 side, and ``select_reservations`` and ``apply_plan``
serve both families. Removing a reservation of one family from a row that also holds one of the other family
clears that family's columns and keeps the row.
"""

from __future__ import annotations

import json
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, NotFoundError
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea import hosts_v6
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.db import psycopg2
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.fields import int_to_ipv4, ipv4_to_int
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Lease, Reservation, ReservationKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.plan import Plan

# Serialises the collection's own writers so that the IP-conflict check and the
# write happen on the same picture of the table ("kea_dns" as a number).
WRITE_LOCK_ID = 0x6B65615F646E73

COLUMN_NAMES = (
    "host_id", "dhcp_identifier", "dhcp_identifier_type", "dhcp4_subnet_id", "ipv4_address", "hostname",
    "dhcp4_client_classes", "dhcp4_next_server", "dhcp4_server_hostname", "dhcp4_boot_file_name", "user_context",
)
COLUMNS = ", ".join(COLUMN_NAMES)
# The same columns of ``hosts h``, for queries that join other tables.
HOST_COLUMNS = ", ".join(f"h.{name}" for name in COLUMN_NAMES)


def check_schema(cursor: t.Any) -> None:
    cursor.execute("SELECT to_regclass('hosts') IS NOT NULL")
    if not cursor.fetchone()[0]:
        raise NotFoundError(
            f"database {cursor.connection.info.dbname!r} has no Kea schema (table 'hosts' not found); "
            "initialise it with: kea-admin db-init pgsql"
        )


def row_to_reservation(row: t.Sequence) -> Reservation:
    host_id, identifier, identifier_type, subnet_id, ipv4, hostname, classes, next_server, server_hostname, boot_file, context = row
    try:
        user_context = json.loads(context) if context else None
    except ValueError:
        user_context = {"unparsed": context}
    return Reservation(
        key=ReservationKey(subnet_id=int(subnet_id), identifier_type=int(identifier_type), identifier=bytes(identifier)),
        ip=int_to_ipv4(ipv4),
        hostname=hostname,
        client_classes=tuple(name.strip() for name in classes.split(",") if name.strip()) if classes else (),
        next_server=int_to_ipv4(next_server),
        server_hostname=server_hostname,
        boot_file_name=boot_file,
        user_context=user_context if user_context is None or isinstance(user_context, dict) else {"unparsed": context},
        host_id=host_id,
    )


def _filters(**filters: t.Any) -> tuple[str, list]:
    """The WHERE clause (on ``hosts h``) and its parameters for the filters of select_reservations() that are not
    None, for the reservations of ``family`` (DHCPv6: ``addresses`` selects the holders of any of these addresses or
    prefixes, address/length); values are never SQL text."""
    subnet_ids, hostname, hostname_regex = filters.get("subnet_ids"), filters.get("hostname"), filters.get("hostname_regex")
    identifier, identifier_type, ip = filters.get("identifier"), filters.get("identifier_type"), filters.get("ip")
    subnet = f"h.dhcp{filters.get('family', 4)}_subnet_id"
    where = [f"{subnet} IS NOT NULL"]
    params: list = []
    if subnet_ids is not None:
        where.append(f"{subnet} = ANY(%s)")
        params.append(sorted(set(subnet_ids)))
    if hostname is not None:
        where.append("lower(h.hostname) = lower(%s)")
        params.append(hostname)
    if hostname_regex is not None:
        where.append("h.hostname ~* %s")
        params.append(hostname_regex)
    if identifier is not None:
        where.append("h.dhcp_identifier = %s")
        params.append(psycopg2.Binary(identifier))
    if identifier_type is not None:
        where.append("h.dhcp_identifier_type = %s")
        params.append(identifier_type)
    if ip is not None:
        where.append("h.ipv4_address = %s")
        params.append(ipv4_to_int(ip))
    addresses = filters.get("addresses")
    if addresses is not None:
        where.append("h.host_id IN (SELECT host_id FROM ipv6_reservations WHERE host(address::inet) = ANY(%s) "
                     "OR host(address::inet) || '/' || prefix_len = ANY(%s))")
        params.extend([sorted(a for a in addresses if "/" not in a), sorted(a for a in addresses if "/" in a)])
    return " AND ".join(where), params


def _execute(cursor: t.Any, sql: str, params: list, hostname_regex: str | None) -> None:
    try:
        cursor.execute(sql, params)
    except psycopg2.errors.InvalidRegularExpression as exc:
        raise InvalidInputError("hostname_regex", hostname_regex, str(exc).strip().splitlines()[0]) from None


ORDER = "ORDER BY h.dhcp4_subnet_id, h.ipv4_address, h.hostname, h.host_id"


def select_reservations(
    cursor: t.Any,
    subnet_ids: t.Iterable[int] | None = None,
    hostname: str | None = None,
    hostname_regex: str | None = None,
    identifier: bytes | None = None,
    identifier_type: int | None = None,
    ip: str | None = None,
    managed_only: bool = False,
    family: int = 4,
    addresses: t.Iterable[str] | None = None,
) -> list[Reservation]:
    """Reservations of ``family`` matching every given filter, ordered by subnet, IP (DHCPv4) and hostname.

    ``hostname_regex`` is a PostgreSQL regular expression (POSIX ARE), matched
    case-insensitively in the database. For DHCPv6, ``ip`` or ``addresses`` select the reservations that hold one of
    the addresses or prefixes (address/length).
    """
    if family == 6:
        where, params = _filters(family=6, subnet_ids=subnet_ids, hostname=hostname, hostname_regex=hostname_regex, identifier=identifier,
                                 identifier_type=identifier_type, addresses=[ip] if ip else addresses)
        _execute(cursor, f"{hosts_v6.SELECT} WHERE {where} {hosts_v6.ORDER}", params, hostname_regex)
        reservations = [hosts_v6.row_to_reservation(row) for row in cursor.fetchall()]
    else:
        where, params = _filters(subnet_ids=subnet_ids, hostname=hostname, hostname_regex=hostname_regex, identifier=identifier,
                                 identifier_type=identifier_type, ip=ip)
        _execute(cursor, f"SELECT {HOST_COLUMNS} FROM hosts h WHERE {where} {ORDER}", params, hostname_regex)
        reservations = [row_to_reservation(row) for row in cursor.fetchall()]
    return [r for r in reservations if r.managed] if managed_only else reservations


def select_reservations_with_leases(
    cursor: t.Any, subnet_ids: t.Iterable[int] | None = None, hostname_regex: str | None = None,
) -> list[tuple[Reservation, Lease | None]]:
    """Like select_reservations(), each with the ``lease4`` row of its reserved address (None when there is none),
    in one query. The state is Kea's own name for it, from its ``lease_state`` table."""
    where, params = _filters(subnet_ids=subnet_ids, hostname_regex=hostname_regex)
    _execute(cursor, (
        f"SELECT {HOST_COLUMNS}, s.name, extract(epoch FROM l.expire)::bigint, l.valid_lifetime "
        "FROM hosts h LEFT JOIN lease4 l ON l.address = h.ipv4_address LEFT JOIN lease_state s ON s.state = l.state "
        f"WHERE {where} {ORDER}"), params, hostname_regex)
    width = len(COLUMN_NAMES)
    return [(row_to_reservation(row[:width]),
             Lease(state=row[width] or "unknown", expire=int(row[width + 1]), valid_lifetime=int(row[width + 2] or 0))
             if row[width + 1] is not None else None)
            for row in cursor.fetchall()]


# One index lookup per hostname, then the addresses by their index. Kea's index on lower(hostname) is partial
# (hostname IS NOT NULL), so PostgreSQL keeps no statistics on it: planned as one query, "lower(hostname) = ANY(...)"
# is taken to match most of the table and the whole table is read (50 ms a batch at 100,000 reservations, 1 ms with
# the lookups). OFFSET 0 keeps the per-name subquery from being flattened back into that plan.
TOUCHING = (
    f"SELECT h.* FROM unnest(%s::text[]) AS n(name) CROSS JOIN LATERAL (SELECT {COLUMNS} FROM hosts "
    "WHERE hostname IS NOT NULL AND lower(hostname) = n.name AND dhcp4_subnet_id IS NOT NULL OFFSET 0) AS h "
    f"UNION SELECT {COLUMNS} FROM hosts WHERE ipv4_address = ANY(%s::bigint[]) AND dhcp4_subnet_id IS NOT NULL ORDER BY host_id"
)


def reads_v6(cursor: t.Any) -> bool:
    """Whether DHCPv6 reservations can be read here: Kea's table exists and this login may read it (a listener role
    granted by a release before DHCPv6 may not, until the kea_db_events role runs again)."""
    cursor.execute("SELECT to_regclass('ipv6_reservations') IS NOT NULL AND has_table_privilege('ipv6_reservations', 'SELECT')")
    return bool(cursor.fetchone()[0])


def select_all(cursor: t.Any, v6: bool = True) -> list[Reservation]:
    """Every reservation of both families (the DHCPv6 ones with ``v6``, when they can be read)."""
    found = select_reservations(cursor)
    if v6 and reads_v6(cursor):
        found.extend(select_reservations(cursor, family=6))
    return found


def select_reservations_touching(cursor: t.Any, hostnames: t.Collection[str], addresses: t.Collection[str], v6: bool = True) -> list[Reservation]:
    """Reservations of both families whose hostname (case-insensitive) or address is one of those given (IPv4 or
    IPv6 addresses; the DHCPv6 ones with ``v6``, when they can be read)."""
    if not hostnames and not addresses:
        return []
    found = []
    if v6 and reads_v6(cursor):
        found = hosts_v6.select_touching(cursor, hostnames, [a for a in addresses if ":" in a])
    addresses = [a for a in addresses if ":" not in a]
    # The same missing statistics make the estimated cost high enough for JIT compilation, which would cost 9 ms
    # for a 1 ms query: off for this statement only (a failed statement ends the transaction, and the SET with it).
    cursor.execute("SET LOCAL jit = off")
    cursor.execute(TOUCHING, (sorted({h.lower() for h in hostnames}), sorted({ipv4_to_int(a) for a in addresses})))
    rows = cursor.fetchall()
    cursor.execute("SET LOCAL jit TO DEFAULT")
    return [row_to_reservation(row) for row in rows] + found


def lock_for_write(cursor: t.Any) -> None:
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_ID,))


def _values(reservation: Reservation) -> tuple:
    key = reservation.key
    return (
        psycopg2.Binary(key.identifier),
        key.identifier_type,
        key.subnet_id,
        ipv4_to_int(reservation.ip),
        reservation.hostname,
        ",".join(reservation.client_classes) or None,
        ipv4_to_int(reservation.next_server),
        reservation.server_hostname,
        reservation.boot_file_name,
        json.dumps(reservation.user_context, sort_keys=True) if reservation.user_context is not None else None,
    )


def apply_plan(cursor: t.Any, plan: Plan) -> None:
    """Write the plan with one statement per kind of change (deletes first, so IPs can move); the DHCPv4 part here,
    the DHCPv6 part in hosts_v6.py."""
    extras = psycopg2.extras
    delete = [r.host_id for r in plan.delete if r.key.family == 4]
    if delete:
        cursor.execute("DELETE FROM hosts WHERE host_id = ANY(%s) AND dhcp6_subnet_id IS NULL", (delete,))
        cursor.execute("UPDATE hosts SET dhcp4_subnet_id = NULL, ipv4_address = NULL, dhcp4_client_classes = NULL, dhcp4_next_server = NULL, "
                       "dhcp4_server_hostname = NULL, dhcp4_boot_file_name = NULL WHERE host_id = ANY(%s)", (delete,))
    update = [(before, after) for before, after in plan.update if after.key.family == 4]
    create = [r for r in plan.create if r.key.family == 4]
    hosts_v6.apply(cursor, [r for r in plan.create if r.key.family == 6], [pair for pair in plan.update if pair[1].key.family == 6],
                   [r for r in plan.delete if r.key.family == 6])
    if update:
        extras.execute_values(
            cursor,
            "UPDATE hosts SET ipv4_address = v.ip, hostname = v.hostname, dhcp4_client_classes = v.classes, "
            "dhcp4_next_server = v.next_server, dhcp4_server_hostname = v.server_hostname, "
            "dhcp4_boot_file_name = v.boot_file, user_context = v.context "
            "FROM (VALUES %s) AS v(host_id, ip, hostname, classes, next_server, server_hostname, boot_file, context) "
            "WHERE hosts.host_id = v.host_id",
            [(after.host_id,) + _values(after)[3:] for _before, after in update],
            template="(%s::integer, %s::bigint, %s::varchar, %s::varchar, %s::bigint, %s::varchar, %s::varchar, %s::text)",
            page_size=1000,
        )
    if create:
        extras.execute_values(
            cursor,
            "INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname, "
            "dhcp4_client_classes, dhcp4_next_server, dhcp4_server_hostname, dhcp4_boot_file_name, user_context) VALUES %s",
            [_values(r) for r in create],
            page_size=1000,
        )
