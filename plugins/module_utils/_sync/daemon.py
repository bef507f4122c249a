# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the listener daemon (installed as ``kea_lease_monitor_vault.py`` by the dns_listener role).

Database mode, after every (re)connect: LISTEN first (with ``use_database_events``), then reconcile (every
reservation against the owned records of the DNS backend, and the inventory files), then drain the outbox; then
wait for a NOTIFY or the poll interval and drain again. A change committed while the daemon was away is still in
the outbox, so nothing is lost. Failures: the database -> reconnect with backoff (then reconcile again); the DNS
backend -> the rows stay pending and are retried with backoff; a bad row -> skipped with its reason, counted, and
the rows behind it go on. Lease file mode (``lease_file``): the replaced daemon's legacy mode, reconcile from a Kea
memfile lease file whenever it changes.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import logging
import os
import select
import signal
import sys
import threading
import time
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils import _kea_hosts as hosts
from ansible_collections.ddi.kea_dns.plugins.module_utils._db import connect, one_line, psycopg2
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import Change
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import (
    AuthenticationError,
    InvalidInputError,
    KeaDnsError,
    TransportError,
)
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea import Reservation
from ansible_collections.ddi.kea_dns.plugins.module_utils._naming import HostnameParser
from ansible_collections.ddi.kea_dns.plugins.module_utils._settings import db_settings, dns_backend, vault_settings
from ansible_collections.ddi.kea_dns.plugins.module_utils._sync import batch, config, inventory, leasefile, outbox
from ansible_collections.ddi.kea_dns.plugins.module_utils._sync.dns_sync import DnsSync, Plan, SyncSettings
from ansible_collections.ddi.kea_dns.plugins.module_utils._sync.logs import setup_logging
from ansible_collections.ddi.kea_dns.plugins.module_utils._sync.metrics import Metrics, serve
from ansible_collections.ddi.kea_dns.plugins.module_utils._vault import VaultClient

log = logging.getLogger("ddi.kea_dns.listener")

HEARTBEAT = 5.0  # longest wait without a beat of the main loop
DEFAULT_BATCH_ROWS = 200  # outbox rows per batch without a DNS backend (inventory files only)
PROBE_INTERVAL = 15.0  # seconds without a call to the DNS backend after which a probe shows it still answers


class DnsFailure(Exception):
    """The DNS backend could not take a change now (unreachable, timeout, credentials): retry later."""


class DnsRejected(Exception):
    """The DNS backend refused a change: find the row that causes it and skip that row."""


def release_freed_memory() -> None:
    """Hand the memory a reconcile freed back to the system (glibc keeps it otherwise: at 100,000 reservations the
    daemon stayed at the reconcile's peak, about 300 MB, for its whole life)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def describe(change: Change) -> str:
    rrset = change.after or change.before
    verb = {"create": "Created", "update": "Updated", "delete": "Deleted"}[change.action]
    return f"[DNS] {verb} {rrset.key.type} record: {rrset.key.name} -> {', '.join(rrset.values)}"  # type: ignore[union-attr]


class Listener:
    def __init__(self, options: dict[str, t.Any]) -> None:
        self.options = options
        self.secrets: set[str] = {options[name] for name in config.SECRET_OPTIONS if options.get(name)}
        self.metrics = Metrics()
        self.health = self.metrics.health
        self.stopping = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self.sync_settings = SyncSettings(zone=options["dns_zone"].lower().rstrip(".") if options["dns_zone"] else None,
                                          ttl=options["dns_ttl"], ptr=options["ptr"], ptr_zone=options["ptr_zone"],
                                          hostname_filter=tuple(options["hostname_filter"]))
        self.parser = HostnameParser(options["naming_pattern"])
        self.renderer = inventory.Renderer(self.parser, self.sync_settings)
        self.schema = options["events_schema"]
        config.check_outbox_options(options)
        self.vault: VaultClient | None = None
        self.vault_renewed = time.monotonic()
        self.sync: DnsSync | None = None
        self.work: t.Any = None
        self.listen: t.Any = None
        self.dns_backoff = outbox.Backoff(options["retry_max_interval"])
        self.dns_retry_at = 0.0
        self.dns_answered = 0.0  # when a call to the DNS backend last succeeded
        self.inventory_wanted = threading.Event()  # set by batches; the inventory thread rewrites the files
        self.inventory_lock = threading.Lock()
        self.inventory_thread: threading.Thread | None = None
        self.db: t.Any = None
        self.isolate_through = 0  # while > 0: batches of one row up to this id (to find a row the backend refuses)
        self.dry_run_after = 0  # with dry_run, rows are never marked; remember how far they were read
        self.purged = 0.0

    # -- plumbing -------------------------------------------------------------------------------------------------
    def stop(self, *_: t.Any) -> None:
        self.stopping = True
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def wait(self, seconds: float) -> None:
        """Sleep up to ``seconds``; a NOTIFY or a signal ends the wait early. Notifications are consumed."""
        self.health.beat = time.monotonic()
        readers = [self._wake_r] + ([self.listen] if self.listen is not None else [])
        ready = select.select(readers, [], [], max(0.0, min(seconds, HEARTBEAT)))[0]
        if self._wake_r in ready:
            os.read(self._wake_r, 1024)
        if self.listen is not None and self.listen in ready:
            self.listen.poll()
            for notify in self.listen.notifies:
                log.debug("Received database notification: %s", notify.payload)
            self.listen.notifies.clear()
        self.health.beat = time.monotonic()

    def dns(self, function: t.Callable, *args: t.Any) -> t.Any:
        """Call the DNS backend; its errors become DnsFailure (retry later) or DnsRejected (a bad change). Readiness
        follows the calls: failing from the first failed call, ready again only after a call succeeded."""
        try:
            result = function(*args)
        except KeaDnsError as exc:
            if batch.retried(exc):
                self.health.dns_error = str(exc)
                raise DnsFailure(str(exc)) from None
            raise DnsRejected(str(exc)) from None
        self.health.dns_error = None
        self.dns_answered = time.monotonic()
        return result

    @property
    def batch_size(self) -> int:
        """Outbox rows per batch: batch_size, or what the DNS backend takes well (Traits.batch_rows)."""
        if self.options["batch_size"]:
            return self.options["batch_size"]
        return self.sync.backend.traits.batch_rows if self.sync is not None else DEFAULT_BATCH_ROWS

    def make_backend(self) -> None:
        if self.sync is not None or not self.options["enable_dns"]:
            return
        options = dict(self.options, solidserver_scope=self.options["dns_scope"])
        if options["dns_owner_txt"] is None:
            options["dns_owner_txt"] = True  # only used by backends that keep no owner metadata
        try:
            backend = dns_backend(options, on_secret=self.secrets.add, vault=self.vault)
        except batch.RETRIED as exc:  # e.g. a Knot socket not there yet; bad settings stop the daemon instead
            self.health.dns_error = str(exc)
            raise DnsFailure(str(exc)) from None
        self.sync = DnsSync(backend, self.sync_settings)
        log.info("DNS record creation enabled: zone=%s provider=%s%s", self.options["dns_zone"], self.options["provider"],
                 " (dry run)" if self.options["dry_run"] else "")

    def login_vault(self) -> None:
        if self.options["use_vault"] and self.vault is None:
            self.vault = VaultClient(vault_settings(self.options))
            self.vault_renewed = time.monotonic()

    def renew_vault(self) -> None:
        if self.vault is None or time.monotonic() - self.vault_renewed < self.options["vault_renew_interval"]:
            return
        self.vault_renewed = time.monotonic()
        try:
            if self.options["vault_auth_method"] == "approle":
                self.vault = VaultClient(vault_settings(self.options))
            else:
                self.vault.renew()
            log.info("Vault token renewed")
        except KeaDnsError as exc:
            log.warning("Vault token renewal failed: %s", exc)

    # -- inventory ------------------------------------------------------------------------------------------------
    def write_inventory(self, reservations: t.Sequence[Reservation]) -> None:
        if not self.options["inventory"]:
            return
        with self.inventory_lock:
            self._write_inventory(reservations)

    def _write_inventory(self, reservations: t.Sequence[Reservation]) -> None:
        files, unplaced = self.renderer.render(reservations)
        self.metrics.inventory_files.set(len(files))
        if unplaced:
            log.debug("%d selected hostnames do not follow the naming pattern: %s", len(unplaced), ", ".join(unplaced[:20]))
        if self.options["dry_run"]:
            log.info("Dry run: %d inventory files would be written in %s", len(files), self.options["output_dir"])
        else:
            written, removed = inventory.write(self.options["output_dir"], files)
            for name in written:
                log.info("Inventory file written: %s", os.path.join(self.options["output_dir"], name))
            for name in removed:
                log.info("Inventory file removed (no BMC left in the cabinet): %s", name)

    def refresh_inventory(self) -> None:
        """Read every reservation on a connection of its own and rewrite the inventory files that changed."""
        conn = connect(self.db)
        try:
            with conn.cursor() as cursor:
                reservations = hosts.select_reservations(cursor)
        finally:
            conn.close()
        self.write_inventory(reservations)

    def inventory_loop(self) -> None:
        """The inventory thread: after a batch, wait a second (so a burst is one rewrite), then rewrite; never blocks
        the DNS path, whose latency matters."""
        while not self.stopping:
            if not self.inventory_wanted.wait(1.0):
                continue
            time.sleep(1.0)
            self.inventory_wanted.clear()
            try:
                self.refresh_inventory()
            except (psycopg2.Error, KeaDnsError, OSError) as exc:
                log.warning("Inventory files not refreshed (%s); trying again", one_line(exc))
                self.inventory_wanted.set()
                time.sleep(self.options["retry_max_interval"])

    # -- reconcile ------------------------------------------------------------------------------------------------
    def report(self, plan: Plan) -> None:
        for change in plan.changes[:20]:
            log.info("%s%s", "Dry run: would do " if self.options["dry_run"] else "", describe(change))
        for change in plan.changes[20:]:
            log.debug("%s", describe(change))
        for conflict in plan.conflicts:
            log.warning("%s", conflict)
        self.metrics.conflicts.inc(len(plan.conflicts))
        if not self.options["dry_run"]:
            for change in plan.changes:
                self.metrics.dns_changes.labels(change.action).inc()

    def reconcile_reservations(self, reservations: t.Sequence[Reservation]) -> None:
        started = time.monotonic()
        log.info("Starting DNS consistency check for existing reservations...")
        log.info("Found %d static reservations to check", len(reservations))
        if self.sync is not None:
            plan, desired = self.dns(self.sync.reconcile, reservations, self.options["dry_run"])
            for label, reason in desired.invalid.items():
                log.warning("Reservation skipped: %s: %s", label, reason)
            self.metrics.invalid.set(len(desired.invalid))
            self.report(plan)
            counts = plan.counts()
            log.info("DNS consistency check complete: %d records created, %d updated, %d deleted, %d unchanged, %d conflicts "
                     "(%.2f s)", counts["created"], counts["updated"], counts["deleted"], counts["unchanged"], counts["conflicts"],
                     time.monotonic() - started)
        self.write_inventory(reservations)
        self.metrics.reconcile_duration.set(time.monotonic() - started)
        self.metrics.reconcile_last_success.set(time.time())
        self.health.reconciled = True

    def reconcile(self) -> None:
        with self.work.cursor() as cursor:
            try:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (batch.RECONCILE_LOCK,))
                self.reconcile_reservations(hosts.select_reservations(cursor))
            finally:
                self.work.rollback()  # nothing written; ends the transaction and releases the lock
        release_freed_memory()
        self.last_reconcile = time.monotonic()

    # -- the outbox -----------------------------------------------------------------------------------------------
    def process_batch(self) -> int:
        """Claim, apply and mark one batch in one transaction; returns how many rows it claimed."""
        limit = 1 if self.isolate_through else self.batch_size
        with self.work.cursor() as cursor:
            try:
                cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", (batch.RECONCILE_LOCK,))
                rows = outbox.claim(cursor, self.schema, limit, self.dry_run_after)
                if not rows:
                    self.isolate_through = 0
                    self.work.rollback()
                    return 0
                for row in rows:
                    self.metrics.received.labels(str(row.operation)[:16]).inc()
                found = batch.read(cursor, rows, self.sync_settings)
                skipped = dict(found.invalid)
                if self.sync is not None:
                    try:
                        plan = self.dns(self.sync.touching, found.reservations, found.hostnames, found.addresses,
                                        self.options["dry_run"])[0]
                    except DnsRejected as exc:
                        if len(rows) > 1:
                            log.warning("The DNS backend refused a batch of %d rows (%s); retrying them one by one", len(rows), exc)
                            self.isolate_through = rows[-1].id
                            self.work.rollback()
                            return len(rows)
                        if rows[0].attempts + 1 < batch.REFUSALS_BEFORE_SKIP:
                            # Maybe passing (a busy server): keep the row pending, count the refusal, retry later.
                            self.work.rollback()
                            outbox.refused(cursor, self.schema, rows[0].id, f"refused by the DNS backend: {exc}")
                            self.work.commit()
                            raise DnsFailure(f"the DNS backend refused outbox row {rows[0].id}: {exc}") from None
                        skipped[rows[0].id] = f"refused by the DNS backend {batch.REFUSALS_BEFORE_SKIP} times: {exc}"
                        plan = Plan()
                    self.report(plan)
                if self.options["dry_run"]:
                    self.dry_run_after = rows[-1].id
                    self.work.rollback()
                    return len(rows)
                done = [row.id for row in rows if row.id not in skipped]
                outbox.finish(cursor, self.schema, done, skipped)
                self.work.commit()
            except BaseException:
                with contextlib.suppress(psycopg2.Error):
                    self.work.rollback()
                raise
        if self.isolate_through and rows[-1].id >= self.isolate_through:
            self.isolate_through = 0
        now = datetime.datetime.now(datetime.UTC)
        for row in rows:
            if row.id in skipped:
                log.warning("Outbox row %d skipped: %s", row.id, skipped[row.id])
                self.metrics.failed.labels("refused" if skipped[row.id].startswith("refused") else "invalid").inc()
            else:
                self.metrics.applied.labels(row.operation).inc()
                self.metrics.lag.observe(max(0.0, (now - row.created_at).total_seconds()))
        if self.options["inventory"]:
            self.inventory_wanted.set()
        log.debug("Applied %d outbox rows (%d skipped)", len(rows) - len(skipped), len(skipped))
        return len(rows)

    def drain(self) -> None:
        while not self.stopping and self.process_batch():
            self.health.beat = time.monotonic()
        self.measure_backlog()

    def measure_backlog(self) -> None:
        """The outbox gauges, after every pass (also a failed one: they show an outage's backlog growing)."""
        with self.work.cursor() as cursor:
            count, age = outbox.backlog(cursor, self.schema)
        self.work.rollback()
        self.metrics.pending.set(count)
        self.metrics.oldest_pending.set(age)

    def probe_dns(self) -> None:
        """After a failure no batch may come to show the backend is back, and while idle none shows it went away:
        a cheap read answers both."""
        if self.sync is not None and (self.health.dns_error or time.monotonic() - self.dns_answered >= PROBE_INTERVAL):
            self.dns(self.sync.probe)

    def purge(self) -> None:
        if self.options["dry_run"] or time.monotonic() - self.purged < 3600:
            return
        self.purged = time.monotonic()
        with self.work.cursor() as cursor:
            removed = outbox.purge(cursor, self.schema, datetime.timedelta(hours=self.options["outbox_retention"]))
        self.work.commit()
        if removed:
            log.info("Purged %d processed outbox rows older than %s hours", removed, self.options["outbox_retention"])

    # -- database mode --------------------------------------------------------------------------------------------
    def connect(self) -> None:
        self.login_vault()
        settings = self.db = db_settings(self.options, on_secret=self.secrets.add, vault=self.vault)
        self.work = connect(settings)
        with self.work.cursor() as cursor:
            hosts.check_schema(cursor)
            self.has_outbox = outbox.exists(cursor, self.schema)
        self.work.rollback()
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
        backoff = outbox.Backoff(self.options["retry_max_interval"])
        while not self.stopping:
            try:
                self.connect()
                backoff.reset()
                code = self.serve_connected()
                if code is not None:
                    return code
            except (psycopg2.Error, TransportError) as exc:
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


def main(argv: t.Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(asctime)s - %(message)s")
    try:
        options, check_only = config.load(argv)
    except KeaDnsError as exc:
        sys.stderr.write(f"kea_lease_monitor_vault.py: invalid configuration: {exc}\n")
        return 2
    if check_only:
        sys.stdout.write("configuration valid\n")
        return 0
    listener_secrets: set[str] = set()
    try:
        listener = Listener(options)
        listener_secrets = listener.secrets
        setup_logging(options["log_level"], options["log_format"], listener_secrets)
        signal.signal(signal.SIGTERM, listener.stop)
        signal.signal(signal.SIGINT, listener.stop)
        return listener.run()
    except (InvalidInputError, AuthenticationError) as exc:
        log.error("Cannot start: %s", exc)
        return 2
    except KeaDnsError as exc:
        log.error("Stopped: %s", exc)
        return 1
