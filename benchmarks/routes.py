"""Benchmark: the route program (Kubernetes routes -> DNS) against the Kubernetes API server emulator, real Knot and
PowerDNS, and the Technitium emulator (also for the request-rate cap).

1. Start-up: ``--routes`` Ingresses (one hostname each, a load balancer address in their status) in the API server,
   the program started on an empty zone -> every record answered (the program's own count of created records, then
   one AXFR to check them all).
2. One route change -> its record answered: ``--changes`` times, an Ingress's hostname changed in the API server, the
   new name polled with real DNS queries every millisecond, a change every SPACING seconds (faster changes are held
   to the program's request cap, as they should be). p50 / p99 / max.
3. Memory: the program's resident set (VmRSS, the peak VmHWM, and of VmRSS the anonymous memory and the mapped
   files: the interpreter, libcrypto, libknot ...) with those routes watched.
4. The cap: ``--capped-routes`` Ingresses into the Technitium emulator (no batch call: one request per record) with
   ``--cap`` requests per second; the most requests the emulator saw in any one second.

Steps 1-3 run against Knot, PowerDNS and the Technitium emulator; for the emulator the cap is raised to 1,000 requests
per second (it has no batch call: at 10 per second 1,000 routes take minutes), so that its row measures memory and
the program's path rather than the cap; its records are polled through its API, not over DNS.

Run through the project venv:  .venv/bin/python -m benchmarks.routes
Results are recorded in docs/benchmarks.md with the machine they ran on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from benchmarks.kea_reservation_apply import machine
from tests.harness.dns_servers import Knot, PowerDns
from tests.harness.kube_api import KubeApiEmulator
from tests.harness.pipeline import Target
from tests.harness.procs import launch, wait_for
from tests.harness.routes import RouteProcess, ingress
from tests.harness.technitium import TechnitiumEmulator

ZONE = "site.test"
LB = {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}
SPACING = 0.25  # seconds between two changes: the program's requests (a read and a write each) stay under its cap


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def publish(kube: KubeApiEmulator, index: int, host: str) -> None:
    kube.apply(ingress(f"svc{index}", host, ip=None))
    kube.set_status(f"Ingress/default/svc{index}", LB)


def memory(pid: int) -> dict[str, float]:
    """VmRSS, VmHWM, RssAnon and RssFile of ``pid`` in MB."""
    found = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:", "RssFile:")):
                found[line.split(":")[0]] = round(int(line.split()[1]) / 1024, 1)
    return found


def created(routes: RouteProcess) -> float:
    try:
        return routes.metrics().get('kea_dns_routes_dns_changes_total{action="create"}', 0.0)
    except Exception:  # noqa: BLE001 - not listening yet
        return 0.0


def run_target(name: str, server, count: int, changes: int, **options) -> dict:
    """``name``: the provider; ``options`` more of the program's options (e.g. powerdns_ownership)."""
    kube = launch(KubeApiEmulator(bookmark_interval=5.0))
    try:
        for index in range(count):
            publish(kube, index, f"svc{index}.{ZONE}")
        target = Target(name, server, {"provider": name}, server.env())
        routes = RouteProcess({"zones": [ZONE], "provider": name, "log_level": "INFO", **options}, {**kube.env(), **target.env})
        started = time.monotonic()
        routes.start(wait_ready=False)
        try:
            wait_for(lambda: created(routes) >= count, 120, "every record created", interval=0.01)
            wait_for(lambda: server.query(f"svc{count - 1}.{ZONE}") == ["192.0.2.10"], 30, "the last record answered", interval=0.005)
            startup = time.monotonic() - started
            answered = sum(1 for (owner, rtype) in server.transfer(ZONE) if rtype == "A" and owner.startswith("svc"))
            assert answered == count, answered
            lags = []
            for step in range(changes):
                index = step % count
                host = f"moved{step}.{ZONE}"
                written = time.monotonic()
                kube.apply(ingress(f"svc{index}", host, ip=None))
                while server.query(host) != ["192.0.2.10"]:
                    time.sleep(0.001)
                lags.append((time.monotonic() - written) * 1000)
                time.sleep(SPACING)
            resident = memory(routes.proc.pid)
        finally:
            routes.stop()
    finally:
        kube.stop()
    return {"routes": count, "startup_s": round(startup, 2), "changes": changes, "p50_ms": round(percentile(lags, 0.5), 1),
            "p99_ms": round(percentile(lags, 0.99), 1), "max_ms": round(max(lags), 1), "mean_ms": round(statistics.mean(lags), 1),
            "rss_mb": resident["VmRSS"], "peak_mb": resident["VmHWM"], "anon_mb": resident["RssAnon"], "file_mb": resident["RssFile"]}


def run_cap(count: int, cap: float) -> dict:
    kube = launch(KubeApiEmulator(bookmark_interval=5.0))
    technitium = launch(TechnitiumEmulator())
    try:
        for index in range(count):
            publish(kube, index, f"svc{index}.{ZONE}")
        routes = RouteProcess({"zones": [ZONE], "provider": "technitium", "rate_limit": cap, "log_level": "INFO"},
                              {**kube.env(), **technitium.env()})
        started = time.monotonic()
        routes.start(wait_ready=False)
        try:
            wait_for(lambda: created(routes) >= count, count / cap * 3 + 30, "every record created", interval=0.2)
            took = time.monotonic() - started
        finally:
            routes.stop()
        return {"routes": count, "cap_per_s": cap, "requests": sum(1 for when in technitium.state.times if when >= started),
                "max_in_any_second": technitium.max_rate(1.0, since=started), "took_s": round(took, 1)}
    finally:
        technitium.stop()
        kube.stop()


# label -> (provider, server class, more options). powerdns-txt: the owner marks in TXT records instead of PowerDNS
# comments, whose every read lists all comments of the zone (docs/backends/powerdns.md).
TARGETS = {"knot": ("knot", Knot, {}), "powerdns": ("powerdns", PowerDns, {}),
           "powerdns-txt": ("powerdns", PowerDns, {"powerdns_ownership": "txt"}),
           "technitium": ("technitium", TechnitiumEmulator, {"rate_limit": 1000.0}), "cap": None}


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--routes", type=int, default=1000)
    cli.add_argument("--changes", type=int, default=200)
    cli.add_argument("--capped-routes", type=int, default=100)
    cli.add_argument("--cap", type=float, default=10.0)
    cli.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated, of {', '.join(TARGETS)}, cap")
    args = cli.parse_args()
    print(f"machine: {machine()}")
    results = {}
    for label in args.targets.split(","):
        if TARGETS.get(label) is None:  # unknown, or the cap (its own run below)
            continue
        provider, make, options = TARGETS[label]
        server = launch(make())
        try:
            results[label] = run_target(provider, server, args.routes, args.changes, **options)
        finally:
            server.stop()
        print(label, json.dumps(results[label]), flush=True)
    if "cap" not in args.targets.split(","):
        return 0
    results["technitium-cap"] = run_cap(args.capped_routes, args.cap)
    print("technitium-cap", json.dumps(results["technitium-cap"]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
