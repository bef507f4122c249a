# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: a cap on the requests per second a DNS backend receives (seed 004: 10 per second to
Technitium), for any backend.

``RateLimitedBackend`` wraps a backend and counts every request it makes against ``RateLimit``. Backends with a
native batch (PowerDNS, Knot, RFC 2136, the hosts file) make one request per read or per zone batch; those without
(Technitium, SOLIDserver) make one per name read and one per record value written or deleted, so their reads are
split by name and their batches by change, each taking as many tokens as it makes requests.
"""

from __future__ import annotations

import collections
import threading
import time
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import Change, DnsBackend, RRset, RRsetKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import KeaDnsError, partial_failure

# The window is this much longer than a second. A token is taken when a request leaves; the server counts it when it
# arrives, and the time on the way varies (a busy host, a slow connect): two requests a window apart may arrive less
# than a second apart. 10 ms (the first choice) let the emulator count cap + 1 in one second on a loaded machine;
# 100 ms absorbs that variation, for about 9% of the cap's throughput in a long run.
MARGIN = 0.1


class RateLimit:
    """At most ``rate`` requests in any window of one second (a sliding window): after a quiet spell a few requests go
    at once (a single change is not slowed down), a long run is held to ``rate`` per second. Below one per second, one
    request per ``1 / rate`` seconds."""

    def __init__(self, rate: float, clock: t.Callable[[], float] = time.monotonic, sleep: t.Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.window = max(1.0, 1.0 / rate) + MARGIN
        self.count = max(1, int(rate * max(1.0, 1.0 / rate) + 1e-9))
        self.clock, self.sleep = clock, sleep
        self.sent: collections.deque[float] = collections.deque()
        self.lock = threading.Lock()

    def take(self, count: int = 1) -> None:
        """Wait until ``count`` more requests may be made (one at a time)."""
        for _request in range(max(1, count)):
            with self.lock:
                while True:
                    now = self.clock()
                    while self.sent and now - self.sent[0] >= self.window - 1e-9:  # (the float error of a sleep)
                        self.sent.popleft()
                    if len(self.sent) < self.count:
                        self.sent.append(now)
                        break
                    self.sleep(self.window - (now - self.sent[0]))


def _requests(change: Change) -> int:
    """The requests a backend without a native batch makes for one change: one per value written or deleted."""
    return len((change.after or change.before).values) or 1  # type: ignore[union-attr]


class RateLimitedBackend(DnsBackend):
    """``backend`` with every request taking a token of ``limit``; ``observe(endpoint, seconds)`` is told the duration
    of each call (get, list_zone, apply, probe) for the metrics."""

    def __init__(self, backend: DnsBackend, limit: RateLimit, observe: t.Callable[[str, float], None] | None = None) -> None:
        self.backend = backend
        self.limit = limit
        self.traits = backend.traits  # type: ignore[misc]
        self.observe = observe or (lambda endpoint, seconds: None)
        self.zones_read = False

    def _timed(self, endpoint: str, function: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
        start = time.monotonic()
        try:
            return function(*args)
        finally:
            self.observe(endpoint, time.monotonic() - start)

    def _first_zone_read(self) -> None:
        """The backends read their zone list once and keep it: that one request takes a token."""
        if not self.zones_read:
            self.zones_read = True
            self.limit.take()

    def find_zone(self, name: str) -> str:
        self._first_zone_read()
        return self.backend.find_zone(name)

    def zones(self) -> list[str] | None:
        self._first_zone_read()
        return self.backend.zones()

    def get(self, zone: str, keys: t.Collection[RRsetKey]) -> dict[RRsetKey, RRset]:
        if self.traits.native_batch:
            self.limit.take()
            return self._timed("get", self.backend.get, zone, keys)
        found: dict[RRsetKey, RRset] = {}
        for name in sorted({key.name for key in keys}):
            self.limit.take()
            found.update(self._timed("get", self.backend.get, zone, [key for key in keys if key.name == name]))
        return found

    def list_zone(self, zone: str) -> list[RRset]:
        self.limit.take()
        return self._timed("list_zone", self.backend.list_zone, zone)

    def apply(self, zone: str, changes: t.Sequence[Change]) -> None:
        if self.traits.native_batch:
            self.limit.take()
            self._timed("apply", self.backend.apply, zone, changes)
            return
        applied: list[str] = []
        for change in changes:
            self.limit.take(_requests(change))
            try:
                self._timed("apply", self.backend.apply, zone, [change])
            except KeaDnsError as exc:
                raise partial_failure(exc, applied, [change.label()]) from None
            applied.append(change.label())

    def probe(self, zone: str) -> None:
        self.limit.take()
        self._timed("probe", self.backend.probe, zone)

    def close(self) -> None:
        self.backend.close()
