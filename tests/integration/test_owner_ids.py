"""Owner ids on every backend the daemon writes to (real Knot, PowerDNS with comments and with TXT markers, BIND over
RFC 2136, and the Technitium and SOLIDserver emulators):

- two Kea sites (two databases, two real daemons with owner ids kea/site1 and kea/site2) writing one zone: each
  creates and deletes only its own records and reports the other's as a conflict naming its owner;
- an upgrade: a zone populated with the marks of the previous release (no owner id) is read as the default owner's,
  so the new daemon's reconcile changes nothing, and a later change rewrites the mark with the owner id.
"""

from __future__ import annotations

import sys
import uuid

import pytest

from tests.harness.ansible import collections_path, run_tasks
from tests.harness.listener import LISTENER_PASSWORD
from tests.harness.pipeline import INSERT, REMOVE, ZONE, daemon, kea_write, listener_target
from tests.harness.procs import wait_for

sys.path.insert(0, collections_path())

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns import owner_txt, powerdns, solidserver, technitium  # noqa: E402
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.ownership import OWNER_MARK, OWNER_PARAMETER  # noqa: E402
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.registry import dns_backend  # noqa: E402
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.sync import DnsSync  # noqa: E402
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Reservation, ReservationKey  # noqa: E402
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import options_from_env  # noqa: E402
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.kea import KeaSource  # noqa: E402

BACKENDS = ["knot", "powerdns", "powerdns-txt", "rfc2136-bind", "technitium", "solidserver"]


@pytest.fixture(params=BACKENDS)
def target(request):
    return listener_target(request, request.param)


@pytest.fixture
def site2_db(pipeline_db):
    """A second Kea site: a database of its own with Kea's schema and the outbox, in the same cluster."""
    name = f"kea_site2_{uuid.uuid4().hex[:8]}"
    pipeline_db.admin_sql(f"CREATE DATABASE {name} OWNER {pipeline_db.kea_user}")
    pipeline_db.kea_admin("db-init", name)
    run = run_tasks([{"ddi.kea_dns.kea_db_events": {"listener_password": LISTENER_PASSWORD}}],
                    env=dict(pipeline_db.admin_env(), KEA_DB_NAME=name))
    assert run.returncode == 0, run.output
    yield name
    pipeline_db.admin_sql(f"DROP DATABASE {name} WITH (FORCE)")


def test_two_sites_each_keep_their_own_records(pipeline_db, site2_db, target, listeners):
    query = target.server.query
    site1 = daemon(pipeline_db, target, owner_id="kea/site1")
    site2 = daemon(pipeline_db, target, owner_id="kea/site2", db_name=site2_db)
    listeners.extend([site1.start(), site2.start()])
    kea_write(pipeline_db, [(INSERT, ("020000000001", "10.99.7.1", "own1-a-idrac")), (INSERT, ("020000000002", "10.99.7.2", "own-shared-idrac"))])
    wait_for(lambda: query(f"own-shared-idrac.{ZONE}") == ["10.99.7.2"] and query(f"own1-a-idrac.{ZONE}") == ["10.99.7.1"], 15, "site1's records")
    kea_write(pipeline_db, [(INSERT, ("020000000009", "10.99.7.9", "own-shared-idrac")), (INSERT, ("020000000003", "10.99.7.3", "own2-b-idrac"))], site2_db)
    wait_for(lambda: query(f"own2-b-idrac.{ZONE}") == ["10.99.7.3"], 15, "site2's record")
    wait_for(lambda: "belongs to owner kea/site1 (this sync is kea/site2)" in site2.log(), 15, "site2's conflict")
    assert query(f"own-shared-idrac.{ZONE}") == ["10.99.7.2"] and site2.metrics().get("kea_dns_listener_dns_conflicts_total", 0) >= 1

    # site1 removes the shared name: it deletes its own record; site2's stays
    kea_write(pipeline_db, [(REMOVE, ("own-shared-idrac",))])
    wait_for(lambda: query(f"own-shared-idrac.{ZONE}") == [], 15, "site1's delete")
    assert query(f"own2-b-idrac.{ZONE}") == ["10.99.7.3"] and query(f"own1-a-idrac.{ZONE}") == ["10.99.7.1"]
    # site2's next reconcile (its --once run, the daemon stopped) creates its own record of the name, which no one holds now
    site2.stop()
    done = site2.run_once()
    assert done.returncode == 0, done.stderr[-2000:]
    assert query(f"own-shared-idrac.{ZONE}") == ["10.99.7.9"]

    # every reservation of site2 gone: its reconcile deletes its own records and none of site1's
    site1.stop()
    kea_write(pipeline_db, [("DELETE FROM hosts", ())], site2_db)
    done = site2.run_once()
    assert done.returncode == 0, done.stderr[-2000:]
    assert query(f"own-shared-idrac.{ZONE}") == [] and query(f"own2-b-idrac.{ZONE}") == []
    assert query(f"own1-a-idrac.{ZONE}") == ["10.99.7.1"]
    # and site1's reconcile, in turn, deletes nothing: its record is there, site2's are gone
    kea_write(pipeline_db, [("DELETE FROM hosts", ())])
    done = site1.run_once()
    assert done.returncode == 0 and "0 records created, 0 updated, 1 deleted" in done.stderr, done.stderr[-2000:]


def marker(target, name: str) -> list[str]:
    return [value.strip('"') for value in target.server.query(f"_kea-dns.{name}.{ZONE}", "TXT")]


def legacy_marks(monkeypatch) -> None:
    """The marks as the previous release wrote them: no owner id, no reference."""
    def legacy(owner, origin=None, rtype=None):
        return OWNER_MARK + (f" {rtype}" if rtype else "")
    for module in (owner_txt, powerdns, technitium):
        monkeypatch.setattr(module, "format_mark", legacy)
    monkeypatch.setattr(solidserver, "mark_parameters", lambda owner, origin=None: [OWNER_PARAMETER])


def test_upgrade_from_marks_without_owner_ids_changes_nothing(pipeline_db, target, listeners, monkeypatch):
    names = [f"upg-{index}-idrac" for index in range(12)]
    kea_write(pipeline_db, [(INSERT, (f"0300000000{index:02x}", f"10.99.8.{index + 1}", name)) for index, name in enumerate(names)])
    backend = dns_backend({**target.options, **options_from_env(target.env), "dns_owner_txt": True})
    reservations = [Reservation(ReservationKey(1, 0, bytes.fromhex(f"0300000000{index:02x}")), ip=f"10.99.8.{index + 1}", hostname=name)
                    for index, name in enumerate(names)]
    with monkeypatch.context() as patch:
        legacy_marks(patch)
        written, _desired = DnsSync(backend, KeaSource(zone=ZONE, ptr=True)).reconcile(reservations)  # the previous release
    backend.close()
    assert written.counts()["created"] == 24
    if target.name in ("knot", "rfc2136-bind", "powerdns-txt"):
        assert marker(target, names[0]) == ["managed-by ddi.kea_dns A"]

    upgraded = daemon(pipeline_db, target, ptr=True)  # this release, default owner id
    first = upgraded.run_once()
    assert first.returncode == 0 and "0 records created, 0 updated, 0 deleted, 24 unchanged, 0 conflicts" in first.stderr, first.stderr[-3000:]
    kea_write(pipeline_db, [("UPDATE hosts SET ipv4_address = ('10.99.8.99'::inet - '0.0.0.0'::inet) WHERE hostname = %s", (names[0],))])
    second = upgraded.run_once()
    assert second.returncode == 0, second.stderr[-3000:]
    assert target.server.query(f"{names[0]}.{ZONE}") == ["10.99.8.99"] and target.server.query(f"{names[1]}.{ZONE}") == ["10.99.8.2"]
    if target.name in ("knot", "rfc2136-bind", "powerdns-txt"):
        assert marker(target, names[0]) == ["managed-by ddi.kea_dns A owner=kea/default ref=subnet-1/hw-address/03:00:00:00:00:00"]
    listeners.append(upgraded)
    kea_write(pipeline_db, [("DELETE FROM hosts", ())])
    cleaned = upgraded.run_once()  # the records of the previous release's marks are the default owner's: deleted
    assert cleaned.returncode == 0 and all(target.server.query(f"{name}.{ZONE}") == [] for name in names), cleaned.stderr[-3000:]
