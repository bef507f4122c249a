"""Benchmark: 1000 A records in one ddi.kea_dns.dns_record task, per backend, then the no-change re-apply.

Wall time of the whole ansible-playbook process (Ansible start-up included), against real servers started by
tests/harness (PowerDNS with its sqlite3 backend; Knot through its control socket; BIND 9 through RFC 2136). The list is
read with the file lookup. SOLIDserver runs against the emulator with latency added to every call: one call at a time
(solidserver_max_parallel=1) against the bounded parallel calls, and the seeds' one-record-at-a-time way on a sample.
Run through the project venv:  .venv/bin/python -m benchmarks.dns_record_batch
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
import warnings

from benchmarks.kea_reservation_apply import machine
from tests.harness.ansible import ansible_env, tool
from tests.harness.dns_servers import Bind, Knot, PowerDns
from tests.harness.procs import launch
from tests.harness.solidserver import SolidServerEmulator


def write_play(work: str, tag: str, provider: str, items: list[dict], extra: dict | None = None) -> str:
    """A playbook applying ``items`` in one dns_record task, the list read with the file lookup."""
    records = os.path.join(work, f"records-{tag}.json")
    with open(records, "w", encoding="utf-8") as handle:
        json.dump(items, handle)
    play = [{"name": "Benchmark", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [{
        "name": "Apply", "ddi.kea_dns.dns_record": {
            "provider": provider, "zone": "site.test", **(extra or {}),
            "records": "{{ lookup('ansible.builtin.file', '" + records + "') | from_json }}"}}]}]
    playbook = os.path.join(work, f"play-{tag}.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        json.dump(play, handle)
    return playbook


def timed_playbook(playbook: str, env: dict) -> float:
    start = time.monotonic()
    subprocess.run([tool("ansible-playbook"), "-i", "localhost,", playbook], env=ansible_env(env), check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def bench_real_servers(args: argparse.Namespace) -> None:
    servers = {"powerdns": ("powerdns", PowerDns), "knot": ("knot", Knot), "rfc2136-bind": ("rfc2136", Bind)}
    for label in [b for b in args.backends if b in servers]:
        provider, server_class = servers[label]
        server = launch(server_class())
        try:
            with tempfile.TemporaryDirectory() as work:
                for round_number in range(1, args.rounds + 1):
                    items = [{"name": f"r{round_number}-bmc-{i}", "value": f"10.98.{i // 250}.{i % 250 + 1}"} for i in range(args.count)]
                    playbook = write_play(work, str(round_number), provider, items)
                    timings = [timed_playbook(playbook, server.env()) for _label in ("apply", "re-apply")]
                    answered = server.query(f"r{round_number}-bmc-{args.count - 1}.site.test")
                    print(f"{label:<12} round {round_number}: apply {timings[0]:.2f} s, no-change re-apply {timings[1]:.2f} s, "
                          f"last record answers {answered}")
        finally:
            server.stop()


def seed_style_create(emulator: SolidServerEmulator, hostname: str, ip_address: str, zone: str) -> None:
    """One record the way the in-house tool of the seeds made it: a new session and the same library calls per record."""
    from SOLIDserverRest import adv  # pylint: disable=import-outside-toplevel

    sds = adv.SDS("127.0.0.1", "ipmadmin", emulator.password)
    sds.sds_ip = emulator.host
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sds.connect(method="native")
        server_name = emulator.INTERNAL
        zones = sds.query("dns_zone_list", {"WHERE": f"dns_name = '{server_name}' AND dnszone_name = '{zone}'"}, timeout=60)
        dns = adv.DNS(name=server_name, sds=sds)
        dns_zone = adv.DNS_zone(sds=sds, name=zone)
        dns_zone.set_dns(dns)
        dns_zone.myid = zones[0]["dnszone_id"]
        dns.refresh()
        dns_zone.refresh()
        record = adv.DNS_record(sds, f"{hostname}.{zone}")
        record.zone = dns_zone
        record.set_dns(dns)
        record.set_ttl(600)
        record.set_type("A", ip=ip_address)
        record.create()


def bench_solidserver(args: argparse.Namespace) -> None:
    print(f"solidserver: emulator with {args.latency * 1000:.0f} ms added to every call, a new one (empty zone) for each "
          f"measurement; {args.count} A records per task")
    with tempfile.TemporaryDirectory() as work:
        for round_number in range(1, args.rounds + 1):
            results = {}
            for parallel in (1, *args.parallel):
                emulator = launch(SolidServerEmulator(latency=args.latency))
                try:
                    tag = f"sds-{round_number}-{parallel}"
                    items = [{"name": f"{tag}-bmc-{i}", "value": f"10.98.{i // 250}.{i % 250 + 1}"} for i in range(args.count)]
                    playbook = write_play(work, tag, "solidserver", items, {"solidserver_max_parallel": parallel})
                    apply = timed_playbook(playbook, emulator.env())
                    peak, calls = emulator.max_in_flight, len(emulator.state.requests)
                    again = timed_playbook(playbook, emulator.env())
                    answered = emulator.query(f"{tag}-bmc-{args.count - 1}.site.test")
                finally:
                    emulator.stop()
                results[parallel] = apply
                print(f"solidserver  round {round_number}: max_parallel {parallel:>2}: apply {apply:.2f} s ({calls} calls, "
                      f"at most {peak} in flight), no-change re-apply {again:.2f} s, last record answers {answered}")
            for parallel in args.parallel:
                print(f"solidserver  round {round_number}: max_parallel {parallel} is {results[1] / results[parallel]:.1f}x "
                      "faster than one call at a time")
    emulator = launch(SolidServerEmulator(latency=args.latency))
    try:
        start = time.monotonic()
        for i in range(args.seed_sample):
            seed_style_create(emulator, f"seed-bmc-{i}", f"10.95.0.{i + 1}", "site.test")
        took = time.monotonic() - start
        calls = len(emulator.state.requests)
        print(f"seed-style   {args.seed_sample} records one by one (new session and library objects per record): {took:.2f} s, "
              f"{calls / args.seed_sample:.1f} calls and {took / args.seed_sample:.2f} s per record, "
              f"so about {took / args.seed_sample * args.count:.0f} s for {args.count} (extrapolated)")
    finally:
        emulator.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["powerdns", "knot", "rfc2136-bind", "solidserver"])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every SOLIDserver emulator call")
    parser.add_argument("--parallel", type=int, nargs="+", default=[8, 24], help="solidserver_max_parallel values compared with 1")
    parser.add_argument("--seed-sample", type=int, default=20, help="records made the seed's way (then extrapolated)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{args.count} A records in one task; wall time of ansible-playbook, Ansible start-up included")
    with tempfile.TemporaryDirectory() as work:  # the floor: Ansible start-up and one trivial task, on this machine now
        playbook = os.path.join(work, "floor.yml")
        with open(playbook, "w", encoding="utf-8") as handle:
            json.dump([{"name": "Floor", "hosts": "localhost", "connection": "local", "gather_facts": False,
                        "tasks": [{"ansible.builtin.ping": {}}]}], handle)
        floor = [timed_playbook(playbook, {}) for _round in range(3)]
        print(f"floor        ansible-playbook with one ansible.builtin.ping task: {', '.join(f'{t:.2f} s' for t in floor)}")
    bench_real_servers(args)
    if "solidserver" in args.backends:
        bench_solidserver(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
