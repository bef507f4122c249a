"""The daemon's batch cycle with fakes of the database and the DNS backend: claim -> lock -> read -> plan -> apply ->
finish in one transaction, a row the backend refuses isolated and skipped after REFUSALS_BEFORE_SKIP tries while the
rows around it are applied, and an unreachable backend leaving every row pending."""

from __future__ import annotations

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon import config
from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon.listener import DnsFailure, Listener
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.status import Status
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.sync import DnsSync
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import retry
from ansible_collections.ddi.kea_dns.tests.unit.plugins.module_utils.fakes import ZONE, FakeConnection, FakeDatabase, MemoryDns, patch_database


@pytest.fixture
def cycle(monkeypatch):
    database, dns = FakeDatabase(), MemoryDns()
    patch_database(monkeypatch, database)
    options, _check = config.load(["--enable-dns", "--dns-zone", ZONE, "--no-inventory"], environ={})
    listener = Listener(options)
    listener.work = FakeConnection(database)
    listener.sync = DnsSync(dns, listener.source)
    return listener, database, dns


def test_claim_lock_read_plan_apply_finish_in_one_transaction(cycle):
    listener, database, dns = cycle
    database.reserve(1, "us3-cab1-ru1-idrac", "10.99.0.1", 1)
    database.reserve(2, "us3-cab1-ru2-idrac", "10.99.0.2", 2)
    assert listener.process_batch() == 2
    assert database.log == ["advisory lock", "claim", "lock 10.99.0.1,10.99.0.2,us3-cab1-ru1-idrac,us3-cab1-ru2-idrac", "read", "finish"]
    assert database.status == {1: "done", 2: "done"} and database.commits == 1 and dns.applied == [["us3-cab1-ru1-idrac", "us3-cab1-ru2-idrac"]]
    assert dns.answers() == {"us3-cab1-ru1-idrac": ("10.99.0.1",), "us3-cab1-ru2-idrac": ("10.99.0.2",)}
    assert listener.process_batch() == 0  # nothing left


def test_a_refused_row_is_isolated_retried_then_skipped_and_the_others_are_applied(cycle):
    listener, database, dns = cycle
    for number in range(1, 6):
        database.reserve(number, f"us3-cab1-ru{number}-idrac", f"10.99.0.{number}", number)
    dns.refuse = {"us3-cab1-ru3-idrac"}
    assert listener.process_batch() == 5  # the batch is refused: nothing marked, the rows are taken one by one
    assert set(database.status.values()) == {"pending"} and listener.isolate_through == 5 and dns.applied == []
    assert listener.process_batch() == 1 and listener.process_batch() == 1  # rows 1 and 2
    for attempt in range(1, retry.REFUSALS_BEFORE_SKIP):  # row 3: refused, counted, retried later (a busy server?)
        with pytest.raises(DnsFailure, match="refused outbox row 3"):
            listener.process_batch()
        assert database.rows[3].attempts == attempt and database.status[3] == "pending"
    assert listener.process_batch() == 1  # the third refusal skips it, with the reason
    assert database.status[3] == "skipped" and "refused by the DNS backend 3 times" in database.reasons[3]
    while listener.process_batch():
        pass
    assert database.status == {1: "done", 2: "done", 3: "skipped", 4: "done", 5: "done"} and listener.isolate_through == 0
    assert sorted(dns.answers()) == ["us3-cab1-ru1-idrac", "us3-cab1-ru2-idrac", "us3-cab1-ru4-idrac", "us3-cab1-ru5-idrac"]
    assert listener.metrics.failed.labels("refused")._value.get() == 1  # pylint: disable=protected-access


def test_an_unreachable_backend_leaves_every_row_pending_and_readiness_false(cycle):
    listener, database, dns = cycle
    database.reserve(1, "us3-cab1-ru1-idrac", "10.99.0.1", 1)
    dns.down = True
    with pytest.raises(DnsFailure, match="unreachable"):
        listener.process_batch()
    assert database.status == {1: "pending"} and database.commits == 0 and database.rollbacks >= 1
    assert listener.health.ready()[0] is False
    dns.down = False
    assert listener.process_batch() == 1 and database.status == {1: "done"} and listener.health.dns_error is None


def test_each_reservation_dns_status_follows_the_batch_in_its_transaction(cycle):
    """synced when applied, pending with the backend's answer while a refused row is retried, failed when it is
    skipped, skipped for a hostname the filter does not select; written in the batch's transaction, before finish."""
    listener, database, dns = cycle
    listener.has_status = True
    database.reserve(1, "us3-cab1-ru1-idrac", "10.99.0.1", 11)
    database.reserve(2, "us3-cab1-ru2-switch", "10.99.0.2", 12)
    assert listener.process_batch() == 2
    assert database.log[-2:] == ["status", "finish"]
    skipped = Status("skipped", "hostname 'us3-cab1-ru2-switch' is not selected by hostname_filter")
    assert database.dns_status == {(11, 4): Status("synced"), (12, 4): skipped}
    database.reserve(3, "us3-cab1-ru3-idrac", "10.99.0.3", 13)
    dns.refuse = {"us3-cab1-ru3-idrac"}
    for attempt in range(1, retry.REFUSALS_BEFORE_SKIP):
        with pytest.raises(DnsFailure):
            listener.process_batch()
        state = database.dns_status[(13, 4)]
        assert state.status == "pending" and f"attempt {attempt} of {retry.REFUSALS_BEFORE_SKIP}" in state.reason
    assert listener.process_batch() == 1
    state = database.dns_status[(13, 4)]
    assert state.status == "failed" and f"refused by the DNS backend {retry.REFUSALS_BEFORE_SKIP} times" in state.reason
    assert database.dns_status[(11, 4)] == Status("synced")


def test_an_unreachable_backend_writes_no_status(cycle):
    listener, database, dns = cycle
    listener.has_status = True
    database.reserve(1, "us3-cab1-ru1-idrac", "10.99.0.1", 11)
    dns.down = True
    with pytest.raises(DnsFailure):
        listener.process_batch()
    assert database.dns_status == {}
