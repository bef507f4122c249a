# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the listener daemon's work in one pass (the daemon is installed as
``kea_lease_monitor_vault.py`` by the dns_listener role; main.py is its entry point, loop.py its loops).

The reconcile (every reservation against the records of the daemon's owner id, and the inventory files) and the
batch cycle (claim -> lock -> read -> plan -> apply -> finish, in one transaction). Failures: the DNS backend -> the
rows stay pending and are retried with backoff (``_outbox/retry.py``); a row the backend refuses -> isolated by
batches of one, skipped with its reason after REFUSALS_BEFORE_SKIP refusals, while the rows around it are applied; a
row that can never be applied -> skipped with its reason, counted.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import select
import threading
import time
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._backoff import Backoff
from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon import config
from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon.inventory_writer import InventoryFiles
from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon.memory import release_freed_memory
from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon.metrics import Metrics
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns import report as drift
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import Change
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.registry import dns_backend
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.status import STATUSES, Status, evaluate
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.sync import Desired, DnsSync, Plan
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import KeaDnsError
from ansible_collections.ddi.kea_dns.plugins.module_utils._inventory import files as inventory
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea import hosts
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.db import psycopg2
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Reservation
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.naming import HostnameParser
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import batch, retry
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import rows as outbox
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import status as dns_status
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.kea import KeaSource, reservation_label
from ansible_collections.ddi.kea_dns.plugins.module_utils._vault import VaultClient, vault_settings

log = logging.getLogger("ddi.kea_dns.listener")

HEARTBEAT = 5.0  # longest wait without a beat of the main loop
DEFAULT_BATCH_ROWS = 200  # outbox rows per batch without a DNS backend (inventory files only)
STATUS_INTERVAL = 5.0  # seconds between two counts of the reservations' DNS status (a scan of dns_status)
PROBE_INTERVAL = 15.0  # seconds without a call to the DNS backend after which a probe shows it still answers


class DnsFailure(Exception):
    """The DNS backend could not take a change now (unreachable, timeout, credentials): retry later."""


class DnsRejected(KeaDnsError):
    """The DNS backend refused a change: find the row that causes it and skip that row. Out of a reconcile (a zone it
    will not list), it stops the daemon with its message."""


def describe(change: Change) -> str:
    rrset = change.after or change.before
    verb = {"create": "Created", "update": "Updated", "delete": "Deleted"}[change.action]
    return f"[DNS] {verb} {rrset.key.type} record: {rrset.key.name} -> {', '.join(rrset.values)}"  # type: ignore[union-attr]


class Listener(InventoryFiles):
    """One pass of the daemon's work on a connection it is given: the reconcile, the batch cycle (claim -> lock ->
    read -> plan -> apply -> finish, with the isolation of a row the backend refuses), the backend's health, the
    outbox gauges and purge. The loops and connections are in loop.py (Daemon), the inventory files in
    inventory_writer.py."""

    def __init__(self, options: dict[str, t.Any]) -> None:
        self.options = options
        self.secrets: set[str] = {options[name] for name in config.SECRET_OPTIONS if options.get(name)}
        self.metrics = Metrics()
        self.health = self.metrics.health
        self.stopping = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self.source = KeaSource(zone=options["dns_zone"].lower().rstrip(".") if options["dns_zone"] else None,
                                ttl=options["dns_ttl"], ptr=options["ptr"], ptr_zone=options["ptr_zone"],
                                hostname_filter=tuple(options["hostname_filter"]), owner_id=options["owner_id"])
        self.parser = HostnameParser(options["naming_pattern"])
        self.renderer = inventory.Renderer(self.parser, self.source)
        self.schema = options["events_schema"]
        config.check_outbox_options(options)
        self.vault: VaultClient | None = None
        self.vault_renewed = time.monotonic()
        self.sync: DnsSync | None = None
        self.work: t.Any = None
        self.listen: t.Any = None
        self.dns_backoff = Backoff(options["retry_max_interval"])
        self.dns_retry_at = 0.0
        self.dns_answered = 0.0  # when a call to the DNS backend last succeeded
        self.inventory_wanted = threading.Event()  # set by batches; the inventory thread rewrites the files
        self.inventory_lock = threading.Lock()
        self.inventory_thread: threading.Thread | None = None
        self.db: t.Any = None
        self.isolate_through = 0  # while > 0: batches of one row up to this id (to find a row the backend refuses)
        self.dry_run_after = 0  # with dry_run, rows are never marked; remember how far they were read
        self.purged = 0.0
        self.report_data: dict[str, t.Any] | None = None  # the drift report of the last reconcile, with the report option
        self.has_status = False  # the dns_status table is there (and writable): each reservation's DNS status is kept
        self.status_measured = 0.0

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
            if retry.retried(exc):
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
        try:
            backend = dns_backend(options, on_secret=self.secrets.add, vault=self.vault, owned=True)
        except retry.DNS_RETRIED as exc:  # e.g. a Knot socket not there yet; bad settings stop the daemon instead
            self.health.dns_error = str(exc)
            raise DnsFailure(str(exc)) from None
        self.sync = DnsSync(backend, self.source, take_over=self.options["take_over"])
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

    # -- reconcile ------------------------------------------------------------------------------------------------
    def report(self, plan: Plan) -> None:
        for change in plan.changes[:20]:
            log.info("%s%s", "Dry run: would do " if self.options["dry_run"] else "", describe(change))
        for change in plan.changes[20:]:
            log.debug("%s", describe(change))
        for conflict in plan.conflicts:
            log.warning("%s", conflict)
        for key, reason in plan.refused.items():
            log.warning("The DNS backend refused %s (left out, the other changes applied): %s", key.label(), reason)
        self.metrics.conflicts.inc(len(plan.conflicts))
        if not self.options["dry_run"]:
            for change in plan.changes:
                self.metrics.dns_changes.labels(change.action).inc()

    def reconcile_reservations(self, reservations: t.Sequence[Reservation]) -> dict[dns_status.Key, Status]:
        """Every reservation against DNS and the inventory files; returns each reservation's DNS status (none
        without a DNS backend)."""
        started = time.monotonic()
        statuses: dict[dns_status.Key, Status] = {}
        log.info("Starting DNS consistency check for existing reservations...")
        log.info("Found %d static reservations to check", len(reservations))
        if self.sync is not None:
            if self.options["report"]:
                drift.check_zones(self.dns(self.sync.backend.zones), self.source.home_zones(None), self.options["provider"],
                                  self.sync.backend.find_zone)
            plan, desired = self.dns(self.sync.reconcile, reservations, self.options["dry_run"])
            for label, reason in desired.invalid.items():
                log.warning("Reservation skipped: %s: %s", label, reason)
            self.metrics.invalid.set(len(desired.invalid))
            self.report(plan)
            counts = plan.counts()
            log.info("DNS consistency check complete: %d records created, %d updated, %d deleted, %d unchanged, %d conflicts "
                     "(%.2f s)", counts["created"], counts["updated"], counts["deleted"], counts["unchanged"], counts["conflicts"],
                     time.monotonic() - started)
            statuses = evaluate({(r.host_id, r.key.family): self.source.records_of(r) for r in reservations if r.host_id is not None},
                                plan, desired)
            if self.options["report"]:
                drift.check_owner(plan, self.source.owner_id)
                labelled = evaluate({reservation_label(r): self.source.records_of(r) for r in reservations}, plan, desired)
                self.report_data = drift.build(plan, labelled, self.source.owner_id, sorted(self.sync.zones_seen),
                                               self.options["dry_run"])
        self.write_inventory(reservations)
        self.metrics.reconcile_duration.set(time.monotonic() - started)
        self.metrics.reconcile_last_success.set(time.time())
        self.health.reconciled = True
        return statuses

    def reconcile(self) -> None:
        with self.work.cursor() as cursor:
            try:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (batch.RECONCILE_LOCK,))
                upto = dns_status.through(cursor, self.schema) if self.has_status else 0
                statuses = self.reconcile_reservations(hosts.select_all(cursor))
                if self.has_status and statuses and not self.options["dry_run"]:
                    dns_status.reconciled(cursor, self.schema, statuses, upto)
                    self.work.commit()
            finally:
                self.work.rollback()  # ends the transaction and releases the lock
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
                found = batch.read(cursor, rows, self.source)
                skipped = dict(found.invalid)
                if self.sync is not None:
                    try:
                        plan, desired = self.dns(self.sync.touching, found.reservations, found.touched, self.options["dry_run"])
                    except DnsRejected as exc:
                        if len(rows) > 1:
                            log.warning("The DNS backend refused a batch of %d rows (%s); retrying them one by one", len(rows), exc)
                            self.isolate_through = rows[-1].id
                            self.work.rollback()
                            return len(rows)
                        if rows[0].attempts + 1 < retry.REFUSALS_BEFORE_SKIP:
                            # Maybe passing (a busy server): keep the row pending, count the refusal, retry later.
                            self.work.rollback()
                            reason = f"refused by the DNS backend (attempt {rows[0].attempts + 1} of {retry.REFUSALS_BEFORE_SKIP}): {exc}"
                            outbox.refused(cursor, self.schema, rows[0].id, reason)
                            if self.has_status:
                                dns_status.write(cursor, self.schema, dict.fromkeys(dns_status.row_keys(rows[0]), Status("pending", reason)),
                                                 rows[0].id)
                            self.work.commit()
                            raise DnsFailure(f"the DNS backend refused outbox row {rows[0].id}: {exc}") from None
                        skipped[rows[0].id] = f"refused by the DNS backend {retry.REFUSALS_BEFORE_SKIP} times: {exc}"
                        plan, desired = Plan(), Desired()
                    self.report(plan)
                if self.options["dry_run"]:
                    self.dry_run_after = rows[-1].id
                    self.work.rollback()
                    return len(rows)
                done = [row.id for row in rows if row.id not in skipped]
                if self.has_status and self.sync is not None:
                    dns_status.write(cursor, self.schema, batch.statuses(found, self.source, plan, desired, skipped), rows[-1].id)
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
            if self.has_status and time.monotonic() - self.status_measured >= STATUS_INTERVAL:
                self.status_measured = time.monotonic()
                totals, oldest = dns_status.totals(cursor, self.schema)
                for name in STATUSES:
                    self.metrics.reservations.labels(name).set(totals.get(name, 0))
                self.metrics.reservations_pending_oldest.set(oldest)
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
