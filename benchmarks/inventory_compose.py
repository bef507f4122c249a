"""Benchmark: what the kea_reservations inventory plugin's constructed options (compose, groups, keyed_groups) cost.

``--count`` BMC reservations (default 5,000) with a lease each go into a throwaway PostgreSQL with Kea's schema
(the data of benchmarks/inventory.py). Every variant is one source file: the same plugin options (``leases: true``,
``dns_zone``) plus the constructed options of the variant. For each variant, best and median wall time of ``--rounds``
whole processes of:

1. ``ansible-inventory --list``;
2. ``ansible us3_cab10 --list-hosts``: what a playbook run limited to one cabinet pays before its first task
   (the constructed options run for every host of the source, whatever the limit);

3. ``ansible-inventory --list --export``: what an AWX / AAP inventory sync runs (for some of the variants);

and, in a process of its own, the plugin's ``parse()`` into an inventory (no output work): the share of the
constructed options in the plugin's own time. Whole processes are also given in CPU seconds (user + system of the
process, median): on a shared machine the wall time moves with the other load, the CPU time much less. The load
average is printed before and after.

The variants: none; ``compose`` with one and with two expressions; ``keyed_groups`` with one key; ``groups`` with one
condition; the AWX source file as shipped (one compose expression and one keyed group); and the cheaper way to the
same two variables: a ``group_vars/all.yml`` next to the source file, which ansible-core templates only when a task
reads the variable.

Run through the project venv:  .venv/bin/python -m benchmarks.inventory_compose
Results are recorded in docs/benchmarks.md ("Inventory plugin: the cost of compose") and docs/inventory.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.inventory import ZONE, load
from benchmarks.kea_reservation_apply import machine
from tests.harness.ansible import ansible_env, tool
from tests.harness.postgres import PgCluster

COMMON = f"plugin: ddi.kea_dns.kea_reservations\nleases: true\ndns_zone: {ZONE}\n"
REDFISH = """  redfish_url: "'https://' ~ ansible_host ~ '/redfish/v1'"\n"""
CONSOLE = """  console_url: "'https://' ~ fqdn ~ '/console'"\n"""
KEYED = "keyed_groups:\n  - key: subnet_id | string\n    prefix: subnet\n"
# The variants: (label, extra lines of the source file, group_vars/all.yml or None).
VARIANTS = [
    ("none (the plugin's own variables and groups)", "", None),
    ("compose, 1 expression (redfish_url)", "compose:\n" + REDFISH, None),
    ("compose, 2 expressions (redfish_url, console_url)", "compose:\n" + REDFISH + CONSOLE, None),
    ("keyed_groups, 1 key (subnet_id | string)", KEYED, None),
    ("groups, 1 condition (leased)", "groups:\n  leased: lease_state is defined and lease_state == 'default'\n", None),
    ("AWX source file (1 compose + 1 keyed group)", "compose:\n" + REDFISH + KEYED, None),
    ("group_vars/all.yml, the same 2 variables", "",
     'redfish_url: "https://{{ ansible_host }}/redfish/v1"\nconsole_url: "https://{{ fqdn }}/console"\n'),
]


EXPORTED = (0, 2, 5, 6)  # the variants also timed with --list --export


def timed(command: list[str], env: dict[str, str], rounds: int) -> tuple[float, float, float, int]:
    """Best and median wall seconds of ``rounds`` runs, their median CPU seconds (user + system), the output's size."""
    times, cpu, size = [], [], 0
    for _round in range(rounds):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        size = len(done.stdout)
    return min(times), statistics.median(times), statistics.median(cpu), size


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def write_source(work: str, index: int, extra: str, group_vars: str | None) -> str:
    """Each variant in a directory of its own, so that a group_vars directory applies to that variant only."""
    directory = os.path.join(work, f"variant{index}")
    os.makedirs(directory)
    path = os.path.join(directory, "bench.kea_reservations.yml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(COMMON + extra)
    if group_vars is not None:
        os.makedirs(os.path.join(directory, "group_vars"))
        with open(os.path.join(directory, "group_vars", "all.yml"), "w", encoding="utf-8") as handle:
            handle.write(group_vars)
    return path


def in_process(paths: list[str], rounds: int) -> None:
    """The plugin's parse() into an inventory for each source (``--in-process``): no output work."""
    from ansible import constants as C  # pylint: disable=import-outside-toplevel
    from ansible.inventory.manager import InventoryManager  # pylint: disable=import-outside-toplevel
    from ansible.parsing.dataloader import DataLoader  # pylint: disable=import-outside-toplevel
    from ansible.plugins.loader import init_plugin_loader  # pylint: disable=import-outside-toplevel

    init_plugin_loader(C.COLLECTIONS_PATHS)
    InventoryManager(loader=DataLoader(), sources=[paths[0]])  # warm-up: imports and the first connection are not timed
    for (label, _extra, _group_vars), path in zip(VARIANTS, paths, strict=True):
        times = []
        for _round in range(rounds):
            start = time.perf_counter()
            InventoryManager(loader=DataLoader(), sources=[path])
            times.append(time.perf_counter() - start)
        print(f"  {label:52s} {min(times):6.2f} s / {statistics.median(times):6.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--in-process", nargs="+", metavar="SOURCE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        in_process(args.in_process, args.rounds)
        return 0
    work = tempfile.mkdtemp(prefix="kea-dns-bench-compose-")
    try:
        with PgCluster() as pg:
            load(pg, args.count)
            paths = [write_source(work, index, extra, group_vars) for index, (_label, extra, group_vars) in enumerate(VARIANTS)]
            env = ansible_env(pg.env())
            print(f"machine: {machine()}")
            print(f"reservations: {args.count} (with leases); wall best / median of {args.rounds} runs, CPU median; load average {load_average()}")
            for title, command, variants in (
                    ("ansible-inventory --list", [tool("ansible-inventory"), "--list"], range(len(VARIANTS))),
                    ("ansible us3_cab10 --list-hosts", [tool("ansible"), "us3_cab10", "--list-hosts"], range(len(VARIANTS))),
                    ("ansible-inventory --list --export (AWX)", [tool("ansible-inventory"), "--list", "--export"], EXPORTED)):
                print(title)
                for index in variants:
                    best, median, cpu, size = timed(command + ["-i", paths[index]], env, args.rounds)
                    print(f"  {VARIANTS[index][0]:52s} {best:6.2f} s / {median:6.2f} s   CPU {cpu:6.2f} s   ({size / 1e6:.1f} MB)")
                sys.stdout.flush()
            print("the plugin's parse() alone, in one process")
            sys.stdout.flush()
            subprocess.run([sys.executable, __file__, "--rounds", str(args.rounds), "--in-process", *paths], env=env, check=True)
            print(f"load average {load_average()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
