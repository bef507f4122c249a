"""Benchmark: N reservations (default 10,000) in one ddi.kea_dns.kea_reservation task, then the no-change re-apply;
DHCPv4 (``--family 4``, the default) or DHCPv6 (``--family 6``: a DUID and one address each).

Wall time of the whole ansible-playbook process (Ansible start-up included), against a throwaway
PostgreSQL with Kea's schema. Run through the project venv:  .venv/bin/python -m benchmarks.kea_reservation_apply
Results are recorded in docs/benchmarks.md with the machine they ran on.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

from tests.harness.ansible import ansible_env, tool
from tests.harness.postgres import PgCluster


def reservations(count: int) -> list[dict]:
    first = int(ipaddress.IPv4Address("10.0.0.1"))
    return [{"mac": f"02:00:00:{(i >> 16) & 0xFF:02x}:{(i >> 8) & 0xFF:02x}:{i & 0xFF:02x}",
             "ip": str(ipaddress.IPv4Address(first + i)),
             "hostname": f"us{i % 4}-cab{(i // 40) % 250:03d}-ru{i % 40:02d}-idrac"} for i in range(count)]


def reservations_v6(count: int) -> list[dict]:
    return [{"duid": f"00:03:00:01:02:00:00:{(i >> 16) & 0xFF:02x}:{(i >> 8) & 0xFF:02x}:{i & 0xFF:02x}",
             "ipv6_addresses": [str(ipaddress.IPv6Address("2001:db8:10::1") + i)],
             "hostname": f"us{i % 4}-cab{(i // 40) % 250:03d}-ru{i % 40:02d}-idrac"} for i in range(count)]


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import ansible  # pylint: disable=import-outside-toplevel

    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, ansible-core {ansible.__version__}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--family", type=int, default=4, choices=[4, 6])
    args = parser.parse_args()
    sources = {
        # How the list reaches the task decides most of the controller's time: a JSON file read with the file
        # lookup and from_json is cheap; Ansible's vars_files loader tags every scalar and is several times slower.
        "lookup": {"tasks_vars": {}, "items": "{{ lookup('ansible.builtin.file', bench_file) | from_json }}"},
        "vars_files": {"tasks_vars": {"vars_files": ["{{ bench_vars_file }}"]}, "items": "{{ bench }}"},
    }
    with tempfile.TemporaryDirectory() as work, PgCluster() as pg:
        items = reservations(args.count) if args.family == 4 else reservations_v6(args.count)
        bench_file = os.path.join(work, "reservations.json")
        bench_vars_file = os.path.join(work, "vars.json")
        with open(bench_file, "w", encoding="utf-8") as handle:
            json.dump(items, handle)
        with open(bench_vars_file, "w", encoding="utf-8") as handle:
            json.dump({"bench": items}, handle)
        env = ansible_env(pg.env())
        print(f"machine: {machine()}")
        print(f"{args.count} DHCPv{args.family} reservations in one task; wall time of ansible-playbook, Ansible start-up included")
        for source, how in sources.items():
            play = [{"name": "Benchmark", "hosts": "localhost", "connection": "local", "gather_facts": False,
                     "vars": {"bench_file": bench_file, "bench_vars_file": bench_vars_file}, **how["tasks_vars"],
                     "tasks": [{"name": "Apply", "ddi.kea_dns.kea_reservation": {"subnet_id": 1, "family": args.family, "reservations": how["items"]}}]}]
            playbook = os.path.join(work, f"{source}.yml")
            with open(playbook, "w", encoding="utf-8") as handle:
                json.dump(play, handle)
            for round_number in range(1, args.rounds + 1):
                pg.reset()
                timings = []
                for _label in ("apply", "re-apply"):
                    start = time.monotonic()
                    subprocess.run([tool("ansible-playbook"), "-i", "localhost,", playbook], env=env, check=True, stdout=subprocess.DEVNULL)
                    timings.append(time.monotonic() - start)
                rows = pg.kea_sql("SELECT count(*) FROM hosts")[0][0]
                print(f"{source:<10} round {round_number}: apply {timings[0]:.2f} s, no-change re-apply {timings[1]:.2f} s, rows {rows}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
