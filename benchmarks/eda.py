"""Benchmark: Kea reservation -> DNS through ansible-rulebook, the collection's source against eda.builtin.pg_listener.

Real PostgreSQL (Kea schema + kea_db_events), real PowerDNS, real ansible-rulebook processes, playbooks through
run_playbook:

- ``kea_dns rulebook``: the bundled rulebook ddi.kea_dns.kea_dns as shipped (source ddi.kea_dns.kea_events, the DNS
  rule with the playbook ddi.kea_dns.dns_event, one ddi.kea_dns.dns_sync task that applies and acknowledges the
  event's rows, and the throttled inventory-refresh rule, here with inventory files on);
- ``kea_events source``: the source ddi.kea_dns.kea_events with the DNS rule only (the same playbook);
- ``pg_listener``: eda.builtin.pg_listener (shipped inside ansible-rulebook) on a trigger of its own that NOTIFYs
  the change (operation, hostname, ip), with a rule that runs one ddi.kea_dns.dns_record task per notification, as a
  user of pg_listener writes it.

1. Latency: ``--inserts`` single-row INSERTs, one at a time: commit, then real DNS queries every 5 ms until the
   record is answered; the next INSERT follows ``--gap`` seconds later. p50 / p99 / max.
2. Burst: ``--burst`` rows in one transaction -> the time until the last one is answered.
4. Backlog: the rulebook stopped, ``--backlog`` rows committed in one transaction, the rulebook started: the time
   from its source being ready until every row is answered (the kea_events flows), and the playbook runs it took.
   pg_listener sees nothing committed while it is stopped, so for it the same rows are committed while it runs, and
   what it answered within ``--backlog-timeout`` is recorded.
3. Loss while disconnected: with the rulebook running, PostgreSQL is restarted and ``--burst`` rows are committed
   just after; how many of them DNS ever answers (pg_listener cannot see what was NOTIFYed before it reconnected).

Run through the project venv:  .venv/bin/python -m benchmarks.eda
Results are recorded in docs/benchmarks.md with the machine they ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

from benchmarks.kea_reservation_apply import machine
from benchmarks.listener import percentile
from tests.harness.ansible import run_tasks, tool
from tests.harness.dns_servers import PowerDns
from tests.harness.postgres import PgCluster
from tests.harness.procs import launch, wait_for
from tests.harness.rulebook import READY, RulebookProcess

PASSWORD = "bench-eda-pw"
ZONE = "site.test"
INSERT = ("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) "
          "VALUES (decode(%s, 'hex'), 0, 1, (%s::inet - '0.0.0.0'::inet), %s)")
PEER_TRIGGER = """
CREATE OR REPLACE FUNCTION public.bench_pg_listener_notify() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify('kea_pg_listener', json_build_object('operation', TG_OP, 'hostname', NEW.hostname,
                    'ip', host('0.0.0.0'::inet + NEW.ipv4_address))::text);
  RETURN NULL;
END $fn$;
DROP TRIGGER IF EXISTS bench_pg_listener ON public.hosts;
CREATE TRIGGER bench_pg_listener AFTER INSERT ON public.hosts FOR EACH ROW EXECUTE FUNCTION public.bench_pg_listener_notify();
"""
DNS_RULE = {"name": "Make DNS follow the change", "condition": "event.outbox_ids is defined",
            "action": {"run_playbook": {"name": "ddi.kea_dns.dns_event", "extra_vars": {
                "kea_dns_provider": "powerdns", "kea_dns_zone": ZONE}}}}
# What a user of pg_listener writes: one dns_record task per notification.
PEER_PLAYBOOK = [{"name": "DNS record of one notification", "hosts": "localhost", "connection": "local", "gather_facts": False,
                  "tasks": [{"name": "The A record", "ddi.kea_dns.dns_record": {
                      "provider": "powerdns", "zone": ZONE, "name": "{{ ansible_eda.event.hostname }}",
                      "value": "{{ ansible_eda.event.ip }}"}}]}]
PLAYBOOK_PLAY = {"kea_dns rulebook": "PLAY [Make DNS follow the changes of one event", "kea_events source": "PLAY [Make DNS follow the changes of one event",
                 "pg_listener": "PLAY [DNS record of one notification"}


def row(index: int, prefix: str) -> tuple:
    """One reservation; the prefix (phase letter + flow number) keeps identifiers and addresses apart."""
    index += ("lbrk".index(prefix[0]) + 4 * int(prefix[1:])) * 10000
    return (f"{index:012x}", f"10.{100 + index // 62500}.{index // 250 % 250}.{index % 250 + 1}",
            f"{prefix}-cab{index // 40 + 1}-ru{index % 40 + 1}-idrac")


def start(work: str, pg: PgCluster, dns: PowerDns, flow: str) -> RulebookProcess:
    variables = {"kea_dns_provider": "powerdns", "kea_dns_zone": ZONE, "kea_dns_inventory_dir": os.path.join(work, "discovery")}
    env = {"KEA_DB_HOST": "127.0.0.1", "KEA_DB_PORT": str(pg.port), "KEA_DB_NAME": pg.kea_db, "KEA_DB_USER": "kea_dns_listener",
           "KEA_DB_PASSWORD": PASSWORD, **dns.env()}
    if flow == "kea_dns rulebook":
        return RulebookProcess(work, "ddi.kea_dns.kea_dns", variables, env)
    rule = DNS_RULE
    if flow == "kea_events source":
        source = {"ddi.kea_dns.kea_events": {"dns_zone": ZONE}}
    else:
        source = {"eda.builtin.pg_listener": {"dsn": f"host=127.0.0.1 port={pg.port} dbname={pg.kea_db} user={pg.kea_user} "
                                                     f"password={pg.kea_password}", "channels": ["kea_pg_listener"]}}
        playbook = os.path.join(work, "peer_dns.yml")
        with open(playbook, "w", encoding="utf-8") as handle:
            yaml.safe_dump(PEER_PLAYBOOK, handle, sort_keys=False)
        rule = {"name": "DNS record of the notification", "condition": "event.operation is defined",
                "action": {"run_playbook": {"name": playbook}}}
    rulebook = os.path.join(work, "rulebook.yml")
    with open(rulebook, "w", encoding="utf-8") as handle:
        yaml.safe_dump([{"name": flow, "hosts": "all", "sources": [source], "rules": [rule]}], handle, sort_keys=False)
    return RulebookProcess(work, rulebook, variables, env, ready=READY if flow == "kea_events source" else "Waiting for events")


def answered(dns: PowerDns, hostname: str, address: str) -> bool:
    return dns.query(f"{hostname}.{ZONE}") == [address]


def bench_latency(pg: PgCluster, dns: PowerDns, rulebook: RulebookProcess, count: int, gap: float, prefix: str) -> dict:
    conn = pg.connect_as(pg.kea_user, pg.kea_password)
    latencies = []
    try:
        for index in range(count):
            identifier, address, hostname = row(index, prefix)
            with conn, conn.cursor() as cursor:
                cursor.execute(INSERT, (identifier, address, hostname))
            committed = time.monotonic()
            while not answered(dns, hostname, address):
                if time.monotonic() - committed > 60:
                    raise RuntimeError(f"{hostname} not answered after 60 s:\n{rulebook.output()[-4000:]}")
                time.sleep(0.005)
            latencies.append((time.monotonic() - committed) * 1000)
            time.sleep(gap)
    finally:
        conn.close()
    return {"count": count, "p50_ms": round(percentile(latencies, 0.5)), "p99_ms": round(percentile(latencies, 0.99)),
            "max_ms": round(max(latencies)), "mean_ms": round(statistics.mean(latencies))}


def bench_burst(pg: PgCluster, dns: PowerDns, count: int, prefix: str) -> dict:
    conn = pg.connect_as(pg.kea_user, pg.kea_password)
    try:
        start = time.monotonic()
        with conn, conn.cursor() as cursor:
            for index in range(count):
                cursor.execute(INSERT, row(index, prefix))
    finally:
        conn.close()
    last = row(count - 1, prefix)
    wait_for(lambda: all(answered(dns, r[2], r[1]) for r in (last,)), 600, "the last record of the burst", interval=0.05)
    return {"rows": count, "all_answered_s": round(time.monotonic() - start, 1)}


def commit_rows(pg: PgCluster, count: int, prefix: str) -> list[tuple]:
    rows = [row(index, prefix) for index in range(count)]
    conn = pg.connect_as(pg.kea_user, pg.kea_password)
    try:
        with conn, conn.cursor() as cursor:
            cursor.executemany(INSERT, rows)
    finally:
        conn.close()
    return rows


def bench_backlog(work: str, pg: PgCluster, dns: PowerDns, flow: str, rulebook: RulebookProcess, count: int, prefix: str,
                  timeout: float) -> tuple[dict, RulebookProcess]:
    """Returns the figures and the rulebook that runs afterwards (a new one for the kea_events flows)."""
    if flow == "pg_listener":  # it never sees what is committed while it is stopped: commit while it runs
        before = rulebook.output().count(PLAYBOOK_PLAY[flow])
        started = time.monotonic()
        rows = commit_rows(pg, count, prefix)
        deadline = started + timeout
        while time.monotonic() < deadline and not answered(dns, rows[-1][2], rows[-1][1]):
            time.sleep(1)
        answered_rows = sum(answered(dns, r[2], r[1]) for r in rows)
        return ({"rows": count, "committed_while": "running", "answered": answered_rows,
                 "seconds": round(time.monotonic() - started, 1) if answered_rows == count else f"> {timeout:g}",
                 "playbook_runs": rulebook.output().count(PLAYBOOK_PLAY[flow]) - before}, rulebook)
    rulebook.stop()
    rows = commit_rows(pg, count, prefix)
    restarted_dir = os.path.join(work, f"backlog-{prefix}")
    os.makedirs(restarted_dir)
    restarted = start(restarted_dir, pg, dns, flow)
    started = time.monotonic()
    wait_for(lambda: answered(dns, rows[-1][2], rows[-1][1]), timeout, "the last row of the backlog", interval=0.02)
    wait_for(lambda: all(answered(dns, r[2], r[1]) for r in rows), 60, "every row of the backlog", interval=0.5)
    return ({"rows": count, "committed_while": "stopped", "answered": count, "seconds": round(time.monotonic() - started, 1),
             "playbook_runs": restarted.output().count(PLAYBOOK_PLAY[flow])}, restarted)


def bench_restart(pg: PgCluster, dns: PowerDns, count: int, prefix: str, settle: float) -> dict:
    pg.restart()
    conn = pg.connect_as(pg.kea_user, pg.kea_password)
    try:
        with conn, conn.cursor() as cursor:
            for index in range(count):
                cursor.execute(INSERT, row(index, prefix))
    finally:
        conn.close()
    deadline = time.monotonic() + settle
    rows = [row(index, prefix) for index in range(count)]
    while time.monotonic() < deadline and not all(answered(dns, r[2], r[1]) for r in rows[-1:]):
        time.sleep(0.5)
    return {"committed": count, "answered": sum(answered(dns, r[2], r[1]) for r in rows)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inserts", type=int, default=40)
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between an answer and the next INSERT")
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--backlog", type=int, default=1000, help="rows of the backlog")
    parser.add_argument("--backlog-timeout", type=float, default=180.0, help="seconds to wait for the backlog")
    parser.add_argument("--settle", type=float, default=90.0, help="seconds to wait for the rows committed after a restart")
    parser.add_argument("--flows", default="kea_dns rulebook,kea_events source,pg_listener")
    args = parser.parse_args()
    results: dict = {"machine": machine(), "ansible-rulebook": subprocess.run(
        [tool("ansible-rulebook"), "--version"], capture_output=True, text=True, check=False).stdout.split("\n")[0]}
    with PgCluster() as pg, tempfile.TemporaryDirectory(prefix="kea-dns-bench-eda-") as work:
        run = run_tasks([{"ddi.kea_dns.kea_db_events": {"listener_password": PASSWORD}}], env=pg.admin_env())
        if run.returncode != 0:
            raise RuntimeError(run.output[-3000:])
        pg.admin_sql(PEER_TRIGGER, dbname=pg.kea_db)
        dns = launch(PowerDns())
        try:
            for number, flow in enumerate(args.flows.split(",")):
                pg.kea_sql("DELETE FROM hosts")
                pg.kea_sql("TRUNCATE kea_dns.outbox")
                dns.reset()
                flow_dir = os.path.join(work, str(number))
                os.makedirs(flow_dir)
                rulebook = start(flow_dir, pg, dns, flow)
                try:
                    found = {"latency": bench_latency(pg, dns, rulebook, args.inserts, args.gap, f"l{number}"),
                             "burst": bench_burst(pg, dns, args.burst, f"b{number}")}
                    found["backlog"], rulebook = bench_backlog(flow_dir, pg, dns, flow, rulebook, args.backlog, f"k{number}",
                                                               args.backlog_timeout)
                    found["restart"] = bench_restart(pg, dns, args.burst, f"r{number}", args.settle)
                finally:
                    rulebook.stop()
                results[flow] = found
                print(json.dumps({flow: found}), flush=True)
        finally:
            dns.stop()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
