"""Benchmark: the listener daemon against real PostgreSQL (Kea schema + kea_db_events), Knot and PowerDNS.

1. Latency: INSERT committed -> the record answered by the DNS server, for ``--inserts`` single-row inserts at a steady
   ``--rate``; the client polls the server with real DNS queries every millisecond after each commit. p50 / p99 / max.
2. Burst: ``--burst`` rows committed 50 at a time as fast as possible -> the time until the last one is answered,
   the daemon (batched outbox) side by side with the seed's way (LISTEN, then one DNS call per notification, run here
   as a small loop in this process; PowerDNS only).
3. Reconcile: ``--reservations`` reservations in the database -> ``--once`` into an empty backend, then again when
   nothing needs doing (wall time of the process and the reconcile's own time from its log line).
4. Memory: the daemon's resident set (VmRSS, and the peak VmHWM) after its start-up reconcile of those reservations.

With ``--family 6`` the reservations are DHCPv6 ones (a DUID and one address each, written as Kea writes them: the
host row, then its address, in one transaction) and the records AAAA records; the burst and its seed-style peer are
DHCPv4 only.

Run through the project venv:  .venv/bin/python -m benchmarks.listener
Results are recorded in docs/benchmarks.md with the machine they ran on.
"""

from __future__ import annotations

import argparse
import io
import ipaddress
import json
import re
import select
import statistics
import sys
import threading
import time

import requests

from benchmarks.kea_reservation_apply import machine
from tests.harness.ansible import run_tasks
from tests.harness.dns_servers import Knot, PowerDns
from tests.harness.listener import ListenerProcess
from tests.harness.postgres import PgCluster
from tests.harness.procs import launch, wait_for

PASSWORD = "bench-listener-pw"
ZONE = "site.test"
INSERT = ("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) "
          "VALUES (decode(%s, 'hex'), 0, 1, (%s::inet - '0.0.0.0'::inet), %s)")


FAMILY = 4  # --family: 6 makes the reservations of the latency and reconcile runs DHCPv6 ones (AAAA records)
INSERT6 = ("WITH h AS (INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp6_subnet_id, hostname) "
           "VALUES (decode(%s, 'hex'), 1, 10, %s) RETURNING host_id) "
           "INSERT INTO ipv6_reservations (address, prefix_len, type, host_id) SELECT %s, 128, 0, host_id FROM h")


def row6(index: int, prefix: str) -> tuple:
    return (f"0003{index:016x}", str(ipaddress.IPv6Address(f"2001:db8:1::{index:x}")), f"{prefix}-cab{index // 40 + 1}-ru{index % 40 + 1}-idrac")


def write(cursor, index: int, prefix: str) -> tuple[str, str, str]:
    """One reservation of ``FAMILY`` as Kea writes it; returns its name, the answer expected and the record type."""
    if FAMILY == 6:
        identifier, address, hostname = row6(index, prefix)
        cursor.execute(INSERT6, (identifier, hostname, address))
        return f"{hostname}.{ZONE}", address, "AAAA"
    identifier, address, hostname = row(index, prefix)
    cursor.execute(INSERT, (identifier, address, hostname))
    return f"{hostname}.{ZONE}", address, "A"


def row(index: int, prefix: str) -> tuple:
    return (f"{index:012x}", f"10.{100 + index // 62500}.{index // 250 % 250}.{index % 250 + 1}", f"{prefix}-cab{index // 40 + 1}-ru{index % 40 + 1}-idrac")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


PROGRAM: str | None = None  # the daemon's launcher; None: this tree's (benchmarks/compare.py sets a previous release's)


def daemon(pg: PgCluster, provider: str, server, **options) -> ListenerProcess:
    settings = {"db_host": "127.0.0.1", "db_port": pg.port, "db_user": "kea_dns_listener", "use_database_events": True,
                "enable_dns": True, "dns_zone": ZONE, "log_level": "INFO", "provider": provider, **options}
    env = {"KEA_DB_PASSWORD": PASSWORD}
    if provider == "knot":
        settings["knot_socket"] = server.socket
    else:
        settings["powerdns_api_url"] = server.api_url
        env["PDNS_API_KEY"] = server.api_key
    return ListenerProcess(settings, env, program=PROGRAM)


def clear(pg: PgCluster, provider: str, server) -> None:
    """No reservation, no outbox row, and (through a reconcile) no record left from the previous step."""
    pg.kea_sql("DELETE FROM hosts")
    pg.kea_sql("TRUNCATE kea_dns.outbox")
    once = daemon(pg, provider, server, metrics_address="", inventory=False)
    proc = once.run_once()
    once.remove()
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])


def bench_latency(pg: PgCluster, provider: str, server, count: int, rate: float, first: int = 0, **options) -> dict:
    """``first``: the index of the first row (rows ``first`` .. ``first + count - 1`` must not exist yet)."""
    listener = daemon(pg, provider, server, **options).start()
    conn = pg.connect_as(pg.kea_user, pg.kea_password)
    latencies = []
    try:
        interval = 1.0 / rate
        next_at = time.monotonic()
        for index in range(first, first + count):
            with conn, conn.cursor() as cursor:
                name, address, rtype = write(cursor, index, "lat")
            committed = time.monotonic()
            while server.query(name, rtype) != [address]:
                if time.monotonic() - committed > 10:
                    raise RuntimeError(f"{name} not answered after 10 s; {server.query(name, rtype)}; the daemon's log:\n{listener.log()[-4000:]}")
                time.sleep(0.001)
            latencies.append((time.monotonic() - committed) * 1000)
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
    finally:
        conn.close()
        listener.remove()
    return {"count": count, "rate": rate, "p50_ms": round(percentile(latencies, 0.5), 1), "p99_ms": round(percentile(latencies, 0.99), 1),
            "max_ms": round(max(latencies), 1), "mean_ms": round(statistics.mean(latencies), 1)}


def commit_burst(pg: PgCluster, count: int, prefix: str, first: int = 0, per_transaction: int = 50) -> float:
    """Rows ``first`` .. ``first + count - 1`` inserted as Kea's owner, ``per_transaction`` single-row INSERTs per
    transaction, as fast as possible; returns when the first statement was sent (monotonic clock). With
    ``per_transaction >= count``: one transaction, timed from its COMMIT (that is when the triggers' rows and
    notifications become visible)."""
    conn = pg.connect_as(pg.kea_user, pg.kea_password)
    try:
        start = time.monotonic()
        for chunk in range(first, first + count, per_transaction):
            with conn.cursor() as cursor:
                for index in range(chunk, min(chunk + per_transaction, first + count)):
                    cursor.execute(INSERT, row(index, prefix))
            if per_transaction >= count:
                start = time.monotonic()
            conn.commit()
        return start
    finally:
        conn.close()


def wait_answered(server, count: int, prefix: str, timeout: float = 300, first: int = 0) -> float:
    _identifier, address, hostname = row(first + count - 1, prefix)
    wait_for(lambda: server.query(f"{hostname}.{ZONE}") == [address], timeout, "the last record of the burst", interval=0.005)
    return time.monotonic()


def seed_style_loop(pg: PgCluster, server: PowerDns, stop: threading.Event, ready: threading.Event) -> None:
    """The replaced daemon's way: LISTEN, then one DNS API call per notification, one at a time."""
    conn = pg.connect_as("kea_dns_listener", PASSWORD)
    conn.autocommit = True
    conn.cursor().execute("LISTEN kea_lease_events")
    session = requests.Session()
    session.headers["X-API-Key"] = server.api_key
    ready.set()
    while not stop.is_set():
        if select.select([conn], [], [], 0.2) == ([], [], []):
            continue
        conn.poll()
        while conn.notifies:
            payload = json.loads(conn.notifies.pop(0).payload)
            address = ".".join(str(payload["ipv4_address"] >> shift & 255) for shift in (24, 16, 8, 0))
            session.patch(f"{server.api_url}/api/v1/servers/localhost/zones/{ZONE}.", timeout=10, json={"rrsets": [{
                "name": f"{payload['hostname']}.{ZONE}.", "type": "A", "ttl": 600, "changetype": "REPLACE",
                "records": [{"content": address, "disabled": False}]}]}).raise_for_status()
    conn.close()


def bench_burst(pg: PgCluster, provider: str, server, count: int, first: int = 0, per_transaction: int = 50,
                seed_style: bool = True, timeout: float = 300, **options) -> dict:
    result = {}
    listener = daemon(pg, provider, server, **options).start()
    try:
        start = commit_burst(pg, count, "burst", first, per_transaction)
        result["daemon_s"] = round(wait_answered(server, count, "burst", timeout, first) - start, 2)
    finally:
        listener.remove()
    if seed_style and isinstance(server, PowerDns):
        clear(pg, provider, server)
        stop, ready = threading.Event(), threading.Event()
        thread = threading.Thread(target=seed_style_loop, args=(pg, server, stop, ready), daemon=True)
        thread.start()
        ready.wait(10)
        try:
            start = commit_burst(pg, count, "seed")
            result["seed_style_s"] = round(wait_answered(server, count, "seed") - start, 2)
        finally:
            stop.set()
            thread.join(10)
    return result


def load_reservations(pg: PgCluster, count: int) -> None:
    """Rows 0 .. ``count - 1`` (prefix ``rec``) with one COPY as Kea's owner, the outbox triggers disabled in the same
    transaction: the reservations exist before the daemon starts, and no outbox row is left to drain."""
    conn = pg.connect_as(pg.kea_user, pg.kea_password)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute("ALTER TABLE hosts DISABLE TRIGGER USER")
            if FAMILY == 6:
                lines = "".join(f"\\\\x{i}\t1\t10\t{h}\n" for i, _a, h in (row6(n, "rec") for n in range(count)))
                cursor.copy_expert("COPY hosts (dhcp_identifier, dhcp_identifier_type, dhcp6_subnet_id, hostname) FROM STDIN", io.StringIO(lines))
                cursor.execute("ALTER TABLE ipv6_reservations DISABLE TRIGGER USER")
                cursor.execute("INSERT INTO ipv6_reservations (address, prefix_len, type, host_id) SELECT "
                               "'2001:db8:1::' || to_hex(('x' || substr(encode(dhcp_identifier, 'hex'), 5))::bit(64)::bigint), 128, 0, host_id "
                               "FROM hosts WHERE dhcp6_subnet_id IS NOT NULL")
                cursor.execute("ALTER TABLE ipv6_reservations ENABLE TRIGGER USER")
            else:
                lines = "".join(f"\\\\x{i}\t0\t1\t{int.from_bytes(bytes(map(int, a.split('.'))), 'big')}\t{h}\n"
                                for i, a, h in (row(n, "rec") for n in range(count)))
                cursor.copy_expert("COPY hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) "
                                   "FROM STDIN", io.StringIO(lines))
            cursor.execute("ALTER TABLE hosts ENABLE TRIGGER USER")
            cursor.execute("ANALYZE hosts")  # the statistics autovacuum keeps of a table that size (index scans per batch)
    finally:
        conn.close()


def reconcile_seconds(stderr: str) -> float:
    match = re.search(r"DNS consistency check complete: (\d+) records created.*\(([\d.]+) s\)", stderr)
    if match is None:
        raise RuntimeError(f"no reconcile line in:\n{stderr[-2000:]}")
    return float(match.group(2))


def bench_reconcile(pg: PgCluster, provider: str, server, count: int, **options) -> dict:
    load_reservations(pg, count)
    listener = daemon(pg, provider, server, **{"metrics_address": "", "inventory": False, **options})
    result = {}
    try:
        for label in ("empty_backend", "nothing_to_do"):
            start = time.monotonic()
            proc = listener.run_once(timeout=600)
            wall = time.monotonic() - start
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr[-3000:])
            result[label] = {"process_s": round(wall, 2), "reconcile_s": reconcile_seconds(proc.stderr)}
    finally:
        listener.remove()
    _identifier, address, hostname = (row6 if FAMILY == 6 else row)(count - 1, "rec")
    assert server.query(f"{hostname}.{ZONE}", "AAAA" if FAMILY == 6 else "A") == [address]
    # Memory: the long-running daemon after its start-up reconcile of the same reservations (and the inventory files).
    listener = daemon(pg, provider, server, **options).start()
    try:
        time.sleep(2)
        with open(f"/proc/{listener.proc.pid}/status", encoding="utf-8") as handle:
            status = dict(line.split(":", 1) for line in handle if ":" in line)
        result["rss_mb"] = round(int(status["VmRSS"].split()[0]) / 1024, 1)
        result["peak_rss_mb"] = round(int(status["VmHWM"].split()[0]) / 1024, 1)
    finally:
        listener.remove()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="knot,powerdns")
    parser.add_argument("--inserts", type=int, default=500)
    parser.add_argument("--rate", type=float, default=20.0, help="inserts per second in the latency run")
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--reservations", type=int, default=10000)
    parser.add_argument("--family", type=int, default=4, choices=[4, 6], help="6: DHCPv6 reservations and AAAA records")
    args = parser.parse_args()
    global FAMILY
    FAMILY = args.family

    results = {"machine": machine()}
    with PgCluster() as pg:
        run = run_tasks([{"ddi.kea_dns.kea_db_events": {"listener_password": PASSWORD}}], env=pg.admin_env())
        if run.returncode != 0:
            raise RuntimeError(run.output[-3000:])
        for provider in args.backends.split(","):
            server = launch(Knot() if provider == "knot" else PowerDns())
            try:
                clear(pg, provider, server)
                results[f"{provider} latency"] = bench_latency(pg, provider, server, args.inserts, args.rate)
                if FAMILY == 4:  # the burst's seed-style peer writes DHCPv4 reservations
                    clear(pg, provider, server)
                    results[f"{provider} burst {args.burst}"] = bench_burst(pg, provider, server, args.burst)
                clear(pg, provider, server)
                results[f"{provider} reconcile {args.reservations}"] = bench_reconcile(pg, provider, server, args.reservations)
            finally:
                server.stop()
            print(json.dumps({k: v for k, v in results.items() if k.startswith(provider)}), flush=True)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
