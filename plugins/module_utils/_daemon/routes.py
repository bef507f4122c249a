# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the route program (``route_dns_sync.py``): Kubernetes routes -> DNS records.

A sibling of the listener daemon on the same core, not a mode of it: it reads no database and the listener reads no
Kubernetes API, each has its own owner id, and they run in different places (the listener next to Kea, this one as a
Deployment in the cluster). What they share is the planner and apply path (``_dns/sync.py``), the backends and their
options (``_dns/registry.py``), the logging (``logs.py``) and the metrics endpoint (``metrics.py``).

The watchers (``_sources/route_watch.py``) fill a cache; the loop takes the objects changed since its last pass (a
burst waits ``debounce`` seconds to settle), turns the changed routes into records (``_sources/route_hosts.py``) and
applies the names they had and have (``DnsSync.touching``). A full reconcile runs at start (once every watcher has
listed its kind) and every ``resync_interval`` seconds, never while a watcher is failing, so an unreachable API server
deletes nothing. A DNS failure keeps the names to apply and retries with backoff (1, 2, 4 ... 30 s). Every request to
the DNS server takes a token of a ``rate_limit`` per second bucket (``_dns/rate.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import threading
import time
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._backoff import Backoff
from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon.config import coerce, metrics_address
from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon.logs import setup_logging
from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon.memory import release_freed_memory
from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon.metrics import Health, serve
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.ownership import check_owner_id
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.rate import RateLimit, RateLimitedBackend
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.registry import dns_backend, dns_options
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.status import Status, counts, evaluate
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.sync import DnsSync, Plan
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, KeaDnsError
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import DEFAULT_ROUTE_KINDS, ROUTE_SOURCE, TYPES, Option, options_from_env
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources import route_watch
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.route_hosts import RouteRecords
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.routes import RouteNames, RouteSource, held_names, records_of, route_settings

try:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
except ImportError:  # pragma: no cover - the program's requirements include prometheus_client
    CollectorRegistry = None

log = logging.getLogger("ddi.kea_dns.routes")
PREFIX = "kea_dns_routes"
GAUGE_INTERVAL = 5.0  # seconds between two updates of the records and resources_watched gauges
ROUTE_KINDS = DEFAULT_ROUTE_KINDS

# The program's own options, beside the route source's (ROUTE_SOURCE); seed 004's environment variables first in ``env``.
OWN = (
    Option("rate_limit", "float", help="requests per second to the DNS server (default: the backend's, 10 for Technitium, 100 for the others)",
           env=("ROUTE_RATE_LIMIT",)),
    Option("resync_interval", "float", 300.0, "seconds between full reconciles", env=("ROUTE_RESYNC_INTERVAL",)),
    Option("debounce", "float", 0.01, "seconds a burst of changes settles before it is applied (at most 1 s in all)"),
    Option("watch_timeout", "int", 300, "seconds a watch lasts before it is opened again (server timeoutSeconds)"),
    Option("read_timeout", "float", 90.0, "seconds without a byte after which a watch is taken as stalled"),
    Option("retry_max_interval", "float", 30.0, "longest wait between retries"),
    Option("log_level", default="INFO", help="log level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), env=("LOG_LEVEL",)),
    Option("log_format", default="json", help="log format", choices=("text", "json"), env=("LOG_FORMAT",)),
    Option("metrics_address", default=":8080", help="[host]:port of /metrics (no host: every address; empty: off)", env=("METRICS_BIND_ADDRESS",)),
    Option("health_address", default=":8081", help="[host]:port of /healthz and /readyz (no host: every address; empty: off)",
           env=("HEALTH_PROBE_ADDRESS",)),
    Option("once", "bool", False, "list every route, reconcile once and exit"),
    Option("dry_run", "bool", False, "log the DNS changes without making them"),
)
SEED_DEFAULTS = {"provider": "technitium"}  # seed 004's backend
# Seed 004's variables of the backend, by provider: its URL and token.
SEED_BACKEND_ENV = {"DNS_SERVER_URL": {"technitium": "technitium_api_url", "powerdns": "powerdns_api_url"},
                    "DNS_API_TOKEN": {"technitium": "technitium_token", "powerdns": "powerdns_api_key"}}


def _options() -> tuple[Option, ...]:
    shared = [dataclasses.replace(option, default=SEED_DEFAULTS.get(option.name, option.default),
                                  env=(("DNS_PROVIDER",) if option.name == "provider" else ()) + option.env) for option in dns_options()]
    return (*ROUTE_SOURCE, *OWN, *shared)


OPTIONS = _options()


def load(argv: t.Sequence[str] | None = None, environ: t.Mapping[str, str] | None = None) -> dict[str, t.Any]:
    """Command line, then the environment (seed 004's variables and the catalogue's), then the defaults."""
    environ = dict(os.environ if environ is None else environ)
    cli = argparse.ArgumentParser(prog="route_dns_sync.py", argument_default=argparse.SUPPRESS,
                                  description="Keep DNS records of Kubernetes Ingress, IngressRoute and HTTPRoute hostnames (ddi.kea_dns).",
                                  epilog="Secrets come from the environment only (DNS_API_TOKEN, TECHNITIUM_TOKEN, PDNS_API_KEY, ...).")
    for option in OPTIONS:
        if option.env_only or option.type == "dict":
            continue
        flag = "--" + option.name.replace("_", "-")
        if option.type == "bool":
            cli.add_argument(flag, action=argparse.BooleanOptionalAction, help=option.help)
        elif option.type == "list":
            cli.add_argument(flag, help=option.help + " (comma-separated)")
        else:
            cli.add_argument(flag, type=TYPES[option.type], choices=option.choices, help=option.help)
    given = vars(cli.parse_args(argv))
    from_env = options_from_env(environ, OPTIONS)
    provider = given.get("provider") or from_env.get("provider") or SEED_DEFAULTS["provider"]
    for variable, by_provider in SEED_BACKEND_ENV.items():
        name = by_provider.get(provider)
        if name and environ.get(variable) and name not in from_env:
            from_env[name] = environ[variable]
    for source in (given, from_env):  # seed 004 writes LOG_LEVEL=info
        if isinstance(source.get("log_level"), str):
            source["log_level"] = source["log_level"].upper()
    options = {}
    for option in OPTIONS:
        if option.name in given and not option.env_only:
            options[option.name] = coerce(option, given[option.name], "--")
        elif option.name in from_env:
            options[option.name] = coerce(option, from_env[option.name], "environment ")
        else:
            options[option.name] = option.default_value
    check(options)
    return options


def check(options: t.Mapping[str, t.Any]) -> None:
    check_owner_id(options["owner_id"])
    unknown = [kind for kind in options["kinds"] if kind not in ROUTE_KINDS]
    if unknown or not options["kinds"]:
        raise InvalidInputError("kinds", options["kinds"], f"expected one or more of {', '.join(ROUTE_KINDS)}")
    for name in ("rate_limit", "resync_interval", "read_timeout", "retry_max_interval", "watch_timeout"):
        if options[name] is not None and options[name] <= 0:
            raise InvalidInputError(name, options[name], "must be greater than 0")
    route_settings(options)
    for name in ("metrics_address", "health_address"):
        if options[name]:
            bind_address(options[name], name)


def bind_address(value: str, field: str) -> tuple[str, int]:
    """``host:port``, or seed 004's ``:port`` for every address."""
    try:
        return metrics_address("0.0.0.0" + value if value.startswith(":") else value)
    except InvalidInputError:
        raise InvalidInputError(field, value, "expected [host]:port, e.g. :8080 or 127.0.0.1:8080") from None


class RouteMetrics:
    def __init__(self) -> None:
        if CollectorRegistry is None:
            raise RuntimeError("the route program's metrics need prometheus_client")
        self.registry = r = CollectorRegistry()
        self.records = Gauge(f"{PREFIX}_records", "Names the routes want, by zone and status (synced, pending, invalid)", ["zone", "status"], registry=r)
        self.requests = Histogram(f"{PREFIX}_dns_api_request_duration_seconds", "DNS API calls and their duration by endpoint", ["endpoint"], registry=r)
        self.reconcile_duration = Gauge(f"{PREFIX}_reconcile_duration_seconds", "Duration of the last reconcile", registry=r)
        self.errors = Counter(f"{PREFIX}_reconcile_errors", "DNS or Kubernetes API failures that were retried", ["component"], registry=r)
        self.watched = Gauge(f"{PREFIX}_resources_watched", "Objects in the cache by namespace and kind", ["namespace", "kind"], registry=r)
        self.invalid = Counter(f"{PREFIX}_routes_skipped", "Routes (or names of them) skipped with a reason", registry=r)
        self.changes = Counter(f"{PREFIX}_dns_changes", "DNS record sets changed", ["action"], registry=r)
        self.conflicts = Counter(f"{PREFIX}_dns_conflicts", "Records left alone because another owner (or nobody here) has them", registry=r)
        self.routes = Gauge(f"{PREFIX}_routes", "Routes by DNS status (pending, synced, failed, skipped, conflict)", ["dns_status"], registry=r)
        self.last_sync = Gauge(f"{PREFIX}_last_sync_timestamp_seconds", "End of the last successful sync (as external-dns's)", registry=r)
        self.health = RouteHealth()


class RouteHealth(Health):
    def __init__(self) -> None:
        super().__init__()
        self.watchers: list[route_watch.Watcher] = []

    def ready(self) -> tuple[bool, str]:
        failing = [f"{w.status.kind}: {w.status.error}" for w in self.watchers if w.status.error]
        if failing:
            return False, f"Kubernetes API failing: {'; '.join(failing)}"
        if not self.reconciled:
            return False, "start-up reconcile not done"
        if self.dns_error:
            return False, f"DNS backend failing: {self.dns_error}"
        return True, "ready"


class RouteProgram:
    def __init__(self, options: dict[str, t.Any], api: route_watch.KubeApi | None = None) -> None:
        self.options = options
        self.secrets: set[str] = set()
        self.metrics = RouteMetrics()
        self.health = self.metrics.health
        self.settings = route_settings(options)
        backend = dns_backend(options, on_secret=self.secrets.add, owned=True)
        self.backend = RateLimitedBackend(backend, RateLimit(options["rate_limit"] or backend.traits.rate_limit),
                                          lambda endpoint, seconds: self.metrics.requests.labels(endpoint).observe(seconds))
        self.api = api
        self.cache = route_watch.Cache()
        self.records: dict[route_watch.ObjectKey, RouteRecords] = {}
        self.statuses: dict[str, Status] = {}  # route ref -> its DNS status after the last pass that touched it
        self.unapplied: set[str] = set()
        self.stopping = threading.Event()
        self.dns_backoff = Backoff(options["retry_max_interval"])
        self.dns_retry_at = 0.0
        self.gauges_at = -GAUGE_INTERVAL
        self.gauges_due = False  # a pass ran since the gauges were counted

    # -- routes -> records --------------------------------------------------------------------------------------
    def refresh(self, keys: t.Iterable[route_watch.ObjectKey]) -> set[str]:
        """The records of the changed objects again; returns the names they had and have. A changed Gateway changes
        every HTTPRoute."""
        objects = self.cache.snapshot()
        keys = set(keys)
        if any(key[0] == "Gateway" for key in keys):
            keys |= {key for key in objects if key[0] == "HTTPRoute"} | {key for key in self.records if key[0] == "HTTPRoute"}
        names: set[str] = set()
        for key, new in records_of(objects, self.settings, keys).items():
            old = self.records.pop(key, None)
            if old is not None:
                names.update(old.names)
            if new is None:
                if old is not None:
                    self.statuses.pop(old.ref, None)
                continue
            for problem in new.problems:
                log.warning("%s: %s", new.ref, problem)
                self.metrics.invalid.inc()
            self.records[key] = new
            names.update(new.names)
        return names

    def source(self) -> RouteSource:
        return RouteSource(self.settings, self.options["owner_id"], held_names(self.records.values()))

    def report(self, plan: Plan, started: float) -> None:
        for change in plan.changes:
            self.metrics.changes.labels(change.action).inc()
            log.info("%s%s %s -> %s", "(dry run) " if self.options["dry_run"] else "", change.label(),
                     ",".join(change.before.values) if change.before else "-", ",".join(change.after.values) if change.after else "-")
        for conflict in plan.conflicts:
            self.metrics.conflicts.inc()
            log.warning("Conflict: %s", conflict)
        self.metrics.last_sync.set(time.time())
        self.metrics.reconcile_duration.set(time.monotonic() - started)
        self.gauges_due = True

    def update_gauges(self) -> None:
        self.metrics.records.clear()
        for item in self.records.values():
            for name in item.names:
                try:
                    zone = self.backend.find_zone(name)
                except KeaDnsError:
                    zone = "-"
                self.metrics.records.labels(zone, "pending" if item.pending else "synced").inc()
            if item.problems and not item.names:
                self.metrics.records.labels("-", "invalid").inc()
        current = {item.ref for item in self.records.values()}
        for name, count in counts(status for ref, status in self.statuses.items() if ref in current).items():
            self.metrics.routes.labels(name).set(count)
        self.metrics.watched.clear()
        for kind, namespace, _name in self.cache.snapshot():
            self.metrics.watched.labels(namespace, kind).inc()

    def dns(self, function: t.Callable[[], tuple[Plan, t.Any]], names: t.Collection[str] | None = None) -> bool:
        """One DNS pass (of the routes of ``names``, or all); False (and the names kept, a retry due) when the backend
        failed. The DNS status of the routes it covered follows its plan."""
        started = time.monotonic()
        try:
            plan, desired = function()
        except KeaDnsError as exc:
            self.health.dns_error = str(exc)
            self.metrics.errors.labels("dns").inc()
            delay = self.dns_backoff.next()
            self.dns_retry_at = time.monotonic() + delay
            log.warning("DNS backend failing (%s): retrying in %.0f s", exc, delay)
            return False
        self.health.dns_error = None
        self.dns_backoff.reset()
        if not self.options["dry_run"]:
            source = self.source()
            covered = [item for item in self.records.values() if names is None or not names.isdisjoint(item.names)]
            self.statuses.update(evaluate({item.ref: source.records_of(item) for item in covered}, plan, desired))
        self.report(plan, started)
        return True

    def reconcile(self) -> bool:
        log.info("Reconciling %d routes", len(self.records))
        done = self.dns(lambda: DnsSync(self.backend, self.source()).reconcile(list(self.records.values()), self.options["dry_run"]))
        if done:
            self.unapplied.clear()
            self.health.reconciled = True
            release_freed_memory()
        return done

    def apply_touched(self) -> None:
        names = frozenset(self.unapplied)
        if self.dns(lambda: DnsSync(self.backend, self.source()).touching(list(self.records.values()), RouteNames(names), self.options["dry_run"]),
                    names):
            self.unapplied -= names

    # -- the loop ------------------------------------------------------------------------------------------------
    def watchers(self) -> list[route_watch.Watcher]:
        kinds = route_watch.watched_kinds(self.options["kinds"], self.options["traefik_legacy"])
        return [route_watch.Watcher(self.api, kind, namespace or None, self.cache, self.stopping, watch_timeout=self.options["watch_timeout"],
                                    read_timeout=self.options["read_timeout"], retry_max_interval=self.options["retry_max_interval"])
                for kind in kinds for namespace in (self.options["namespaces"] or [""])]

    def all_listed(self) -> bool:
        return all((w.status.synced or not w.status.installed) and not w.status.error for w in self.health.watchers)

    def stop(self, *_: t.Any) -> None:
        self.stopping.set()
        with self.cache.changed:
            self.cache.changed.notify_all()

    def run(self) -> int:
        for name, address in (("metrics", self.options["metrics_address"]), ("health", self.options["health_address"])):
            if address:
                _server, port = serve(self.metrics, *bind_address(address, f"{name}_address"))
                log.info("%s endpoint on %s (port %d)", name.capitalize(), address, port)
        if self.api is None:
            self.api = route_watch.connect(self.options["kubeconfig"])
        self.health.watchers = self.watchers()
        for watcher in self.health.watchers:
            watcher.start()
        last_reconcile: float | None = None
        while not self.stopping.is_set():
            self.health.beat = time.monotonic()
            keys = self.cache.take(1.0, self.options["debounce"])
            if keys:
                self.unapplied |= self.refresh(keys)
            if self.gauges_due and time.monotonic() - self.gauges_at >= GAUGE_INTERVAL:  # they walk every route
                self.update_gauges()
                self.gauges_at, self.gauges_due = time.monotonic(), False
            listed = self.all_listed()
            if not listed and self.options["once"] and any(w.status.error for w in self.health.watchers):
                log.error("Kubernetes API failing: %s", self.health.ready()[1])
                return 1
            if time.monotonic() < self.dns_retry_at:
                continue
            due = last_reconcile is None or time.monotonic() - last_reconcile >= self.options["resync_interval"]
            if due and listed:  # a full reconcile only from the whole picture: a failing watcher deletes nothing
                if self.reconcile():
                    last_reconcile = time.monotonic()
                elif self.options["once"]:
                    return 1
                if self.options["once"]:
                    return 0
            elif last_reconcile is not None and self.unapplied:
                self.apply_touched()  # the changes the healthy watchers saw
        return 0


def main(argv: t.Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(asctime)s - %(message)s")
    try:
        options = load(argv)
        program = RouteProgram(options)
    except KeaDnsError as exc:
        sys.stderr.write(f"route_dns_sync.py: invalid configuration: {exc}\n")
        return 2
    setup_logging(options["log_level"], options["log_format"], program.secrets)
    signal.signal(signal.SIGTERM, program.stop)
    signal.signal(signal.SIGINT, program.stop)
    return program.run()
