"""Benchmark: what one PATCH and one filtered GET cost PowerDNS as its zone grows, with API-RECTIFY on and off.

For each size in ``--sizes`` (reservations), a new PowerDNS (4.7, sqlite3 backend, as the tests run it) gets
``site.test`` filled straight into its database with ``size`` A records and ``size`` TXT ownership markers (what the
daemon writes with ``powerdns_ownership: txt``), so 2 x size RRsets. Then, ``--tries`` times each:

- PATCH of one new A RRset with the zone's ``api_rectify`` on (PowerDNS's default, ``default-api-rectify=yes``);
- the same with ``api_rectify`` off;
- a filtered GET of one RRset (``?rrset_name=...&rrset_type=A``).

Run through the project venv:  .venv/bin/python -m benchmarks.powerdns_patch
Results are recorded in docs/benchmarks.md and docs/backends/powerdns.md with the machine they ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import time

from benchmarks.kea_reservation_apply import machine
from tests.harness.dns_servers import PowerDns
from tests.harness.procs import launch

ZONE = "site.test"


def fill(server: PowerDns, size: int) -> None:
    """``size`` A records and their TXT markers written straight into the sqlite3 database (the API would take
    minutes at 100,000); the records are what PowerDNS itself stores for an unsigned zone (auth=1, no ordername)."""
    database = sqlite3.connect(os.path.join(server.base, "pdns.sqlite3"))
    try:
        domain_id = database.execute("SELECT id FROM domains WHERE name = ?", (ZONE,)).fetchone()[0]
        rows = []
        for index in range(size):
            name = f"us3-cab{index // 40}-ru{index % 40}-idrac.{ZONE}"
            rows.append((domain_id, name, "A", f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"))
            rows.append((domain_id, f"_kea-dns.{name}", "TXT", '"managed-by ddi.kea_dns A owner=kea/default"'))
        database.executemany("INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled, auth) VALUES (?, ?, ?, ?, 600, 0, 0, 1)", rows)
        database.commit()
    finally:
        database.close()


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def measure(size: int, tries: int) -> dict:
    server = launch(PowerDns())
    try:
        fill(server, size)
        result: dict[str, object] = {"rrsets": 2 * size}
        for rectify in (True, False):
            server.api("PUT", f"/zones/{ZONE}.", json={"api_rectify": rectify})
            times = []
            for attempt in range(tries):
                body = {"rrsets": [{"name": f"new-{rectify}-{attempt}.{ZONE}.", "type": "A", "ttl": 600, "changetype": "REPLACE",
                                    "records": [{"content": "10.255.0.1", "disabled": False}]}]}
                times.append(timed(lambda body=body: server.api("PATCH", f"/zones/{ZONE}.", json=body)))
            result[f"patch_ms_rectify_{'on' if rectify else 'off'}"] = round(statistics.median(times), 1)
        name = f"us3-cab0-ru1-idrac.{ZONE}."
        gets = [timed(lambda: server.api("GET", f"/zones/{ZONE}.", params={"rrset_name": name, "rrset_type": "A"})) for _try in range(tries)]
        result["filtered_get_ms"] = round(statistics.median(gets), 1)
        return result
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2000,10000,100000", help="reservations in the zone (each one A and one TXT marker)")
    parser.add_argument("--tries", type=int, default=5, help="calls timed per figure (the median is reported)")
    args = parser.parse_args()
    print(json.dumps({"machine": machine()}))
    for size in (int(s) for s in args.sizes.split(",")):
        print(json.dumps({str(size): measure(size, args.tries)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
