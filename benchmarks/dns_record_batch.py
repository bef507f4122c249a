"""Benchmark: 1000 A records in one ddi.kea_dns.dns_record task, per backend, then the no-change re-apply.

Wall time of the whole ansible-playbook process (Ansible start-up included), against real servers started by
tests/harness (PowerDNS with its sqlite3 backend; Knot through its control socket; BIND 9 through RFC 2136). The list is read with the file lookup.
Run through the project venv:  .venv/bin/python benchmarks/dns_record_batch.py
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

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.kea_reservation_apply import machine  # noqa: E402
from tests.harness.ansible import ansible_env, tool  # noqa: E402
from tests.harness.dns_servers import Bind, Knot, PowerDns  # noqa: E402
from tests.harness.procs import launch  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{args.count} A records in one task; wall time of ansible-playbook, Ansible start-up included")
    for label, provider, server_class in (("powerdns", "powerdns", PowerDns), ("knot", "knot", Knot), ("rfc2136-bind", "rfc2136", Bind)):
        server = launch(server_class())
        try:
            with tempfile.TemporaryDirectory() as work:
                for round_number in range(1, args.rounds + 1):
                    items = [{"name": f"r{round_number}-bmc-{i}", "value": f"10.98.{i // 250}.{i % 250 + 1}"} for i in range(args.count)]
                    records = os.path.join(work, f"records-{round_number}.json")
                    with open(records, "w", encoding="utf-8") as handle:
                        json.dump(items, handle)
                    play = [{"name": "Benchmark", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [{
                        "name": "Apply", "ddi.kea_dns.dns_record": {
                            "provider": provider, "zone": "site.test",
                            "records": "{{ lookup('ansible.builtin.file', '" + records + "') | from_json }}"}}]}]
                    playbook = os.path.join(work, "play.yml")
                    with open(playbook, "w", encoding="utf-8") as handle:
                        json.dump(play, handle)
                    timings = []
                    for _label in ("apply", "re-apply"):
                        start = time.monotonic()
                        subprocess.run([tool("ansible-playbook"), "-i", "localhost,", playbook], env=ansible_env(server.env()),
                                       check=True, stdout=subprocess.DEVNULL)
                        timings.append(time.monotonic() - start)
                    answered = server.query(f"r{round_number}-bmc-{args.count - 1}.site.test")
                    print(f"{label:<12} round {round_number}: apply {timings[0]:.2f} s, no-change re-apply {timings[1]:.2f} s, "
                          f"last record answers {answered}")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
