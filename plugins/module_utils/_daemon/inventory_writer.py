# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the listener's site-cabinet inventory files, written by a thread of their own after
batches (so the DNS path never waits for them) and by the reconcile. Rendering and writing are in
``_inventory/files.py``, shared with the kea_inventory_files module."""

from __future__ import annotations

import logging
import os
import time
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import KeaDnsError
from ansible_collections.ddi.kea_dns.plugins.module_utils._inventory import files as inventory
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea import hosts
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.db import connect, one_line, psycopg2
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Reservation

log = logging.getLogger("ddi.kea_dns.listener")


class InventoryFiles:
    """Part of the Listener: needs its ``options``, ``renderer``, ``metrics``, ``db``, ``stopping``,
    ``inventory_lock`` and ``inventory_wanted``."""

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
                reservations = hosts.select_all(cursor)
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
