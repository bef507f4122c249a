# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ddi.kea_dns.kea_events: one event per change of a Kea reservation, read from the outbox of the kea_db_events role.

A thin asyncio loop around ``plugins/module_utils/_outbox/events.py`` (``Feed``), the collection's shared core.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import typing as t

DOCUMENTATION = r"""
---
short_description: Changes of Kea DHCPv4 reservations, from the outbox the ddi.kea_dns.kea_db_events role installs.
description:
  - LISTENs on the channel, claims the pending outbox rows no source holds (FOR UPDATE SKIP LOCKED) and puts ONE event
    on the queue for up to O(batch_size) of them, oldest first. A lone change goes out at once; a backlog goes out in
    few, large events.
  - Acknowledged delivery. The rows of an event stay pending, leased to this source for O(ack_timeout) seconds; the
    task that applies them (module P(ddi.kea_dns.dns_sync#module), the playbook C(ddi.kea_dns.dns_event)) marks them
    done. Until then no other event is handed over. Rows not acknowledged are delivered again, when the lease runs
    out, at once when this source stops or loses its database session, or after the wait that dns_sync sets when the
    DNS backend fails. Nothing taken by ansible-rulebook is lost when it stops (at least once, end to end).
  - On start and after every reconnect it first hands over what is pending, so changes committed while it was stopped
    or disconnected are not lost. A lost connection is retried with a growing wait (up to O(retry_max_interval)).
  - A row that can never be applied (not what the triggers write, or a hostname selected by O(hostname_filter) that
    is no DNS name) is marked skipped with its reason in the outbox and logged with its id, never retried; the rows
    behind it go on.
  - Every event has the keys operation, hostname, ip, mac, identifier, identifier_type, subnet_id, site, cabinet,
    rack_unit, bmc_type, fqdn, family, ipv6_addresses, old, outbox_id, changed_at, changes and outbox_ids (see docs/eda.md). C(changes)
    holds one change per reservation (the rows of one reservation coalesced, the last state wins), each with the keys
    of a change; when only one reservation changed, its keys are also at the top, otherwise C(operation) is
    C(BATCH). C(outbox_ids) lists every row of the event, what dns_sync acknowledges.
  - One consumer kind per outbox. Run either the listener daemon or this source against a database; two sources
    on one outbox share the rows between them (each batch goes to one of them). Sources of one outbox log in as
    the same role, so that each sees the others' sessions.
  - Arguments left out are read from the environment variables the modules read (KEA_DB_HOST, KEA_DB_PASSWORD,
    VAULT_ADDR, VAULT_TOKEN, ...), then take the listener daemon's defaults.
options:
  db_host: {description: PostgreSQL host (KEA_DB_HOST)., type: str, default: localhost}
  db_port: {description: PostgreSQL port (KEA_DB_PORT)., type: int, default: 5432}
  db_name: {description: Kea's database (KEA_DB_NAME)., type: str, default: kea}
  db_user: {description: Login role (KEA_DB_USER); with O(use_vault) it comes from Vault., type: str, default: kea}
  db_password: {description: Password (KEA_DB_PASSWORD). Prefer the environment or Vault., type: str}
  db_sslmode:
    description: libpq sslmode (KEA_DB_SSLMODE).
    type: str
    default: prefer
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
  db_sslrootcert: {description: CA bundle for the database (KEA_DB_SSLROOTCERT)., type: path}
  db_connect_timeout: {description: Seconds to wait for a connection., type: int, default: 10}
  use_vault: {description: Read the database user and password from Vault (KV v2)., type: bool, default: false}
  db_vault_path:
    description: Vault path of the database credentials (keys username and password).
    type: str
    default: teams/core-infrastructure/server/kea_db
  vault_addr: {description: Vault address (VAULT_ADDR)., type: str}
  vault_auth_method: {description: Vault login (VAULT_AUTH_METHOD)., type: str, choices: [token, approle], default: token}
  vault_token: {description: Vault token (VAULT_TOKEN)., type: str}
  vault_role_id: {description: AppRole role id (VAULT_ROLE_ID)., type: str}
  vault_secret_id: {description: AppRole secret id (VAULT_SECRET_ID)., type: str}
  vault_mount: {description: KV v2 mount., type: str, default: secrets}
  vault_approle_mount: {description: AppRole mount., type: str, default: approle}
  vault_namespace: {description: Vault namespace (VAULT_NAMESPACE)., type: str}
  vault_ca_cert: {description: CA bundle for Vault (VAULT_CACERT)., type: path}
  vault_validate_certs: {description: Verify Vault's certificate., type: bool, default: true}
  vault_timeout: {description: Seconds to wait for Vault., type: int, default: 30}
  events_schema: {description: Schema of the outbox., type: str, default: kea_dns}
  events_channel: {description: NOTIFY channel., type: str, default: kea_lease_events}
  batch_size:
    description: Outbox rows per event at most (a larger default than the daemon's, since an event costs a playbook run).
    type: int
    default: 500
  ack_timeout:
    description: Seconds the rows of an event stay handed over without an acknowledgment before they are delivered again (at least 5).
    type: float
    default: 300
  hostname_filter:
    description: Globs of the hostnames (first label) that get records, as the daemon's option; used here to check rows.
    type: list
    elements: str
    default: ['*-ilo', '*-idrac', '*-bmc']
  poll_interval: {description: Seconds between reads of the outbox when no notification comes (a safety net)., type: float, default: 10}
  retry_max_interval: {description: Longest wait between reconnects., type: float, default: 30}
  naming_pattern: {description: Hostname regex with the groups site and cabinet (default the collection's)., type: str}
  dns_zone: {description: Zone that makes short hostnames the fqdn of the event., type: str}
"""

EXAMPLES = r"""
---
- name: Kea reservations to DNS
  hosts: all
  sources:
    - ddi.kea_dns.kea_events:
        db_host: kea-db.example.com
        db_name: kea
        db_user: kea_dns_listener
        dns_zone: site.example.com
  rules:
    - name: Show every change
      condition: event.operation is defined
      action:
        debug:
          msg: "{{ event.operation }} {{ event.hostname }} {{ event.ip }}"
"""


def _import_core() -> t.Any:
    """ansible-rulebook runs a source as a file (runpy), with no collection loader: put the collections directory
    this file is installed in on sys.path, so the import below takes the core of this very collection."""
    collections = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), *[os.pardir] * 6))
    root = os.path.dirname(collections)
    if os.path.basename(collections) == "ansible_collections" and root not in sys.path:
        sys.path.insert(0, root)
    from ansible_collections.ddi.kea_dns.plugins.module_utils._backoff import Backoff  # pylint: disable=import-outside-toplevel
    from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import events, retry  # pylint: disable=import-outside-toplevel

    return events, retry, Backoff


events, retry, Backoff = _import_core()
logger = logging.getLogger("ddi.kea_dns.kea_events")
ACK_POLL_INTERVAL = 1.0  # seconds between checks of a lease while an event waits for its acknowledgment


class _Blocking:
    """Runs the feed's blocking calls in a thread. A call in flight when the source is cancelled still completes
    (shielded), and settle() waits for it, so that a commit is never cut by closing its connection."""

    def __init__(self) -> None:
        self.pending: asyncio.Future | None = None

    async def __call__(self, function: t.Callable, *args: t.Any) -> t.Any:
        self.pending = asyncio.ensure_future(asyncio.to_thread(function, *args))
        return await asyncio.shield(self.pending)

    async def settle(self, timeout: float = 30) -> None:
        if self.pending is not None and not self.pending.done():
            await asyncio.wait([self.pending], timeout=timeout)


async def _wait(feed: t.Any, call: _Blocking, seconds: float) -> None:
    """Until a notification arrives on the LISTEN connection or ``seconds`` pass."""
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    descriptor = feed.listen.fileno()
    loop.add_reader(descriptor, ready.set)
    waiter = asyncio.ensure_future(ready.wait())
    try:
        # asyncio.wait, not wait_for: Python 3.11's wait_for drops a cancellation that comes as the notification
        # does, and the source would then never stop (ansible-rulebook waits for it on SIGTERM).
        await asyncio.wait([waiter], timeout=seconds)
    finally:
        waiter.cancel()
        loop.remove_reader(descriptor)
    await call(feed.consume_notifications)


async def _hand_over(feed: t.Any, call: _Blocking, queue: t.Any) -> str:
    """Hand over one batch: put its event on the queue. Returns "taken" (rows were taken: ask again at once),
    "waiting" (the last event is not acknowledged yet) or "idle" (nothing pending)."""
    event, skipped, waiting = await call(feed.take)
    for row_id, reason in sorted(skipped.items()):
        logger.warning("kea_events: outbox row %d skipped (%d so far): %s", row_id, feed.skipped, reason)
    if event is not None:
        await queue.put(event)
        logger.debug("kea_events: handed over outbox rows %s", event["outbox_ids"])
    if event is not None or skipped:
        return "taken"
    return "waiting" if waiting else "idle"


async def main(queue: t.Any, args: dict[str, t.Any]) -> None:
    """ansible-rulebook's entry point."""
    args = {key: value for key, value in (args or {}).items() if key != "eda_feedback_queue"}
    feed = events.Feed(events.options(args))
    backoff = Backoff(feed.options["retry_max_interval"])
    retried = retry.CONNECTION_RETRIED
    call = _Blocking()
    try:
        while True:
            try:
                await call(feed.connect)
                logger.info("kea_events: listening on %s, outbox %s.outbox", feed.options["events_channel"], feed.schema)
                backoff.reset()
                while True:
                    state = await _hand_over(feed, call, queue)
                    if state == "waiting":  # the acknowledgment NOTIFYs; a lease running out does not
                        await _wait(feed, call, min(ACK_POLL_INTERVAL, feed.options["poll_interval"]))
                    elif state == "idle":
                        await _wait(feed, call, feed.options["poll_interval"])
            except retried as exc:
                delay = backoff.next()
                logger.warning("kea_events: database unreachable or connection lost (%s); reconnecting in %.0f s",
                               events.failure(exc, feed.secrets), delay)
                await call(feed.close)
                await asyncio.sleep(delay)
    finally:
        await call.settle()
        feed.close()


if __name__ == "__main__":
    # Run without ansible-rulebook: print the events of the database named by the environment (KEA_DB_*).
    class _PrintQueue:
        async def put(self, event: dict[str, t.Any]) -> None:
            print(event)  # noqa: T201

    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(_PrintQueue(), {}))
