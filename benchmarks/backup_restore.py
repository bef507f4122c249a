"""Benchmark: knot_zone with 1000 records in one task, and lease_backup of 100,000 leases from PostgreSQL.

Wall time of the whole ansible-playbook process (Ansible start-up included), against real servers started by
tests/harness: Knot 3.2 through its control socket, PostgreSQL with Kea's schema (kea-admin db-init). Peers in the
same run: seed 003's merge (one knotc zone-set process per record inside one transaction) and pg_dump / pg_restore of
the two lease tables (data only) into a fresh database.
Run through the project venv:  .venv/bin/python -m benchmarks.backup_restore
Results are recorded in docs/benchmarks.md with the machine they ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from xml.etree import ElementTree

from benchmarks.kea_reservation_apply import machine
from tests.harness.ansible import ansible_env, tool
from tests.harness.dns_servers import Knot
from tests.harness.postgres import PgCluster, fill_leases


def timed_play(work: str, tag: str, task: dict, env: dict | None = None) -> tuple[float, float]:
    """Wall time of ansible-playbook running ``task`` alone, and the task's own time (ansible.builtin.junit callback)."""
    play = [{"name": "Benchmark", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [dict(task, name="Run")]}]
    playbook = os.path.join(work, f"play-{tag}.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        json.dump(play, handle)
    inventory = os.path.join(work, "inventory.ini")
    with open(inventory, "w", encoding="utf-8") as handle:
        handle.write(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    junit = os.path.join(work, f"junit-{tag}")
    extra = {"ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.junit", "JUNIT_OUTPUT_DIR": junit, "JUNIT_TASK_CLASS": "yes"}
    start = time.monotonic()
    subprocess.run([tool("ansible-playbook"), "-i", inventory, playbook], env=ansible_env(dict(env or {}, **extra)), check=True, stdout=subprocess.DEVNULL)
    elapsed = time.monotonic() - start
    report = ElementTree.parse(os.path.join(junit, os.listdir(junit)[0]))
    return elapsed, sum(float(case.get("time")) for case in report.iter("testcase"))


def floor(work: str) -> float:
    return timed_play(work, "floor", {"ansible.builtin.ping": {}})[0]


def bench_knot(work: str, count: int, rounds: int) -> None:
    with Knot() as knot:
        print(f"floor (one ping task): {floor(work):.2f} s")
        for round_number in range(1, rounds + 1):
            records = [{"name": f"r{round_number}-bmc-{i}", "value": f"10.98.{i // 250}.{i % 250 + 1}"} for i in range(count)]
            path = os.path.join(work, f"records-{round_number}.json")
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(records, handle)
            task = {"ddi.kea_dns.knot_zone": {"knot_socket": knot.socket, "zone": "site.test",
                                              "static_records": "{{ lookup('ansible.builtin.file', '" + path + "') | from_json }}"}}
            apply, apply_task = timed_play(work, f"knot-{round_number}", task)
            assert knot.query(f"r{round_number}-bmc-{count - 1}.site.test") == [records[-1]["value"]]
            again, again_task = timed_play(work, f"knot-again-{round_number}", task)
            print(f"knot_zone, {count} static records, one task: apply {apply:.2f} s (the task {apply_task:.2f} s), "
                  f"no-change re-apply {again:.2f} s (the task {again_task:.2f} s)")
        # Seed 003's restore-and-merge-zones.sh: one knotc process per zone-set, inside one transaction.
        knotc = ["knotc", "-s", knot.socket]
        start = time.monotonic()
        subprocess.run([*knotc, "zone-begin", "site.test"], check=True, capture_output=True)
        for i in range(count):
            subprocess.run([*knotc, "zone-set", "site.test", f"seed-bmc-{i}", "600", "A", f"10.97.{i // 250}.{i % 250 + 1}"], check=True, capture_output=True)
        subprocess.run([*knotc, "zone-commit", "site.test"], check=True, capture_output=True)
        subprocess.run([*knotc, "zone-flush", "site.test"], check=True, capture_output=True)
        print(f"seed 003 merge (knotc zone-set per record, one transaction, flush): {time.monotonic() - start:.2f} s")


def bench_leases(work: str, count: int, rounds: int) -> None:
    with PgCluster() as pg:
        fill_leases(pg, count)
        print(f"floor (one ping task): {floor(work):.2f} s")
        for round_number in range(1, rounds + 1):
            backups = os.path.join(work, f"backups-{round_number}")
            backup, backup_task = timed_play(work, f"backup-{round_number}", {"ddi.kea_dns.lease_backup": {
                "lease_database": "postgresql", "backup_dir": backups, "name": "bench"}}, pg.env())
            target = f"kea_bench_{round_number}"
            pg.admin_sql(f"CREATE DATABASE {target} OWNER {pg.kea_user}")
            pg.kea_admin("db-init", target)
            restore, restore_task = timed_play(work, f"restore-{round_number}", {"ddi.kea_dns.lease_backup": {
                "state": "restore", "lease_database": "postgresql", "archive": os.path.join(backups, "kea-leases.tar.gz")}},
                dict(pg.env(), KEA_DB_NAME=target))
            for table in ("lease4", "lease4_stat"):
                assert pg.admin_sql(f"SELECT * FROM {table} ORDER BY 1, 2", dbname=target) == pg.kea_sql(f"SELECT * FROM {table} ORDER BY 1, 2")
            size = os.path.getsize(os.path.join(backups, "kea-leases.tar.gz")) / 1e6
            print(f"lease_backup, {count} leases from PostgreSQL: backup {backup:.2f} s (the task {backup_task:.2f} s, {size:.1f} MB archive), "
                  f"restore into a fresh database {restore:.2f} s (the task {restore_task:.2f} s), rows and statistics identical")
            pg.admin_sql(f"DROP DATABASE {target} WITH (FORCE)")
        # Peer: pg_dump / pg_restore (as the superuser) of the lease and statistics tables, data only, triggers disabled
        # (the schema comes from kea-admin on both sides; with the triggers on, pg_restore fails on Kea's trigger functions).
        target = "kea_bench_pgdump"
        pg.admin_sql(f"CREATE DATABASE {target} OWNER {pg.kea_user}")
        pg.kea_admin("db-init", target)
        dump = os.path.join(work, "leases.dump")
        common = ["-h", pg.sock, "-p", str(pg.port), "-U", "postgres"]
        start = time.monotonic()
        tables = ["-t", "lease4", "-t", "lease6", "-t", "lease4*stat*", "-t", "lease6*stat*"]
        subprocess.run([f"{pg.bindir}/pg_dump", *common, "-Fc", "--data-only", *tables, "-f", dump, pg.kea_db], check=True)
        dumped = time.monotonic() - start
        start = time.monotonic()
        subprocess.run([f"{pg.bindir}/pg_restore", *common, "--data-only", "--disable-triggers", "--single-transaction", "-d", target, dump], check=True)
        print(f"peer pg_dump -Fc --data-only: dump {dumped:.2f} s, pg_restore --disable-triggers --single-transaction {time.monotonic() - start:.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--leases", type=int, default=100000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="kea-dns-bench-") as work:
        bench_knot(work, args.records, args.rounds)
        bench_leases(work, args.leases, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
