"""Benchmark: the kea_reservations inventory plugin at fleet size, against real PostgreSQL with Kea's schema.

``--count`` BMC reservations (default 50,000: 5 sites, 100 cabinets each) with a lease each go into the database.
Then best and median wall time of ``--rounds`` whole processes each:

1. ``ansible-inventory --list`` with the plugin (leases joined, DNS zone), no cache; ``--list --export`` (what AWX
   runs); ``--graph``;
2. ``ansible us3_cab10 --list-hosts``: what every ``ansible-playbook`` run limited to one cabinet pays for the
   inventory before its first task;
3. the same hosts and variables as the listener daemon's static ``<site>-<cabinet>-discovery.yml`` files (the seed's
   way), read by ansible-core's own yaml inventory plugin: the peer (one run: it is slow);
4. ``--list`` and the one-cabinet listing served from the cache (``ansible.builtin.jsonfile``; the run that fills it
   is timed apart);
5. the floor: ansible-core alone, the same host names without any variable or group, added by a minimal inventory
   plugin written for this benchmark (no database): what ``ansible-inventory`` costs for these hosts whatever the
   plugin does;
6. the plugin alone, in a process of its own: the database query and parse (``Fetcher.fetch``), and the whole
   ``parse()`` into an inventory (query, parse, hosts and variables added), without ansible-core's output work.

Run through the project venv:  .venv/bin/python -m benchmarks.inventory
Results are recorded in docs/benchmarks.md with the machine they ran on.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.kea_reservation_apply import machine
from tests.harness.ansible import REPO_ROOT, ansible_env, collections_path, tool
from tests.harness.postgres import PgCluster

ZONE = "oob.example.com"


def load(pg: PgCluster, count: int) -> None:
    """``count`` reservations, 5 sites x 100 cabinets x (count / 500) rack units, each with a current lease."""
    per_cabinet = max(1, count // 500)
    pg.kea_sql(
        "INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname, user_context) "
        "SELECT decode(lpad(to_hex(i), 12, '0'), 'hex'), 0, 1 + i / 10000, 167772160 + i, "
        "'us' || (1 + i %% 5) || '-cab' || (1 + (i / 5) %% 100) || '-ru' || (1 + i / 500 %% %s) || '-' || "
        "(ARRAY['idrac', 'ilo5', 'xcc'])[1 + i %% 3], '{\"managed-by\": \"ddi.kea_dns\"}' "
        "FROM generate_series(0, %s) AS i", (per_cabinet, count - 1))
    pg.kea_sql(
        "INSERT INTO lease4 (address, hwaddr, valid_lifetime, expire, subnet_id, state) "
        "SELECT ipv4_address, dhcp_identifier, 3600, now() + interval '30 minutes', dhcp4_subnet_id, 0 FROM hosts")


def timed(command: list[str], env: dict[str, str], rounds: int) -> tuple[float, float, int]:
    """Best and median wall seconds of ``rounds`` runs, and the output's size."""
    times, size = [], 0
    for _round in range(rounds):
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
        size = len(done.stdout)
    return min(times), statistics.median(times), size


def in_process(path: str, rounds: int) -> None:
    """The plugin's own work, in a process of its own (``--in-process``): Fetcher.fetch() alone, and InventoryManager
    parsing the source (query, parse, hosts and variables added; no output)."""
    from ansible import constants as C  # pylint: disable=import-outside-toplevel
    from ansible.inventory.manager import InventoryManager  # pylint: disable=import-outside-toplevel
    from ansible.parsing.dataloader import DataLoader  # pylint: disable=import-outside-toplevel
    from ansible.plugins.loader import init_plugin_loader  # pylint: disable=import-outside-toplevel

    init_plugin_loader(C.COLLECTIONS_PATHS)
    from ansible_collections.ddi.kea_dns.plugins.plugin_utils._kea_inventory import Fetcher  # pylint: disable=import-outside-toplevel

    options = {"db_host": os.environ["KEA_DB_HOST"], "db_port": int(os.environ["KEA_DB_PORT"]), "db_name": os.environ["KEA_DB_NAME"],
               "db_user": os.environ["KEA_DB_USER"], "db_password": os.environ["KEA_DB_PASSWORD"]}
    fetch, parse = [], []
    for _round in range(rounds):
        start = time.perf_counter()
        Fetcher(options, None, None, None, ZONE, True).fetch()
        fetch.append(time.perf_counter() - start)
        start = time.perf_counter()
        InventoryManager(loader=DataLoader(), sources=[path])
        parse.append(time.perf_counter() - start)
    print(f"  {'plugin alone: query + parse (Fetcher.fetch)':45s} {min(fetch):6.2f} s / {statistics.median(fetch):6.2f} s")
    print(f"  {'plugin alone: parse() into the inventory':45s} {min(parse):6.2f} s / {statistics.median(parse):6.2f} s")


FLOOR_PLUGIN = '''
from ansible.plugins.inventory import BaseInventoryPlugin

DOCUMENTATION = """
name: hosts
short_description: benchmark floor
description: Adds the host names listed in the source file, one per line after the plugin line.
options:
  plugin:
    description: the plugin name
    required: true
"""


class InventoryModule(BaseInventoryPlugin):
    NAME = "bench.floor.hosts"

    def verify_file(self, path):
        return path.endswith(".floor.yml")

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        with open(path, encoding="utf-8") as handle:
            names = handle.read().split()[2:]
        for name in names:
            self.inventory.add_host(name)
'''


def floor_source(pg: PgCluster, work: str) -> tuple[str, str]:
    """A minimal collection bench.floor with the floor plugin, and its source file of the reservations' host names."""
    root = os.path.join(work, "floor", "ansible_collections", "bench", "floor")
    os.makedirs(os.path.join(root, "plugins", "inventory"))
    with open(os.path.join(root, "plugins", "inventory", "hosts.py"), "w", encoding="utf-8") as handle:
        handle.write(FLOOR_PLUGIN)
    path = os.path.join(work, "bench.floor.yml")
    names = [row[0] for row in pg.kea_sql("SELECT lower(hostname) FROM hosts ORDER BY host_id")]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("plugin: bench.floor.hosts\n" + "\n".join(names) + "\n")
    return path, os.path.join(work, "floor")


def static_files(pg: PgCluster, directory: str) -> None:
    """The listener daemon's site-cabinet files for the same reservations."""
    from ansible_collections.ddi.kea_dns.plugins.module_utils._inventory import files as inventory  # pylint: disable=import-outside-toplevel
    from ansible_collections.ddi.kea_dns.plugins.module_utils._kea import hosts as _kea_hosts  # pylint: disable=import-outside-toplevel
    from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.naming import HostnameParser  # pylint: disable=import-outside-toplevel
    from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.kea import KeaSource  # pylint: disable=import-outside-toplevel

    conn = pg.admin_connect(pg.kea_db)
    try:
        with conn.cursor() as cursor:
            reservations = _kea_hosts.select_reservations(cursor)
    finally:
        conn.close()
    files, _unplaced = inventory.render(reservations, HostnameParser(), KeaSource(zone=ZONE, hostname_filter=("*",)))
    inventory.write(directory, files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=50000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--in-process", metavar="SOURCE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        in_process(args.in_process, args.rounds)
        return 0
    sys.path.insert(0, collections_path())
    work = tempfile.mkdtemp(prefix="kea-dns-bench-inventory-")
    try:
        with PgCluster() as pg:
            load(pg, args.count)
            source = os.path.join(work, "bench.kea_reservations.yml")
            cached = os.path.join(work, "cached.kea_reservations.yml")
            common = f"plugin: ddi.kea_dns.kea_reservations\nleases: true\ndns_zone: {ZONE}\n"
            with open(source, "w", encoding="utf-8") as handle:
                handle.write(common)
            with open(cached, "w", encoding="utf-8") as handle:
                handle.write(common + f"cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {work}/cache\ncache_timeout: 3600\n")
            files = os.path.join(work, "files")
            static_files(pg, files)
            env = ansible_env(pg.env())
            inventory = tool("ansible-inventory")
            print(f"machine: {machine()}")
            print(f"reservations: {args.count} (with leases), {len(os.listdir(files))} cabinets; best / median of {args.rounds} runs")
            rows = [
                ("plugin --list", [inventory, "-i", source, "--list"], args.rounds),
                ("plugin --list --export (AWX)", [inventory, "-i", source, "--list", "--export"], args.rounds),
                ("plugin --graph", [inventory, "-i", source, "--graph"], args.rounds),
                ("plugin, one cabinet: --list-hosts", [tool("ansible"), "-i", source, "us3_cab10", "--list-hosts"], args.rounds),
                ("static site-cabinet files --list (peer)", [inventory, "-i", files, "--list"], 1),
                ("static files, one cabinet: --list-hosts", [tool("ansible"), "-i", files, "us3_cab10", "--list-hosts"], 1),
            ]
            floor, floor_collections = floor_source(pg, work)
            floor_env = dict(env, ANSIBLE_COLLECTIONS_PATH=f"{floor_collections}:{env['ANSIBLE_COLLECTIONS_PATH']}",
                             ANSIBLE_INVENTORY_ENABLED="bench.floor.hosts")
            best, median, size = timed([inventory, "-i", floor, "--list"], floor_env, args.rounds)
            print(f"  {'floor: the bare host names --list (core alone)':45s} {best:6.2f} s / {median:6.2f} s   ({size / 1e6:.1f} MB)")
            for label, command, rounds in rows:
                best, median, size = timed(command, env, rounds)
                print(f"  {label:45s} {best:6.2f} s / {median:6.2f} s   ({size / 1e6:.1f} MB)")
            fill, _median, _size = timed([inventory, "-i", cached, "--list", "--flush-cache"], env, 1)
            best, median, size = timed([inventory, "-i", cached, "--list"], env, args.rounds)
            print(f"  {'plugin --list, cache filled (--flush-cache)':45s} {fill:6.2f} s")
            print(f"  {'plugin --list from the cache':45s} {best:6.2f} s / {median:6.2f} s   ({size / 1e6:.1f} MB)")
            best, median, size = timed([tool("ansible"), "-i", cached, "us3_cab10", "--list-hosts"], env, args.rounds)
            print(f"  {'one cabinet from the cache: --list-hosts':45s} {best:6.2f} s / {median:6.2f} s")
            sys.stdout.flush()
            subprocess.run([sys.executable, "-m", "benchmarks.inventory", "--in-process", source, "--rounds", str(args.rounds)], env=env,
                           cwd=REPO_ROOT, check=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
