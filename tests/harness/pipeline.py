"""The pipeline as the listener tests drive it: reservations written as Kea writes them, a daemon per DNS target,
and the check that DNS holds exactly what the ``hosts`` table implies."""

from __future__ import annotations

import ipaddress
import time

import psycopg2

from .listener import LISTENER_PASSWORD, ListenerProcess
from .procs import wait_for

ZONE = "site.test"
REVERSE = "99.10.in-addr.arpa"
REVERSE6 = "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"  # 2001:db8::/64
INSERT6 = ("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp6_subnet_id, hostname) VALUES (decode(%s, 'hex'), 1, 10, %s)")
ADDRESS6 = ("INSERT INTO ipv6_reservations (address, prefix_len, type, host_id) "
            "SELECT %s, 128, 0, host_id FROM hosts WHERE hostname = %s AND dhcp6_subnet_id IS NOT NULL")
MOVE6 = ("UPDATE ipv6_reservations SET address = %s "
         "WHERE host_id IN (SELECT host_id FROM hosts WHERE hostname = %s AND dhcp6_subnet_id IS NOT NULL)")
INSERT = ("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) "
          "VALUES (decode(%s, 'hex'), 0, 1, (%s::inet - '0.0.0.0'::inet), %s)")
MOVE = "UPDATE hosts SET ipv4_address = (%s::inet - '0.0.0.0'::inet) WHERE hostname = %s AND dhcp4_subnet_id IS NOT NULL"
REMOVE = "DELETE FROM hosts WHERE hostname = %s"
BMC_SUFFIXES = ("-idrac", "-ilo", "-bmc")


class Target:
    """A DNS server as the daemon's config (``options``, ``env``) and the test's checks see it."""

    def __init__(self, name: str, server, options: dict, env: dict) -> None:
        self.name, self.server, self.options, self.env = name, server, options, env

    def state(self, ptr: bool = False, v6: bool = False) -> dict[str, list[str]]:
        """The BMC A records (and PTR records) the server holds: name -> values. With ``v6``, also the AAAA records
        (keyed ``<name>/AAAA``) and, with ``ptr``, the PTR records of the ip6.arpa zone."""
        forward = self.server.transfer(ZONE)
        found = {name: values for (name, rtype), values in forward.items() if rtype == "A" and name.split(".")[0].endswith(BMC_SUFFIXES)}
        if v6:
            found.update({f"{name}/AAAA": values for (name, rtype), values in forward.items()
                          if rtype == "AAAA" and name.split(".")[0].endswith(BMC_SUFFIXES)})
        for zone in (REVERSE, REVERSE6) if v6 else (REVERSE,):
            if ptr:
                found.update({name: values for (name, rtype), values in self.server.transfer(zone).items() if rtype == "PTR"})
        return found

    def secrets(self) -> list[str]:
        return [value for key, value in self.env.items() if any(word in key for word in ("KEY", "TOKEN", "PASSWORD", "SECRET"))]


LISTENER_BACKENDS = ("knot", "powerdns", "rfc2136-bind", "technitium", "solidserver")


def listener_target(request, name: str) -> Target:
    """One DNS server (a session fixture of tests/integration/conftest.py, or a fresh emulator) as the listener daemon
    writes to it: the provider option, its endpoint and secret in the environment."""
    if name == "knot":
        server = request.getfixturevalue("knot_server")
        return Target(name, server, {"provider": "knot"}, server.env())
    if name in ("powerdns", "powerdns-txt"):
        server = request.getfixturevalue("powerdns_server")
        server.reset()
        ownership = {"powerdns_ownership": "txt"} if name == "powerdns-txt" else {}
        return Target(name, server, {"provider": "powerdns", **ownership}, server.env())
    if name == "rfc2136-bind":
        server = request.getfixturevalue("bind_server")
        return Target(name, server, {"provider": "rfc2136"}, server.env())
    if name == "technitium":
        server = request.getfixturevalue("technitium_emulator")
        return Target(name, server, {"provider": "technitium"}, server.env())
    server = request.getfixturevalue("solidserver_emulator")
    return Target(name, server, {"provider": "solidserver"}, server.env())


def daemon(pg, dns: Target, **options) -> ListenerProcess:
    base = {"db_host": "127.0.0.1", "db_port": pg.port, "db_name": pg.kea_db, "db_user": "kea_dns_listener",
            "use_database_events": True, "enable_dns": True, "dns_zone": ZONE, "retry_max_interval": 2.0, "dns_timeout": 3.0,
            **dns.options, **options}
    return ListenerProcess(base, {"KEA_DB_PASSWORD": LISTENER_PASSWORD, **dns.env})


def clear_owned(pg, dns: Target) -> None:
    """Remove every record the daemon owns in the zone and in the IPv4 reverse zone (the servers are shared between
    tests): one applied run of it while ``pg`` holds no reservation."""
    run = daemon(pg, dns, inventory=False, ptr=True, ptr_zone=REVERSE).run_once()
    assert run.returncode == 0, run.stderr[-2000:]


def kea_write(pg, statements: list[tuple[str, tuple]], dbname: str | None = None) -> None:
    """One transaction as Kea's own database user (in the cluster's Kea database, or ``dbname``)."""
    conn = pg.connect_as(pg.kea_user, pg.kea_password, dbname=dbname)
    try:
        with conn, conn.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
    finally:
        conn.close()


def kea_write_retrying(pg, statements: list[tuple[str, tuple]], timeout: float = 60) -> None:
    """``kea_write``, waiting for a restarting database as Kea does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            kea_write(pg, statements)
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def hostname(index: int) -> str:
    cabinet, unit = divmod(index, 40)
    return f"us3-cab{cabinet + 1}-ru{unit + 1}-idrac"


def bmc(index: int) -> tuple[str, tuple]:
    return INSERT, (f"02{index:010x}", f"10.99.{index // 250}.{index % 250 + 1}", hostname(index))


def bmc6(index: int) -> list[tuple[str, tuple]]:
    """The DHCPv6 reservation of BMC ``index`` as Kea writes it: its host row (DUID-LL), then its address."""
    return [(INSERT6, (f"0003000102{index:010x}", hostname(index))), (ADDRESS6, (address6(index), hostname(index)))]


def moved_address(index: int) -> str:
    return f"10.99.{200 + index // 250}.{index % 250 + 1}"


def address6(index: int, moved: bool = False) -> str:
    return f"2001:db8::{'1:' if moved else ''}{index + 1:x}"


_BMC_ROWS = "hostname ~ '-(idrac|ilo|bmc)$' AND hostname ~ '^[a-z0-9-]+$'"


def expected(pg, ptr: bool = False, v6: bool = False) -> dict[str, list[str]]:
    """What DNS must hold for the BMC rows of ``hosts``, keyed as Target.state() keys it."""
    rows = pg.kea_sql(f"SELECT lower(hostname), host('0.0.0.0'::inet + ipv4_address) FROM hosts WHERE ipv4_address IS NOT NULL AND {_BMC_ROWS}")  # noqa: S608
    found: dict[str, list[str]] = {}
    for name, address in rows:
        found.setdefault(f"{name}.{ZONE}", []).append(address)
        if ptr and address.startswith("10.99."):
            octets = address.split(".")
            found.setdefault(f"{octets[3]}.{octets[2]}.{REVERSE}", []).append(f"{name}.{ZONE}")
    if v6:
        rows = pg.kea_sql("SELECT lower(h.hostname), host(r.address::inet) FROM hosts h JOIN ipv6_reservations r USING (host_id) "
                          f"WHERE h.dhcp6_subnet_id IS NOT NULL AND r.type = 0 AND {_BMC_ROWS.replace('hostname', 'h.hostname')}")  # noqa: S608
        for name, address in rows:
            found.setdefault(f"{name}.{ZONE}/AAAA", []).append(address)
            if ptr:
                found.setdefault(ipaddress.ip_address(address).reverse_pointer, []).append(f"{name}.{ZONE}")
    return {name: sorted(values) for name, values in found.items()}


def pending(pg) -> int:
    return pg.kea_sql("SELECT count(*) FROM kea_dns.outbox WHERE status = 'pending'")[0][0]


def wait_converged(pg, dns: Target, timeout: float = 90, ptr: bool = False, v6: bool = False) -> None:
    """Until DNS holds exactly what ``hosts`` implies (every record, the current values, nothing stale or twice) and
    no outbox row is pending; with ``v6``, the DHCPv6 reservations' AAAA (and PTR) records too."""
    last = {}

    def converged() -> bool:
        last["want"], last["have"] = expected(pg, ptr, v6), dns.state(ptr, v6)
        return pending(pg) == 0 and last["want"] == last["have"]
    try:
        wait_for(converged, timeout, "DNS matching the database", interval=0.5)
    except TimeoutError:
        want, have = last["want"], last["have"]
        missing = sorted(set(map(_item, want.items())) - set(map(_item, have.items())))[:5]
        extra = sorted(set(map(_item, have.items())) - set(map(_item, want.items())))[:5]
        raise AssertionError(f"not converged after {timeout} s: pending {pending(pg)}, missing {missing}, extra {extra}") from None


def _item(entry: tuple[str, list[str]]) -> tuple[str, tuple[str, ...]]:
    return entry[0], tuple(entry[1])


def burst(pg, count: int, per_commit: int, between: float = 0.0, on_commit=None) -> None:
    """``count`` reservations in commits of ``per_commit``; ``on_commit(n)`` runs after commit n (1-based)."""
    for number, start in enumerate(range(0, count, per_commit), start=1):
        kea_write_retrying(pg, [bmc(i) for i in range(start, min(start + per_commit, count))])
        if on_commit is not None:
            on_commit(number)
        time.sleep(between)


def mixed_burst(pg, commits: int, per_commit: int, between: float = 0.05, on_commit=None, v6: bool = False) -> None:
    """``commits`` transactions of ``per_commit`` inserts each; from the third on, each also moves one earlier
    reservation to a new address and deletes another (inserts, IP changes and deletes, as a day of racking). With
    ``v6``, every BMC is dual-stack: a DHCPv6 reservation beside each DHCPv4 one, moved and deleted with it."""
    for number in range(1, commits + 1):
        start = (number - 1) * per_commit
        statements = [bmc(i) for i in range(start, start + per_commit)]
        if v6:
            statements += [statement for i in range(start, start + per_commit) for statement in bmc6(i)]
        if number >= 3:
            earlier = (number - 3) * per_commit
            statements += [(MOVE, (moved_address(earlier), hostname(earlier))), (REMOVE, (hostname(earlier + 1),))]
            if v6:
                statements.append((MOVE6, (address6(earlier, moved=True), hostname(earlier))))
        kea_write_retrying(pg, statements)
        if on_commit is not None:
            on_commit(number)
        time.sleep(between)
