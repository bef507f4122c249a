"""DHCPv6 reservations -> AAAA and ip6.arpa PTR records: the listener daemon (its own process, the least-privileged
listener role) against real PostgreSQL with Kea's schema and the kea_db_events change feed, on every backend: real Knot,
PowerDNS and BIND (RFC 2136) answering the records over DNS, and the Technitium and SOLIDserver emulators driven through
their client code."""

from __future__ import annotations

import os

import psycopg2
import pytest

from tests.harness.pipeline import ADDRESS6, INSERT, INSERT6, LISTENER_BACKENDS, REVERSE6, ZONE, daemon, kea_write, listener_target, pending
from tests.harness.procs import wait_for

NAME = f"us3-cab10-ru20-idrac.{ZONE}"


def ptr6(address_suffix: str) -> str:
    """The ip6.arpa name of 2001:db8::<suffix> (suffix of at most four hex digits)."""
    return ".".join(reversed(address_suffix.rjust(4, "0"))) + ".0.0.0.0.0.0.0.0.0.0.0.0." + REVERSE6


@pytest.fixture(params=LISTENER_BACKENDS)
def target(request):
    return listener_target(request, request.param)


def test_dhcpv6_insert_update_delete_reach_dns_next_to_the_a_record(pipeline_db, target, listeners):
    listener = daemon(pipeline_db, target, ptr=True)
    listeners.append(listener.start())
    # A DHCPv4 and a DHCPv6 reservation of one BMC, the DHCPv6 one as Kea writes it: host row, then its addresses.
    kea_write(pipeline_db, [(INSERT, ("aabbccddeeff", "10.99.0.50", "us3-cab10-ru20-idrac"))])
    kea_write(pipeline_db, [(INSERT6, ("00030001aabbccddeeff", "us3-cab10-ru20-idrac")),
                            (ADDRESS6, ("2001:db8::20", "us3-cab10-ru20-idrac")), (ADDRESS6, ("2001:db8::21", "us3-cab10-ru20-idrac"))])
    wait_for(lambda: target.server.query(NAME, "AAAA") == ["2001:db8::20", "2001:db8::21"], 10, "the AAAA record")
    assert target.server.query(NAME) == ["10.99.0.50"]
    assert target.server.query(ptr6("20"), "PTR") == [NAME] and target.server.query(ptr6("21"), "PTR") == [NAME]
    cabinet = os.path.join(listener.options["output_dir"], "us3-cab10-discovery.yml")
    wait_for(lambda: os.path.exists(cabinet) and "2001:db8::21" in open(cabinet, encoding="utf-8").read(), 10, "the inventory file")  # noqa: SIM115
    assert "ansible_host: 10.99.0.50" in open(cabinet, encoding="utf-8").read()  # noqa: SIM115
    # One address removed and one added in one transaction.
    kea_write(pipeline_db, [("DELETE FROM ipv6_reservations WHERE address = '2001:db8::21'", ()),
                            (ADDRESS6, ("2001:db8::22", "us3-cab10-ru20-idrac"))])
    wait_for(lambda: target.server.query(NAME, "AAAA") == ["2001:db8::20", "2001:db8::22"], 10, "the new address")
    assert target.server.query(ptr6("21"), "PTR") == [] and target.server.query(ptr6("22"), "PTR") == [NAME]
    # The DHCPv6 reservation deleted (its addresses by the cascade): the AAAA record and its PTRs go, the A record stays.
    kea_write(pipeline_db, [("DELETE FROM hosts WHERE dhcp6_subnet_id IS NOT NULL", ())])
    wait_for(lambda: target.server.query(NAME, "AAAA") == [], 10, "the deletion")
    assert target.server.query(ptr6("20"), "PTR") == [] and target.server.query(ptr6("22"), "PTR") == []
    assert target.server.query(NAME) == ["10.99.0.50"]
    assert listener.metrics()["kea_dns_listener_outbox_pending"] == 0
    assert listener.stop() == 0

    # What changed while no daemon ran is reconciled at start-up (--once), DHCPv6 included.
    kea_write(pipeline_db, [(INSERT6, ("00030001aabbccddee01", "us3-cab10-ru21-idrac")), (ADDRESS6, ("2001:db8::31", "us3-cab10-ru21-idrac"))])
    pipeline_db.kea_sql("UPDATE kea_dns.outbox SET status = 'done'")  # lost events: only the reconcile can find the change
    done = listener.run_once()
    assert done.returncode == 0, done.stderr[-3000:]
    assert target.server.query(f"us3-cab10-ru21-idrac.{ZONE}", "AAAA") == ["2001:db8::31"]
    kea_write(pipeline_db, [("DELETE FROM hosts", ())])
    done = listener.run_once()
    assert done.returncode == 0 and target.server.query(f"us3-cab10-ru21-idrac.{ZONE}", "AAAA") == [] and target.server.query(NAME) == []


def test_bad_dhcpv6_rows_are_skipped_counted_and_do_not_block_the_rest(pipeline_db, request, listeners):
    """A DHCPv6 reservation written by hand whose hostname is no DNS name is skipped, logged and counted; the ones after
    it are applied. An address that is not one is refused by the change feed's trigger, so nothing malformed enters."""
    target = listener_target(request, "knot")
    listener = daemon(pipeline_db, target, ptr=True)
    listeners.append(listener.start())
    kea_write(pipeline_db, [(INSERT6, ("00030001aabbccdd0201", "us3-cab12-ru1-idrac")), (ADDRESS6, ("2001:db8::41", "us3-cab12-ru1-idrac"))])
    kea_write(pipeline_db, [(INSERT6, ("00030001aabbccdd0202", "us3 cab12_ru2!-idrac")), (ADDRESS6, ("2001:db8::42", "us3 cab12_ru2!-idrac"))])
    kea_write(pipeline_db, [(INSERT6, ("00030001aabbccdd0203", "us3-cab12-ru3-idrac")), (ADDRESS6, ("2001:db8::43", "us3-cab12-ru3-idrac"))])
    wait_for(lambda: pending(pipeline_db) == 0, 20, "the outbox drained")
    assert target.server.query(f"us3-cab12-ru1-idrac.{ZONE}", "AAAA") == ["2001:db8::41"]
    assert target.server.query(f"us3-cab12-ru3-idrac.{ZONE}", "AAAA") == ["2001:db8::43"]
    assert target.server.query(ptr6("42"), "PTR") == []
    skipped = pipeline_db.kea_sql("SELECT last_error FROM kea_dns.outbox WHERE status = 'skipped'")
    assert len(skipped) == 1 and "us3 cab12_ru2!-idrac" in skipped[0][0], skipped
    assert listener.metrics()['kea_dns_listener_events_failed_total{reason="invalid"}'] == 1
    assert "us3 cab12_ru2!-idrac" in listener.log()

    with pytest.raises(psycopg2.errors.InvalidTextRepresentation, match='invalid input syntax for type inet: "2001:db8::zz"'):
        kea_write(pipeline_db, [(INSERT6, ("00030001aabbccdd0204", "us3-cab12-ru4-idrac")), (ADDRESS6, ("2001:db8::zz", "us3-cab12-ru4-idrac"))])
    assert pipeline_db.kea_sql("SELECT count(*) FROM hosts WHERE hostname = 'us3-cab12-ru4-idrac'") == [(0,)]
    assert listener.http("/readyz") == 200
