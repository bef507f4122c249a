# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the listener daemon's loops. Database mode, after every (re)connect: LISTEN, reconcile,
drain the outbox, wait for a NOTIFY or the poll interval, drain again; a lost connection is made again with backoff
(and reconciled again), so a change committed while the daemon was away is still in the outbox and nothing is lost.
Lease file mode (``lease_file``, the replaced daemon's legacy mode): reconcile from a Kea memfile lease file whenever it
changes. The work of each pass is the Listener's (listener.py)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from ansible_collections.ddi.kea_dns.plugins.module_utils._backoff import Backoff
from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon import config
from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon.listener import HEARTBEAT, DnsFailure, Listener
from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon.metrics import serve
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea import hosts
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea import lease_file as leasefile
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.db import connect, db_settings, one_line, psycopg2
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import retry
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import rows as outbox
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import status as dns_status

log = logging.getLogger("ddi.kea_dns.listener")


class Daemon(Listener):
    """The Listener with its connections and loops: what main() runs."""

    # -- database mode --------------------------------------------------------------------------------------------
    def connect(self) -> None:
        self.login_vault()
        settings = self.db = db_settings(self.options, on_secret=self.secrets.add, vault=self.vault)
        self.work = connect(settings)
        with self.work.cursor() as cursor:
            hosts.check_schema(cursor)
            self.has_outbox = outbox.exists(cursor, self.schema)
            self.has_status = self.has_outbox and dns_status.available(cursor, self.schema, "INSERT")
        self.work.rollback()
        if self.has_outbox and not self.has_status:
            log.warning("%s.dns_status is missing or not writable: the reservations' DNS status is not kept (install the "
                        "kea_db_events role of this release)", self.schema)
        if not self.has_outbox and not self.options["once"]:
            raise InvalidInputError("events_schema", self.schema, f"{settings.where()} has no {self.schema}.outbox table; "
                                    "install it with the ddi.kea_dns.kea_db_events role")
        if self.options["use_database_events"]:
            self.listen = outbox.listen(settings, self.options["events_channel"])
            log.info("Listening for database lease events on channel '%s'", self.options["events_channel"])
        self.health.connected = True
        self.metrics.db_connected.set(1)
        log.info("Connected to %s", settings.where())
        if self.options["inventory"] and not self.options["once"] and self.inventory_thread is None:
            self.inventory_thread = threading.Thread(target=self.inventory_loop, name="inventory", daemon=True)
            self.inventory_thread.start()

    def disconnect(self) -> None:
        for conn in (self.listen, self.work):
            if conn is not None and not conn.closed:
                with contextlib.suppress(psycopg2.Error):
                    conn.close()
        self.listen = self.work = None
        self.health.connected = False
        self.health.reconciled = False
        self.metrics.db_connected.set(0)

    def serve_connected(self) -> int | None:
        """Reconcile, drain and wait, until the connection fails (exception) or the daemon stops (exit code)."""
        reconciled = False
        self.last_reconcile = 0.0
        while not self.stopping:
            now = time.monotonic()
            if now >= self.dns_retry_at:
                try:
                    self.make_backend()
                    interval = self.options["reconcile_interval"]
                    if not reconciled or (interval and now - self.last_reconcile >= interval):
                        self.reconcile()
                        reconciled = True
                    if self.has_outbox:
                        self.drain()
                    self.probe_dns()
                    self.dns_backoff.reset()
                except DnsFailure as exc:
                    if self.has_outbox:
                        self.measure_backlog()
                    self.metrics.retries.labels("dns").inc()
                    delay = self.dns_backoff.next()
                    self.dns_retry_at = time.monotonic() + delay
                    log.warning("DNS backend failing (%s): changes stay pending, retrying in %.0f s", exc, delay)
                    if self.options["once"]:
                        return 1
                    continue
            if self.options["once"]:
                if self.inventory_wanted.is_set():
                    self.refresh_inventory()  # rows drained after the reconcile's files
                return 0
            self.purge()
            self.renew_vault()
            wait = self.options["poll_interval"]
            if self.listen is not None:
                wait = min(wait, HEARTBEAT)
            if self.dns_retry_at > time.monotonic():
                wait = min(wait, self.dns_retry_at - time.monotonic())
            self.wait(wait)
        return 0

    def run_database(self) -> int:
        backoff = Backoff(self.options["retry_max_interval"])
        while not self.stopping:
            try:
                self.connect()
                backoff.reset()
                code = self.serve_connected()
                if code is not None:
                    return code
            except retry.CONNECTION_RETRIED as exc:
                cause = one_line(exc)
                self.metrics.retries.labels("database").inc()
                if self.options["once"]:
                    log.error("Database failure: %s", cause)
                    return 1
                delay = backoff.next()
                log.warning("Database (or Vault) unreachable or connection lost (%s): reconnecting in %.0f s", cause, delay)
                self.disconnect()
                self.wait(delay)
            finally:
                if self.stopping or self.options["once"]:
                    self.disconnect()
        return 0

    # -- lease file mode ------------------------------------------------------------------------------------------
    def run_lease_file(self) -> int:
        path = self.options["lease_file"]
        log.info("Reading leases from %s every %s s (lease file mode)", path, self.options["poll_interval"])
        self.health.connected = True
        seen: tuple | None = None
        while not self.stopping:
            try:
                current = leasefile.signature(path)
                if current != seen and time.monotonic() >= self.dns_retry_at:
                    state = leasefile.read(path)
                    if state.invalid_lines:
                        log.warning("%s: %d lease lines could not be parsed and were skipped", path, state.invalid_lines)
                    self.make_backend()
                    self.reconcile_reservations(state.reservations)
                    self.dns_backoff.reset()
                    seen = current
            except DnsFailure as exc:
                delay = self.dns_backoff.next()
                self.dns_retry_at = time.monotonic() + delay
                log.warning("DNS backend failing (%s): retrying in %.0f s", exc, delay)
                if self.options["once"]:
                    return 1
            except OSError as exc:
                log.error("Cannot read the lease file: %s", exc)
                if self.options["once"]:
                    return 1
            if self.options["once"]:
                return 0
            self.wait(self.options["poll_interval"])
        return 0

    def run(self) -> int:
        if self.options["metrics_address"]:
            host, port = config.metrics_address(self.options["metrics_address"])
            _server, bound = serve(self.metrics, host, port)
            log.info("Metrics on http://%s:%d/metrics (and /healthz, /readyz)", host, bound)
        try:
            if self.options["lease_file"]:
                return self.run_lease_file()
            log.info("Using %s", "event-driven database NOTIFY/LISTEN mode" if self.options["use_database_events"]
                     else f"database outbox polling every {self.options['poll_interval']} s")
            return self.run_database()
        finally:
            if self.sync is not None:
                self.sync.backend.close()
