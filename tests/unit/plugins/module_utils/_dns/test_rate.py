"""The request-rate cap: evenly spaced requests on a fake clock, and the requests of a backend without a batch call
(one per name read, one per value written) each taking a token."""

from __future__ import annotations

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import Change, RRset, RRsetKey, Traits
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.rate import MARGIN, RateLimit, RateLimitedBackend
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import KeaDnsError, PartiallyAppliedError


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.requests: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_no_second_holds_more_than_the_cap():
    clock = Clock()
    limit = RateLimit(10, clock=clock, sleep=clock.sleep)
    for _request in range(50):
        limit.take()
        clock.requests.append(clock.now)
    times = clock.requests
    assert max(sum(1 for later in times[i:] if later - first < 1.0) for i, first in enumerate(times)) == 10
    assert times[9] == times[0]  # after a quiet spell, a cap's worth at once
    assert abs((times[-1] - times[0]) - 4 * (1 + MARGIN)) < 1e-6  # then a second (and the margin) per cap's worth
    slow = RateLimit(0.5, clock=clock, sleep=clock.sleep)
    first = clock.now
    slow.take(2)
    assert abs(clock.now - first - (2 + MARGIN)) < 1e-6  # one request per 2 s, and the margin


class Unbatched:
    traits = Traits(name="fake", native_batch=False, ownership=True, can_list_zone=True)

    def __init__(self) -> None:
        self.calls: list[str] = []

    def find_zone(self, name):
        return "z"

    def zones(self):
        return ["z"]

    def get(self, zone, keys):
        self.calls.append("get " + ",".join(sorted({k.name for k in keys})))
        return {}

    def apply(self, zone, changes):
        if changes[0].key.name == "fail":
            raise KeaDnsError("refused")
        self.calls.append("apply " + changes[0].key.name)

    def list_zone(self, zone):
        return []

    def probe(self, zone):
        pass

    def close(self):
        pass


def test_a_backend_without_a_batch_takes_a_token_per_request():
    clock = Clock()
    inner = Unbatched()
    observed = []
    backend = RateLimitedBackend(inner, RateLimit(4, clock=clock, sleep=clock.sleep), lambda endpoint, seconds: observed.append(endpoint))
    keys = [RRsetKey("a", "A"), RRsetKey("a", "AAAA"), RRsetKey("b", "A")]
    backend.get("z", keys)
    assert inner.calls == ["get a", "get b"]
    two_values = RRset("z", RRsetKey("c", "A"), ("192.0.2.1", "192.0.2.2"))
    start = clock.now
    backend.apply("z", [Change(None, two_values), Change(None, RRset("z", RRsetKey("d", "A"), ("192.0.2.3",)))])
    assert inner.calls[2:] == ["apply c", "apply d"] and clock.now - start >= 1.0  # five requests in all: the fifth waits
    assert observed == ["get", "get", "apply", "apply"]
    try:
        backend.apply("z", [Change(None, RRset("z", RRsetKey("e", "A"), ("192.0.2.4",))), Change(None, RRset("z", RRsetKey("fail", "A"), ("192.0.2.5",)))])
    except PartiallyAppliedError as exc:
        assert exc.applied == ["create e A"] and exc.failed == ["create fail A"]
        assert "refused (writing create fail A); 1 change(s) were applied" in str(exc)
    else:
        raise AssertionError("no error")
