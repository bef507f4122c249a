"""The DNS status of each reservation (table dns_status of the collection's schema) through the real pipeline:
Kea's transaction sets it pending, the listener daemon applies it and records synced, failed (the backend refused
it, with its answer), skipped or conflict, and a repair makes it synced again; read back through
kea_reservation_info, the kea_reservations inventory plugin (real ansible-inventory) and the daemon's metrics.

A refusal is a real one: a CNAME at the reservation's name, so the backend refuses an A record there (PowerDNS
answers 422, Knot's zone-commit fails its CNAME semantic check, BIND answers YXRRSET to the rfc2136 backend's "no
CNAME here" prerequisite, the Technitium and SOLIDserver emulators refuse as their servers do). On every backend.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.harness.ansible import ansible_env, plain, run_tasks, tool
from tests.harness.listener import LISTENER_PASSWORD
from tests.harness.pipeline import INSERT, LISTENER_BACKENDS, ZONE, clear_owned, daemon, kea_write, listener_target, pending
from tests.harness.procs import wait_for

GOOD, REFUSED, TAKEN, OTHER = "us3-cab1-ru1-idrac", "us3-cab1-ru2-idrac", "us3-cab1-ru3-idrac", "us3-cab1-ru4-switch"
STATUS = "SELECT h.hostname, s.status, s.reason, s.synced_at IS NOT NULL FROM kea_dns.dns_status s JOIN hosts h USING (host_id) ORDER BY 1"


@pytest.fixture(params=[*LISTENER_BACKENDS, "powerdns-txt"])
def target(request):
    return listener_target(request, request.param)


def record(target, name: str, rtype: str, value: str | None = None, state: str = "present") -> None:
    """A record another team owns (owner id ops/manual), written or removed with dns_record."""
    task = {"ddi.kea_dns.dns_record": {"provider": target.options["provider"], "zone": ZONE, "name": name, "type": rtype,
                                       "owner_id": "ops/manual", "state": state, **({"value": value} if value else {})}}
    run = run_tasks([task], env=target.env)
    assert run.returncode == 0 and not run.results[0].get("failed"), run.output[-2000:]


def statuses(pg) -> dict[str, tuple]:
    return {hostname: (status, reason, synced) for hostname, status, reason, synced in pg.kea_sql(STATUS)}


def listener_env(pg) -> dict[str, str]:
    """The daemon's own least-privileged login: it may read hosts and the status table."""
    return {"KEA_DB_HOST": "127.0.0.1", "KEA_DB_PORT": str(pg.port), "KEA_DB_NAME": pg.kea_db, "KEA_DB_USER": "kea_dns_listener",
            "KEA_DB_PASSWORD": LISTENER_PASSWORD}


def inventory_vars(pg, tmp_path) -> dict[str, dict]:
    config = tmp_path / "status.kea_reservations.yml"
    config.write_text("plugin: ddi.kea_dns.kea_reservations\nunparsed_group: unparsed\n")
    listing = subprocess.run([tool("ansible-inventory"), "-i", str(config), "--list"], env=ansible_env(listener_env(pg)),
                             capture_output=True, text=True, check=True)
    return plain(json.loads(listing.stdout))["_meta"]["hostvars"]


def test_status_follows_each_reservation_from_kea_to_dns_and_back(pipeline_db, target, listeners, tmp_path):
    clear_owned(pipeline_db, target)
    record(target, REFUSED, "CNAME", f"elsewhere.{ZONE}.")
    record(target, TAKEN, "A", "192.0.2.99")
    kea_write(pipeline_db, [(INSERT, (f"aabbccddee0{n}", f"10.99.0.{n}", name)) for n, name in enumerate((GOOD, REFUSED, TAKEN, OTHER), 1)])
    # Kea's own transaction made every reservation pending; nothing has run yet.
    assert {name: state[0] for name, state in statuses(pipeline_db).items()} == dict.fromkeys((GOOD, REFUSED, TAKEN, OTHER), "pending")

    listener = daemon(pipeline_db, target, reconcile_interval=3600)
    listeners.append(listener.start())
    # The start-up reconcile applies what it can (the refused record left out); then the outbox rows: the refused
    # one is retried (pending, "attempt n of 3") and given up after the third refusal (failed).
    wait_for(lambda: pending(pipeline_db) == 0, 60, "the outbox to drain")
    found = statuses(pipeline_db)
    assert found[GOOD] == ("synced", None, True) and target.server.query(f"{GOOD}.{ZONE}") == ["10.99.0.1"]
    assert found[REFUSED][0] == "failed" and "refused by the DNS backend 3 times" in found[REFUSED][1] and found[REFUSED][2] is False
    assert found[TAKEN][0] == "conflict" and "192.0.2.99" in found[TAKEN][1] and "ops/manual" in found[TAKEN][1]
    assert found[OTHER][0] == "skipped" and "not selected by hostname_filter" in found[OTHER][1]

    # The same in kea_reservation_info (with the listener's login) and as inventory host variables.
    info = run_tasks([{"ddi.kea_dns.kea_reservation_info": {}}], env=listener_env(pipeline_db)).results[0]
    by_name = {r["hostname"]: r for r in info["reservations"]}
    assert by_name[GOOD]["dns_status"] == "synced" and by_name[GOOD]["dns_synced_at"].endswith("Z")
    assert by_name[REFUSED]["dns_status"] == "failed" and "refused" in by_name[REFUSED]["dns_status_reason"]
    assert by_name[REFUSED]["dns_synced_at"] is None and by_name[TAKEN]["dns_status"] == "conflict"
    hostvars = inventory_vars(pipeline_db, tmp_path)
    assert hostvars[GOOD]["dns_status"] == "synced" and hostvars[GOOD]["dns_synced_at"] == by_name[GOOD]["dns_synced_at"]
    assert hostvars[REFUSED]["dns_status"] == "failed" and "refused" in hostvars[REFUSED]["dns_status_reason"]
    assert "dns_synced_at" not in hostvars[REFUSED] and hostvars[OTHER]["dns_status"] == "skipped"

    # The status metric is the table's count (measured every 5 s).
    def metric_matches() -> bool:
        samples = listener.metrics()
        table = {}
        for _name, status, _reason, _synced in pipeline_db.kea_sql(STATUS):
            table[status] = table.get(status, 0) + 1
        return all(samples.get(f'kea_dns_listener_reservations{{dns_status="{status}"}}') == table.get(status, 0)
                   for status in ("pending", "synced", "failed", "skipped", "conflict"))
    wait_for(metric_matches, 15, "the status metric to match the table")
    assert listener.metrics()['kea_dns_listener_reservations{dns_status="failed"}'] == 1

    # Repair: the other team removes its CNAME and its A record; the next reconcile syncs both.
    listener.stop()
    record(target, REFUSED, "CNAME", state="absent")
    record(target, TAKEN, "A", state="absent")
    once = daemon(pipeline_db, target)
    done = once.run_once()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    found = statuses(pipeline_db)
    assert found[REFUSED] == ("synced", None, True) and found[TAKEN] == ("synced", None, True)
    assert target.server.query(f"{REFUSED}.{ZONE}") == ["10.99.0.2"]

    # A change is pending again in Kea's transaction; a deleted reservation's status goes with it.
    kea_write(pipeline_db, [("UPDATE hosts SET ipv4_address = ('10.99.0.12'::inet - '0.0.0.0'::inet) WHERE hostname = %s", (GOOD,)),
                            ("DELETE FROM hosts WHERE hostname = %s", (TAKEN,))])
    found = statuses(pipeline_db)
    assert found[GOOD][0] == "pending" and found[GOOD][2] is True and TAKEN not in found
