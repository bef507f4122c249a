"""Backend connections that survive idle time, restarts and other clients, on every backend and real server.

The backends are the collection's own classes (imported from the collections path, as the daemon imports them),
driven the way the daemon drives them: one batch of reads and writes through ``run_batch``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from tests.harness.ansible import collections_path
from tests.harness.pipeline import ZONE, listener_target

sys.path.insert(0, collections_path())

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import Change, RRset, RRsetKey, run_batch  # noqa: E402
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.ownership import DEFAULT_OWNER  # noqa: E402
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.registry import dns_backend  # noqa: E402
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import options_from_env  # noqa: E402

IDLE = 7.0  # longer than knotd's control timeout and the test BIND's TCP idle timeout (5 s)


@pytest.fixture(params=["knot", "powerdns", "powerdns-txt", "rfc2136-bind", "rfc2136-knot", "technitium", "solidserver"])
def target(request):
    if request.param == "rfc2136-knot":
        server = request.getfixturevalue("knot_server")
        found = listener_target(request, "knot")
        found.name, found.options, found.env = "rfc2136-knot", {"provider": "rfc2136"}, server.rfc2136_env()
        return found
    return listener_target(request, request.param)


@pytest.fixture
def backend(target):
    made = dns_backend({**target.options, **options_from_env(target.env), "dns_timeout": 5, "dns_owner_txt": True})
    yield made
    made.close()


def write(backend, name: str, address: str) -> None:
    """Create or replace the owned A record ``name`` as one batch: read what is there, then write."""
    key = RRsetKey(f"{name}.{ZONE}", "A")

    def batch() -> None:
        before = backend.get(ZONE, [key]).get(key)
        backend.apply(ZONE, [Change(before, RRset(ZONE, key, (address,), 300, owner=DEFAULT_OWNER))])
    run_batch(backend, batch)


def test_a_batch_after_idle_time_and_after_a_server_restart(target, backend):
    write(backend, "conn-a-idrac", "10.99.9.1")
    time.sleep(IDLE)
    write(backend, "conn-b-idrac", "10.99.9.2")  # the connection the server closed is made again
    target.server.restart()
    write(backend, "conn-c-idrac", "10.99.9.3")  # so is one a restart cut
    for name, address in (("conn-a-idrac", "10.99.9.1"), ("conn-b-idrac", "10.99.9.2"), ("conn-c-idrac", "10.99.9.3")):
        assert target.server.query(f"{name}.{ZONE}") == [address]


@pytest.mark.parametrize("target", ["knot"], indirect=True)
def test_knot_is_shared_with_knotc_and_a_transaction_left_open_is_ended(target, backend):
    socket = target.server.socket
    write(backend, "conn-d-idrac", "10.99.9.4")
    # Between batches the socket is free: knotc answers at once although the backend object lives on.
    started = time.monotonic()
    subprocess.run(["knotc", "-s", socket, "-t", "2", "zone-status", ZONE], check=True, capture_output=True)
    assert time.monotonic() - started < 1.5
    # A client that began a transaction and died (a killed daemon) leaves the zone in it: the next batch ends it.
    subprocess.run(["knotc", "-s", socket, "zone-begin", ZONE], check=True, capture_output=True)
    write(backend, "conn-e-idrac", "10.99.9.5")
    assert target.server.query(f"conn-e-idrac.{ZONE}") == ["10.99.9.5"]
    assert subprocess.run(["knotc", "-s", socket, "zone-abort", ZONE], capture_output=True, text=True, check=False).returncode != 0  # none open


@pytest.mark.parametrize("target", ["knot"], indirect=True)
def test_knot_two_writers_take_turns_on_the_control_socket(target):
    """Two backends (two daemons) writing at once: each batch waits for the other's, none fails."""
    options = {**target.options, **options_from_env(target.env), "dns_timeout": 5, "dns_owner_txt": True}
    backends = [dns_backend(options), dns_backend(options)]
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            for index in range(50):
                write(backends[number], f"conn-w{number}-{index}-idrac", f"10.99.{10 + number}.{index + 1}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    elapsed = time.monotonic() - started
    for made in backends:
        made.close()
    assert not errors, errors
    assert target.server.query(f"conn-w0-49-idrac.{ZONE}") == ["10.99.10.50"]
    assert target.server.query(f"conn-w1-49-idrac.{ZONE}") == ["10.99.11.50"]
    assert elapsed < 20, f"100 batches took {elapsed:.1f} s"


def test_a_batch_larger_than_one_dns_message(target, backend):
    """1,200 owned records (with their TXT markers where the backend needs them) in one batch: over RFC 2136 that is
    more than one 64 KiB UPDATE holds, so it goes as several messages; every backend ends with every record."""
    keys = [RRsetKey(f"big{i}.{ZONE}", "A") for i in range(1200)]
    wanted = {key: RRset(ZONE, key, (f"10.97.{i // 250}.{i % 250 + 1}",), 300, owner=DEFAULT_OWNER) for i, key in enumerate(keys)}
    try:
        run_batch(backend, lambda: backend.apply(ZONE, [Change(None, rrset) for rrset in wanted.values()]))
        found = run_batch(backend, backend.get, ZONE, keys)
        assert found == wanted and all(rrset.owned for rrset in found.values())
        for index in (0, 599, 1199):
            assert target.server.query(f"big{index}.{ZONE}") == [wanted[keys[index]].values[0]]
    finally:
        current = run_batch(backend, backend.get, ZONE, keys)
        run_batch(backend, lambda: backend.apply(ZONE, [Change(rrset, None) for rrset in current.values()]))
