"""Benchmark: the listener daemon at 100,000 reservations side by side with 10,000 (issue 17, point 6).

For each backend (Knot through its control socket, with the daemon's TXT ownership markers; PowerDNS) and each
size in ``--sizes``, ``--rounds`` times, every round on a new DNS server with empty zones and a new ``hosts`` table:

1. Reconcile: ``size`` reservations loaded with one COPY (outbox triggers off) -> the daemon's ``--once`` into the
   empty backend, then again with nothing to do: the process's wall time and the reconcile's own time from its log
   line; then the resident memory (VmRSS, VmHWM) of the long-running daemon after its start-up reconcile
   (``bench_reconcile`` of benchmarks/listener.py).
2. Latency with the zone that large: ``--inserts`` single-row INSERTs at ``--rate`` per second, commit -> answered
   by real DNS queries (``bench_latency``).
3. Burst: ``--burst`` new reservations INSERTed in ONE transaction (the outbox triggers fire per row) -> the time from
   its COMMIT until the last one is answered, and the throughput (``bench_burst``); then every row of the outbox is
   checked done and a sample of the names is queried.

With ``--profile``, one more round per backend and size runs the same reconciles and burst in this process, on the
daemon's own class (``Daemon`` of _daemon/loop.py, its ``reconcile()`` and ``drain()``), with the time of each phase
measured by wrapping the functions and methods it calls (SQL read, desired records, list_zone, planning, apply,
claim, per-key reads...); ``--cprofile DIR`` also runs them under cProfile and prints the top functions.

Run through the project venv:  .venv/bin/python -m benchmarks.listener_scale
Results are recorded in docs/benchmarks.md ("Listener daemon at 100,000 reservations") with the machine.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import logging
import os
import pstats
import random
import sys
import tempfile
import time
import typing as t
from dataclasses import dataclass, field

import yaml

from benchmarks.kea_reservation_apply import machine
from benchmarks.listener import (
    PASSWORD,
    ZONE,
    bench_burst,
    bench_latency,
    bench_reconcile,
    commit_burst,
    daemon,
    load_reservations,
    row,
)
from tests.harness.ansible import collections_path, run_tasks
from tests.harness.dns_servers import ZONES, Knot, PowerDns
from tests.harness.postgres import PgCluster
from tests.harness.procs import launch, run


@dataclass(frozen=True)
class Variant:
    """A backend as measured: the daemon's provider and options, and a setting of the server."""

    provider: str
    options: dict = field(default_factory=dict)
    api_rectify: bool | None = None  # PowerDNS: the zones' API-RECTIFY (None: the server's default-api-rectify, yes)


VARIANTS = {
    "knot": Variant("knot"),
    "powerdns": Variant("powerdns"),  # ownership as RRset comments (the default)
    "powerdns-norectify": Variant("powerdns", api_rectify=False),
    "powerdns-txt": Variant("powerdns", {"powerdns_ownership": "txt"}),  # ownership as TXT markers (docs/backends/powerdns.md)
    "powerdns-txt-norectify": Variant("powerdns", {"powerdns_ownership": "txt"}, api_rectify=False),
    # The outbox batches of earlier releases (200 rows; 1000 is Knot's default now): a burst pays Knot's per-commit
    # cost, which grows with the zone, five times as often (docs/benchmarks.md).
    "knot-batch200": Variant("knot", {"batch_size": 200}),
    # The same daemons without the inventory files (inventory: false): what the files' thread costs the DNS path.
    "knot-noinventory": Variant("knot", {"inventory": False}),
    "powerdns-txt-norectify-noinventory": Variant("powerdns", {"powerdns_ownership": "txt", "inventory": False}, api_rectify=False),
}


def fresh(pg: PgCluster, variant: Variant, knot_zonefile_sync: str | None):
    """An empty ``hosts`` table and outbox, and a new DNS server (empty zones), set as the variant says. Knot's
    ``zonefile-sync`` is set at run time when given (knotc conf-set): with its default (0, the zone file written after
    every commit), knotd 3.2.6 crashed (SIGSEGV) in every run at 100,000 reservations (docs/benchmarks.md)."""
    pg.reset()
    pg.kea_sql("TRUNCATE kea_dns.outbox")
    server = launch(Knot() if variant.provider == "knot" else PowerDns())
    try:
        if variant.provider == "knot" and knot_zonefile_sync is not None:
            for args in (["conf-begin"], ["conf-set", "template[default].zonefile-sync", knot_zonefile_sync], ["conf-commit"]):
                run(["knotc", "-s", server.socket, "-t", "5", *args], timeout=30)
        if variant.api_rectify is not None:  # PowerDNS rectifies the whole zone after every PATCH unless told not to
            for zone in ZONES:
                server.api("PUT", f"/zones/{zone}.", json={"api_rectify": variant.api_rectify})
    except BaseException:
        server.stop()
        raise
    return server


def crashed(server) -> str:
    """How the DNS server ended, when it is no longer running (it must not end during a measurement)."""
    code = server.proc.poll() if server.proc is not None else None
    return "" if code is None else f"; the DNS server exited with {code}" + (" (SIGSEGV)" if code == -11 else "")


def check_burst(pg: PgCluster, server, first: int, count: int, sample: int = 200) -> None:
    """Every outbox row done, and a random sample of the burst's names answered with their address."""
    pending = pg.kea_sql("SELECT count(*) FROM kea_dns.outbox WHERE status <> 'done'")[0][0]
    if pending:
        raise RuntimeError(f"{pending} outbox rows not done after the burst")
    for index in random.Random(first).sample(range(first, first + count), min(sample, count)):
        _identifier, address, hostname = row(index, "burst")
        if server.query(f"{hostname}.{ZONE}") != [address]:
            raise RuntimeError(f"{hostname}.{ZONE} not answered with {address} after the burst")


def measure(pg: PgCluster, name: str, size: int, args: argparse.Namespace) -> dict:
    variant = VARIANTS[name]
    provider, options = variant.provider, variant.options
    server = fresh(pg, variant, args.knot_zonefile_sync)
    try:
        result = bench_reconcile(pg, provider, server, size, **options)
        result["latency"] = bench_latency(pg, provider, server, args.inserts, args.rate, first=size, **options)
        first = size + args.inserts
        try:
            burst = bench_burst(pg, provider, server, args.burst, first=first, per_transaction=args.burst, seed_style=False,
                                timeout=args.burst_timeout, **options)
        except TimeoutError:  # recorded as such: the run goes on with the next measurement
            result["burst"] = {"count": args.burst, "seconds": f"> {args.burst_timeout:g}", "per_second": f"< {args.burst / args.burst_timeout:.0f}"}
        else:
            check_burst(pg, server, first, args.burst)
            result["burst"] = {"count": args.burst, "seconds": burst["daemon_s"], "per_second": round(args.burst / burst["daemon_s"])}
    except Exception as exc:
        raise RuntimeError(f"{name} at {size}: {exc}{crashed(server)}") from exc
    finally:
        server.stop()
    return result


# -- in-process: where the time goes ------------------------------------------------------------------------------------
class Phases:
    """Inclusive time and calls of wrapped functions (a phase that calls another wrapped one includes its time)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._restore: list[tuple[t.Any, str, t.Any, bool]] = []

    def wrap(self, owner: t.Any, attribute: str, label: str) -> None:
        original = getattr(owner, attribute)

        @functools.wraps(original)
        def timed(*args: t.Any, **kwargs: t.Any) -> t.Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - start
                self.calls[label] = self.calls.get(label, 0) + 1

        self._restore.append((owner, attribute, original, attribute in vars(owner)))
        object.__setattr__(owner, attribute, timed)  # also on a frozen dataclass (the Kea source)

    def take(self) -> dict[str, str]:
        report = {label: f"{seconds:.2f} s / {self.calls[label]} calls" for label, seconds in self.seconds.items()}
        self.seconds.clear()
        self.calls.clear()
        return report

    def unwrap(self) -> None:
        for owner, attribute, original, own in reversed(self._restore):
            if own:
                object.__setattr__(owner, attribute, original)  # a module's function
            else:
                object.__delattr__(owner, attribute)  # an instance's method: its class's shows again
        self._restore.clear()


def core_on_path() -> None:
    """The collection importable in this process (ansible_collections.ddi.kea_dns -> this source tree)."""
    if collections_path() not in sys.path:
        sys.path.insert(0, collections_path())


def in_process_listener(pg: PgCluster, provider: str, server, workdir: str, **options) -> t.Any:
    """The daemon (Daemon of _daemon/loop.py) in this process, configured as benchmarks/listener.py configures the daemon process."""
    core_on_path()
    from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon import (
        config,  # pylint: disable=import-outside-toplevel
        loop,  # pylint: disable=import-outside-toplevel
    )

    process = daemon(pg, provider, server, **{"metrics_address": "", "inventory": False, "log_level": "WARNING", **options})
    path = os.path.join(workdir, "config.yml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(process.options, handle)
    options, _check = config.load(["--config", path], environ=process.env)
    return loop.Daemon(options)


def timed_run(label: str, function: t.Callable[[], t.Any], phases: Phases, cprofile_dir: str | None) -> dict:
    profiler = cProfile.Profile() if cprofile_dir else None
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    function()
    if profiler:
        profiler.disable()
    result = {"total_s": round(time.perf_counter() - start, 2), "phases": phases.take()}
    if profiler:
        path = os.path.join(cprofile_dir, f"{label}.prof")
        profiler.dump_stats(path)
        print(f"--- cProfile {label} (under the profiler: {result['total_s']} s), top by own time; {path}", flush=True)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(14)
    return result


def profile(pg: PgCluster, name: str, size: int, args: argparse.Namespace) -> dict:
    """Reconcile into the empty backend, again with nothing to do, then a burst in one transaction drained by
    ``Listener.drain()``: each with the time of its phases."""
    core_on_path()
    from ansible_collections.ddi.kea_dns.plugins.module_utils._kea import hosts  # pylint: disable=import-outside-toplevel
    from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import rows as outbox  # pylint: disable=import-outside-toplevel

    logging.getLogger("ddi.kea_dns").setLevel(logging.WARNING)
    variant = VARIANTS[name]
    provider, options = variant.provider, variant.options
    burst, cprofile_dir = args.burst, args.cprofile
    server = fresh(pg, variant, args.knot_zonefile_sync)
    phases = Phases()
    result: dict[str, t.Any] = {}
    try:
        load_reservations(pg, size)
        with tempfile.TemporaryDirectory() as workdir:
            listener = in_process_listener(pg, provider, server, workdir, **options)
            listener.connect()
            listener.make_backend()
            sync, backend = listener.sync, listener.sync.backend
            inner = getattr(backend, "inner", None)  # the TXT-marker wrapper's backend (Knot)
            phases.wrap(hosts, "select_reservations", "SQL: select_reservations")
            phases.wrap(hosts, "select_reservations_touching", "SQL: select_reservations_touching")
            phases.wrap(outbox, "claim", "SQL: outbox.claim")
            phases.wrap(outbox, "lock", "SQL: outbox.lock")
            phases.wrap(outbox, "finish", "SQL: outbox.finish")
            phases.wrap(sync.source, "desired", "desired records")
            phases.wrap(sync, "plan", "plan (compare)")
            phases.wrap(sync, "apply", "apply (all)")
            phases.wrap(backend, "list_zone", "list_zone")
            phases.wrap(backend, "get", "get (per-key reads)")
            if inner is not None:
                phases.wrap(inner, "list_zone", "list_zone: backend read")
                phases.wrap(inner, "get", "get: backend reads (records + markers)")
                phases.wrap(inner, "apply", "apply: backend calls")
                phases.wrap(backend, "_marker_changes", "apply: marker planning (+ its reads)")
            try:
                result["reconcile_empty"] = timed_run(f"{name}-{size}-reconcile-empty", listener.reconcile, phases, cprofile_dir)
                result["reconcile_nothing_to_do"] = timed_run(f"{name}-{size}-reconcile-nothing", listener.reconcile, phases,
                                                              cprofile_dir)
                first = size
                commit_burst(pg, burst, "burst", first, per_transaction=burst)
                result["burst_drain"] = timed_run(f"{name}-{size}-burst", listener.drain, phases, cprofile_dir)
                check_burst(pg, server, first, burst)
            finally:
                phases.unwrap()
                listener.disconnect()
                backend.close()
    except Exception as exc:
        raise RuntimeError(f"{name} at {size} (in process): {exc}{crashed(server)}") from exc
    finally:
        server.stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(VARIANTS), help=f"of {', '.join(VARIANTS)}")
    parser.add_argument("--sizes", default="10000,100000", help="reservations in the database (and the zone)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--inserts", type=int, default=500, help="single-row inserts of the latency run")
    parser.add_argument("--rate", type=float, default=20.0, help="inserts per second in the latency run")
    parser.add_argument("--burst", type=int, default=10000, help="rows inserted in one transaction")
    parser.add_argument("--burst-timeout", type=float, default=600, help="seconds to wait for the last row of the burst")
    parser.add_argument("--profile", action="store_true", help="one more round in this process, with the time of each phase")
    parser.add_argument("--cprofile", metavar="DIR", help="with --profile: also run it under cProfile, stats into DIR")
    parser.add_argument("--skip-daemon", action="store_true", help="only the --profile round")
    parser.add_argument("--knot-zonefile-sync", default="30", help="Knot's zonefile-sync, set at run time ('' : Knot's default, 0)")
    args = parser.parse_args()
    args.knot_zonefile_sync = args.knot_zonefile_sync or None
    if args.cprofile:
        os.makedirs(args.cprofile, exist_ok=True)

    results: dict[str, t.Any] = {"machine": machine()}
    with PgCluster() as pg:
        run = run_tasks([{"ddi.kea_dns.kea_db_events": {"listener_password": PASSWORD}}], env=pg.admin_env())
        if run.returncode != 0:
            raise RuntimeError(run.output[-3000:])
        for name in args.backends.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                for number in range(1, 0 if args.skip_daemon else args.rounds + 1):
                    key = f"{name} {size} round {number}"
                    results[key] = measure(pg, name, size, args)
                    print(json.dumps({key: results[key]}), flush=True)
                if args.profile:
                    key = f"{name} {size} phases"
                    results[key] = profile(pg, name, size, args)
                    print(json.dumps({key: results[key]}), flush=True)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
