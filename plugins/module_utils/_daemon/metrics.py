# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the listener's Prometheus metrics and its /metrics, /healthz and /readyz endpoint.

``/healthz`` answers 200 while the main loop is alive (it beats at least every few seconds, also while it waits);
``/readyz`` answers 200 once the database is connected and the last reconcile succeeded, and while the DNS backend
answers: it is 503 from the first failed call to the backend until a call succeeds again (a batch, or a probe the
daemon sends while no batch comes). Both answer 503 with the reason otherwise.
"""

from __future__ import annotations

import threading
import time
import typing as t
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

try:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
except ImportError:  # pragma: no cover - the daemon's requirements include prometheus_client
    CollectorRegistry = None

PREFIX = "kea_dns_listener"
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class Metrics:
    def __init__(self) -> None:
        if CollectorRegistry is None:
            raise RuntimeError("the listener's metrics need prometheus_client")
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter(f"{PREFIX}_events_received", "Outbox rows (reservation changes) claimed", ["operation"], registry=r)
        self.applied = Counter(f"{PREFIX}_events_applied", "Outbox rows applied and marked done", ["operation"], registry=r)
        self.failed = Counter(f"{PREFIX}_events_failed", "Outbox rows skipped with a reason (bad row or rejected)", ["reason"], registry=r)
        self.dns_changes = Counter(f"{PREFIX}_dns_changes", "DNS record sets changed", ["action"], registry=r)
        self.conflicts = Counter(f"{PREFIX}_dns_conflicts", "Records left alone because ddi.kea_dns does not manage them", registry=r)
        self.retries = Counter(f"{PREFIX}_retries", "Database or DNS failures that were retried", ["component"], registry=r)
        self.pending = Gauge(f"{PREFIX}_outbox_pending", "Pending outbox rows (updated on every pass, failed or not)", registry=r)
        self.oldest_pending = Gauge(f"{PREFIX}_outbox_oldest_pending_seconds", "Age of the oldest pending outbox row (0: none)", registry=r)
        self.lag = Histogram(f"{PREFIX}_event_lag_seconds", "Reservation change committed -> applied in DNS", buckets=LAG_BUCKETS, registry=r)
        self.reconcile_duration = Gauge(f"{PREFIX}_reconcile_duration_seconds", "Duration of the last reconcile", registry=r)
        self.reconcile_last_success = Gauge(f"{PREFIX}_reconcile_last_success_timestamp_seconds", "End of the last successful reconcile", registry=r)
        self.invalid = Gauge(f"{PREFIX}_invalid_reservations", "Selected reservations the last reconcile could not turn into records", registry=r)
        self.reservations = Gauge(f"{PREFIX}_reservations", "Reservations by DNS status (the dns_status table)", ["dns_status"], registry=r)
        self.reservations_pending_oldest = Gauge(f"{PREFIX}_reservations_pending_oldest_seconds",
                                                 "How long the oldest pending reservation has waited for DNS (0: none)", registry=r)
        self.inventory_files = Gauge(f"{PREFIX}_inventory_files", "Site-cabinet inventory files", registry=r)
        self.db_connected = Gauge(f"{PREFIX}_database_connected", "1 while the database connection is up", registry=r)
        self.health = Health()


class Health:
    """What /healthz and /readyz report; written by the main loop, read by the HTTP thread."""

    def __init__(self, stale_after: float = 60.0) -> None:
        self.stale_after = stale_after
        self.beat = time.monotonic()
        self.connected = False
        self.reconciled = False
        self.dns_error: str | None = None

    def alive(self) -> tuple[bool, str]:
        age = time.monotonic() - self.beat
        return (age < self.stale_after, f"main loop last active {age:.1f} s ago")

    def ready(self) -> tuple[bool, str]:
        if not self.connected:
            return False, "database not connected"
        if not self.reconciled:
            return False, "start-up reconcile not done"
        if self.dns_error:
            return False, f"DNS backend failing: {self.dns_error}"
        return True, "ready"


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: t.Any) -> None:  # no access log on stderr
        pass


def serve(metrics: Metrics, host: str, port: int) -> tuple[t.Any, int]:
    """Start the endpoint in a daemon thread; returns the server and the port it listens on."""
    prometheus = make_wsgi_app(metrics.registry)

    def app(environ: dict, start_response: t.Callable) -> t.Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in ("/healthz", "/readyz"):
            ok, reason = metrics.health.alive() if path == "/healthz" else metrics.health.ready()
            start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8")])
            return [(reason + "\n").encode()]
        if path in ("/metrics", "/"):
            return prometheus(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    server = make_server(host, port, app, server_class=_Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server, server.server_address[1]
