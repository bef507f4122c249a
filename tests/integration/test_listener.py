"""The listener daemon against real PostgreSQL (Kea schema + kea_db_events) and real Knot and PowerDNS servers.

The daemon runs as its own process (the dns_listener role's launcher importing the collection from the collections
path, i.e. the installed copy under the test command); it logs in as the least-privileged listener role.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.harness.ansible import ansible_env, tool
from tests.harness.listener import LISTENER_PASSWORD, ListenerProcess
from tests.harness.pipeline import INSERT, REVERSE, ZONE, bmc, daemon, kea_write, listener_target, pending
from tests.harness.procs import wait_for


@pytest.fixture(params=["knot", "powerdns"])
def target(request):
    return listener_target(request, request.param)


@pytest.fixture
def knot(request):
    return listener_target(request, "knot")


@pytest.fixture
def powerdns(request):
    return listener_target(request, "powerdns")


def test_insert_update_delete_reach_dns_and_inventory(pipeline_db, target, listeners):
    listener = daemon(pipeline_db, target, ptr=True)
    listeners.append(listener.start())
    name, reverse = f"us3-cab10-ru20-idrac.{ZONE}", f"50.0.{REVERSE}"
    kea_write(pipeline_db, [(INSERT, ("aabbccddeeff", "10.99.0.50", "us3-cab10-ru20-idrac"))])
    wait_for(lambda: target.server.query(name) == ["10.99.0.50"], 10, "the A record")
    assert target.server.query(reverse, "PTR") == [name]
    inventory = os.path.join(listener.options["output_dir"], "us3-cab10-discovery.yml")
    wait_for(lambda: os.path.exists(inventory), 10, "the inventory file")
    listing = subprocess.run([tool("ansible-inventory"), "-i", inventory, "--list"], env=ansible_env(), capture_output=True,
                             text=True, check=True)
    assert '"us3_cab10"' in listing.stdout and '"ansible_host": "10.99.0.50"' in listing.stdout and '"mac": "aa:bb:cc:dd:ee:ff"' in listing.stdout

    kea_write(pipeline_db, [("UPDATE hosts SET ipv4_address = ('10.99.0.51'::inet - '0.0.0.0'::inet)", ())])
    wait_for(lambda: target.server.query(name) == ["10.99.0.51"], 10, "the new address")
    assert target.server.query(reverse, "PTR") == [] and target.server.query(f"51.0.{REVERSE}", "PTR") == [name]
    kea_write(pipeline_db, [("UPDATE hosts SET hostname = 'us3-cab10-ru21-idrac'", ())])
    wait_for(lambda: target.server.query(f"us3-cab10-ru21-idrac.{ZONE}") == ["10.99.0.51"], 10, "the new name")
    assert target.server.query(name) == []
    kea_write(pipeline_db, [("DELETE FROM hosts", ())])
    wait_for(lambda: target.server.query(f"us3-cab10-ru21-idrac.{ZONE}") == [], 10, "the deletion")
    assert target.server.query(f"51.0.{REVERSE}", "PTR") == []
    wait_for(lambda: not os.path.exists(inventory), 10, "the inventory file's removal")

    metrics = listener.metrics()
    assert metrics['kea_dns_listener_events_applied_total{operation="INSERT"}'] == 1
    assert metrics['kea_dns_listener_events_applied_total{operation="UPDATE"}'] == 2
    assert metrics['kea_dns_listener_events_applied_total{operation="DELETE"}'] == 1
    assert metrics["kea_dns_listener_event_lag_seconds_count"] == 4
    assert metrics["kea_dns_listener_outbox_pending"] == 0
    assert metrics["kea_dns_listener_reconcile_last_success_timestamp_seconds"] > 0
    assert listener.http("/healthz") == 200 and listener.http("/readyz") == 200
    assert listener.stop() == 0
    assert LISTENER_PASSWORD not in listener.log() and (target.server.api_key if target.name == "powerdns" else "x" * 9) not in listener.log()


def test_start_up_reconciles_what_was_missed_and_leaves_foreign_records(pipeline_db, powerdns, listeners):
    listener = daemon(pipeline_db, powerdns)
    listeners.append(listener.start())
    kea_write(pipeline_db, [(INSERT, ("aabbccdd0001", "10.99.0.61", "us3-cab1-ru1-idrac"))])
    wait_for(lambda: powerdns.server.query(f"us3-cab1-ru1-idrac.{ZONE}") == ["10.99.0.61"], 10, "the first record")
    listener.stop()
    # While the daemon is away: a delete, an insert, an update, and a record someone else owns.
    kea_write(pipeline_db, [("DELETE FROM hosts WHERE hostname = 'us3-cab1-ru1-idrac'", ()),
                            (INSERT, ("aabbccdd0002", "10.99.0.62", "us3-cab1-ru2-ilo")),
                            (INSERT, ("aabbccdd0003", "10.99.0.63", "us3-cab1-ru3-bmc")),
                            (INSERT, ("aabbccdd0004", "10.99.0.64", "us3-cab1-ru4-idrac")),
                            ("UPDATE hosts SET ipv4_address = ('10.99.0.73'::inet - '0.0.0.0'::inet) WHERE hostname = 'us3-cab1-ru3-bmc'", ())])
    powerdns.server.api("PATCH", f"/zones/{ZONE}.", json={"rrsets": [{
        "name": f"us3-cab1-ru4-idrac.{ZONE}.", "type": "A", "ttl": 300, "changetype": "REPLACE",
        "records": [{"content": "10.99.0.200", "disabled": False}]}]})
    listener.start()
    wait_for(lambda: pending(pipeline_db) == 0, 20, "the outbox drained")
    assert powerdns.server.query(f"us3-cab1-ru1-idrac.{ZONE}") == []
    assert powerdns.server.query(f"us3-cab1-ru2-ilo.{ZONE}") == ["10.99.0.62"]
    assert powerdns.server.query(f"us3-cab1-ru3-bmc.{ZONE}") == ["10.99.0.73"]
    assert powerdns.server.query(f"us3-cab1-ru4-idrac.{ZONE}") == ["10.99.0.200"]  # not ours: left alone, reported
    assert "is not owned" in listener.log() or "does not manage it" in listener.log()
    assert listener.metrics()["kea_dns_listener_dns_conflicts_total"] >= 1


def test_seed_command_line_once(pipeline_db, knot, listeners, tmp_path):
    """The replaced daemon's flags and --once: the start-up check, then exit; idempotent."""
    kea_write(pipeline_db, [bmc(i) for i in range(5)] + [(INSERT, ("aabbccdd00ff", "10.99.3.1", "us3-cab9-ru1-switch"))])
    flags = ["--db-host", "127.0.0.1", "--db-port", str(pipeline_db.port), "--db-name", "kea", "--db-user", "kea_dns_listener",
             "--enable-dns", "--dns-zone", ZONE, "--dns-scope", "internal", "--log-level", "INFO", "--output-dir",
             str(tmp_path / "discovery"), "--provider", "knot", "--knot-socket", knot.server.socket]
    listener = ListenerProcess({"metrics_address": ""}, {"KEA_DB_PASSWORD": LISTENER_PASSWORD}, args=flags)
    listeners.append(listener)
    first = listener.run_once()
    assert first.returncode == 0, first.stderr
    assert "DNS consistency check complete: 5 records created" in first.stderr
    assert knot.server.query(f"us3-cab1-ru1-idrac.{ZONE}") == ["10.99.0.1"]
    assert knot.server.query(f"us3-cab9-ru1-switch.{ZONE}") == []  # not a BMC name
    assert sorted(os.listdir(tmp_path / "discovery")) == ["us3-cab1-discovery.yml"]
    again = listener.run_once()
    assert again.returncode == 0 and "DNS consistency check complete: 0 records created" in again.stderr, again.stderr
    assert "Inventory file written" not in again.stderr  # same content: not rewritten
    assert LISTENER_PASSWORD not in first.stderr + again.stderr


def test_bad_rows_are_skipped_counted_and_do_not_block_the_rest(pipeline_db, knot, listeners):
    listener = daemon(pipeline_db, knot)
    listeners.append(listener.start())
    kea_write(pipeline_db, [(INSERT, ("aabbccdd0101", "10.99.1.1", "us3-cab2-ru1-idrac")),
                            (INSERT, ("aabbccdd0102", "10.99.1.2", "us3 cab2_ru2!-idrac")),  # no valid DNS name
                            (INSERT, ("aabbccdd0103", "10.99.1.3", "us3-cab2-ru3-idrac"))])
    pipeline_db.kea_sql("INSERT INTO kea_dns.outbox (operation, new_row) VALUES ('INSERT', '\"garbage\"'::jsonb)")
    pipeline_db.kea_sql("INSERT INTO kea_dns.outbox (operation, new_row) VALUES ('INSERT', '{\"hostname\": 42}'::jsonb)")
    kea_write(pipeline_db, [(INSERT, ("aabbccdd0104", "10.99.1.4", "us3-cab2-ru4-idrac"))])
    pipeline_db.kea_sql("NOTIFY kea_lease_events")
    wait_for(lambda: pending(pipeline_db) == 0, 20, "the outbox drained")
    for unit in (1, 3, 4):
        assert knot.server.query(f"us3-cab2-ru{unit}-idrac.{ZONE}") == [f"10.99.1.{unit}"]
    skipped = pipeline_db.kea_sql("SELECT operation, last_error FROM kea_dns.outbox WHERE status = 'skipped' ORDER BY id")
    assert len(skipped) == 3, skipped
    assert "hostname" in skipped[0][1] and "new_row is not a JSON object" in skipped[1][1] and "not a string" in skipped[2][1]
    assert listener.metrics()['kea_dns_listener_events_failed_total{reason="invalid"}'] == 3
    assert "Outbox row" in listener.log() and "skipped: new_row is not a JSON object" in listener.log()


def test_lease_file_mode_writes_the_inventory(tmp_path, listeners):
    now = int(time.time())
    lease_file = tmp_path / "dhcp4.leases"
    lines = ["address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id",
             f"10.99.5.1,aa:bb:cc:00:00:01,,3600,{now + 3600},1,0,0,us3-cab5-ru1-ilo,0,,0",
             f"10.99.5.2,aa:bb:cc:00:00:02,,3600,{now + 3600},1,0,0,us3-cab5-ru2-idrac,0,,0",
             f"10.99.5.2,aa:bb:cc:00:00:02,,0,{now},1,0,0,us3-cab5-ru2-idrac,0,,0",  # released: the last line wins
             f"10.99.5.3,aa:bb:cc:00:00:03,,3600,{now - 10},1,0,0,us3-cab6-ru1-bmc,0,,0",  # expired
             "not,a,lease"]
    lease_file.write_text("\n".join(lines) + "\n")
    args = ["--lease-file", str(lease_file), "--poll-interval", "1", "--output-dir", str(tmp_path / "out")]
    listener = ListenerProcess({"metrics_address": ""}, {}, args=args)
    listeners.append(listener)
    result = listener.run_once()
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path / "out")) == ["us3-cab5-discovery.yml"]
    content = (tmp_path / "out" / "us3-cab5-discovery.yml").read_text()
    assert "us3-cab5-ru1-ilo" in content and "us3-cab5-ru2-idrac" not in content and "1 lease lines could not be parsed" in result.stderr


def test_bad_configuration_is_refused_with_the_option_named(tmp_path):
    def check(options: dict, env: dict | None = None, args: list[str] | None = None) -> subprocess.CompletedProcess:
        listener = ListenerProcess(options, env or {}, args=["--check-config", *(args or [])], base=str(tmp_path))
        return listener.run_once()
    assert check({"enable_dns": True}).returncode == 2
    secret = check({"db_password": "hunter2-db"})
    assert secret.returncode == 2 and "db_password" in secret.stderr and "hunter2-db" not in secret.stderr + secret.stdout
    unknown = check({"dns_zonee": "x"})
    assert unknown.returncode == 2 and "dns_zonee" in unknown.stderr and "unknown option" in unknown.stderr
    assert "metrics_address" in check({"metrics_address": "nowhere"}).stderr
    assert check({"batch_size": "many"}).stderr.count("batch_size") == 1
    good = check({"enable_dns": True, "dns_zone": ZONE, "provider": "knot"})
    assert good.returncode == 0 and "configuration valid" in good.stdout


@pytest.mark.parametrize("auth", ["token", "approle"])
def test_credentials_from_vault_with_the_token_renewed(pipeline_db, powerdns, openbao, listeners, auth):
    openbao.put("teams/core-infrastructure/server/kea_db", {"username": "kea_dns_listener", "password": LISTENER_PASSWORD})
    openbao.put("teams/core-infrastructure/server/baremetal_dns", {"api_key": powerdns.server.api_key})
    policy = 'path "secrets/data/teams/core-infrastructure/*" { capabilities = ["read"] }'
    options = {"db_host": "127.0.0.1", "db_port": pipeline_db.port, "use_database_events": True, "enable_dns": True, "dns_zone": ZONE,
               "provider": "powerdns", "powerdns_api_url": powerdns.server.api_url, "use_vault": True, "vault_renew_interval": 1,
               "vault_auth_method": auth}
    if auth == "token":
        secrets = [openbao.token_with_policy("listener-read", policy)]
        env = {"VAULT_ADDR": openbao.addr, "VAULT_TOKEN": secrets[0]}
    else:
        secrets = list(openbao.approle("listener-read", policy))
        env = {"VAULT_ADDR": openbao.addr, "VAULT_ROLE_ID": secrets[0], "VAULT_SECRET_ID": secrets[1]}
    listener = ListenerProcess(options, env)  # no database password and no API key in its environment
    listeners.append(listener.start())
    kea_write(pipeline_db, [(INSERT, ("aabbccdd0201", "10.99.2.1", "us3-cab3-ru1-idrac"))])
    wait_for(lambda: powerdns.server.query(f"us3-cab3-ru1-idrac.{ZONE}") == ["10.99.2.1"], 10, "the record")
    wait_for(lambda: "Vault token renewed" in listener.log(), 15, "a token renewal")
    log = listener.log()
    for secret in [*secrets, LISTENER_PASSWORD, powerdns.server.api_key, openbao.root_token]:
        assert secret not in log


def test_powerdns_txt_ownership_takes_over_comment_owned_records(pipeline_db, powerdns, listeners):
    """powerdns_ownership: txt (for large zones: no comments, so a read of one RRset costs the same at any zone size).
    A record owned by a comment from before the switch is still the collection's: updated, its comment removed."""
    listener = daemon(pipeline_db, powerdns)
    listeners.append(listener.start())
    kea_write(pipeline_db, [(INSERT, ("aabbccdd0301", "10.99.3.1", "us3-cab4-ru1-idrac"))])
    wait_for(lambda: powerdns.server.query(f"us3-cab4-ru1-idrac.{ZONE}") == ["10.99.3.1"], 10, "the record")
    listener.stop()
    switched = daemon(pipeline_db, type(powerdns)("powerdns-txt", powerdns.server, {**powerdns.options, "powerdns_ownership": "txt"},
                                                  powerdns.env))
    listeners.append(switched.start())
    kea_write(pipeline_db, [("UPDATE hosts SET ipv4_address = ('10.99.3.2'::inet - '0.0.0.0'::inet)", ()),
                            (INSERT, ("aabbccdd0302", "10.99.3.3", "us3-cab4-ru2-idrac"))])
    wait_for(lambda: powerdns.server.query(f"us3-cab4-ru1-idrac.{ZONE}") == ["10.99.3.2"], 10, "the comment-owned record updated")
    wait_for(lambda: powerdns.server.query(f"us3-cab4-ru2-idrac.{ZONE}") == ["10.99.3.3"], 10, "the new record")
    rrsets = {(r["name"], r["type"]): r for r in powerdns.server.api("GET", f"/zones/{ZONE}.").json()["rrsets"]}
    for unit in (1, 2):
        name = f"us3-cab4-ru{unit}-idrac.{ZONE}."
        assert rrsets[(name, "A")]["comments"] == []
        assert [r["content"] for r in rrsets[(f"_kea-dns.{name}", "TXT")]["records"]] == [
            f'"managed-by ddi.kea_dns A owner=kea/default ref=subnet-1/hw-address/aa:bb:cc:dd:03:0{unit}"']
    assert switched.metrics()["kea_dns_listener_dns_conflicts_total"] == 0
