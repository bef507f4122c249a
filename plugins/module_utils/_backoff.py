# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the waits between retries of every long-running door (the listener daemon, the EDA
source, the route program): 1 s, then doubled up to a maximum (seed 004: 1, 2, 4, 8 ... 30 s). No library imports, so
that the route program does not load the database driver."""

from __future__ import annotations


class Backoff:
    """Waits between retries: ``first`` seconds, then doubled up to ``maximum``; reset after a success."""

    def __init__(self, maximum: float, first: float = 1.0) -> None:
        self.first, self.maximum, self.current = first, maximum, 0.0

    def next(self) -> float:
        self.current = self.first if not self.current else min(self.current * 2, self.maximum)
        return self.current

    def reset(self) -> None:
        self.current = 0.0
