"""Benchmark: this tree side by side with a previous release, in one run, on the same servers and database.

The previous release is taken from git (``--previous``, a commit or tag) into a scratch collections directory. Its
listener daemon runs from its own launcher (``roles/dns_listener/files/kea_lease_monitor_vault.py``, which imports
the collection it lies in); its inventory plugin is found through ANSIBLE_COLLECTIONS_PATH. Each figure is measured
for the previous release, then for this tree, against the same PostgreSQL (Kea schema and kea_db_events outbox) and
the same Knot and PowerDNS:

1. latency p50 / p99 of ``--inserts`` single-row INSERTs at ``--rate`` until the DNS server answers (benchmarks.listener);
2. the start-up reconcile of ``--reservations`` reservations into an empty backend and when nothing needs doing, and
   the resident memory of the long-running daemon after it;
3. the inventory plugin's ``parse()`` of ``--count`` reservations with leases (InventoryManager in a process of its
   own, best / median of ``--rounds``).

Run through the project venv:  .venv/bin/python -m benchmarks.compare --previous <commit>
Results are recorded in docs/benchmarks.md with the machine they ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from benchmarks import inventory
from benchmarks import listener as bench
from benchmarks.kea_reservation_apply import machine
from tests.harness.ansible import REPO_ROOT, ansible_env, collections_path, run_tasks
from tests.harness.dns_servers import Knot, PowerDns
from tests.harness.postgres import PgCluster
from tests.harness.procs import launch


def export(ref: str, work: str) -> str:
    """The tree of ``ref`` as an installed collection; returns its collections directory."""
    root = os.path.join(work, "previous")
    tree = os.path.join(root, "ansible_collections", "ddi", "kea_dns")
    os.makedirs(tree)
    archive = subprocess.run(["git", "-C", REPO_ROOT, "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", tree], input=archive, check=True)
    return root


def listener_figures(pg: PgCluster, provider: str, server, args: argparse.Namespace) -> dict:
    bench.clear(pg, provider, server)
    latency = bench.bench_latency(pg, provider, server, args.inserts, args.rate)
    bench.clear(pg, provider, server)
    reconcile = bench.bench_reconcile(pg, provider, server, args.reservations)
    return {"latency": latency, "reconcile": reconcile}


def parse_times(source: str, collections: str, env: dict[str, str], rounds: int) -> str:
    done = subprocess.run([sys.executable, "-m", "benchmarks.inventory", "--in-process", source, "--rounds", str(rounds)],
                          env=dict(env, ANSIBLE_COLLECTIONS_PATH=collections), cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--previous", required=True, help="git commit or tag of the previous release")
    parser.add_argument("--backends", default="knot,powerdns")
    parser.add_argument("--inserts", type=int, default=500)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--reservations", type=int, default=10000)
    parser.add_argument("--count", type=int, default=50000, help="reservations of the inventory parse")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="kea-dns-bench-compare-")
    releases = {"previous": export(args.previous, work), "this tree": collections_path()}
    programs = {"previous": os.path.join(releases["previous"], "ansible_collections", "ddi", "kea_dns", "roles", "dns_listener", "files",
                                         "kea_lease_monitor_vault.py"), "this tree": None}
    results: dict = {"machine": machine(), "previous": args.previous}
    try:
        with PgCluster() as pg:
            run = run_tasks([{"ddi.kea_dns.kea_db_events": {"listener_password": bench.PASSWORD}}], env=pg.admin_env())
            if run.returncode != 0:
                raise RuntimeError(run.output[-3000:])
            for provider in args.backends.split(","):
                server = launch(Knot() if provider == "knot" else PowerDns())
                try:
                    for release, program in programs.items():
                        bench.PROGRAM = program
                        results[f"{provider} {release}"] = listener_figures(pg, provider, server, args)
                        print(json.dumps({f"{provider} {release}": results[f"{provider} {release}"]}), flush=True)
                finally:
                    bench.PROGRAM = None
                    server.stop()
        with PgCluster() as pg:
            inventory.load(pg, args.count)
            source = os.path.join(work, "bench.kea_reservations.yml")
            with open(source, "w", encoding="utf-8") as handle:
                handle.write(f"plugin: ddi.kea_dns.kea_reservations\nleases: true\ndns_zone: {inventory.ZONE}\n")
            env = ansible_env(pg.env())
            for release, collections in releases.items():
                results[f"inventory {release}"] = parse_times(source, collections, env, args.rounds)
                print(f"inventory parse, {release}:\n{results[f'inventory {release}']}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
