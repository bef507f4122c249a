"""Migration from seed 000's kea_lease_monitor_vault.py: every one of its flags is mapped in docs/migration.md and
works against this collection's daemon, fed on the command line as the seed's unit and examples wrote them."""

from __future__ import annotations

import os
import re

from tests.harness.ansible import REPO_ROOT
from tests.harness.listener import LISTENER_PASSWORD, ListenerProcess
from tests.harness.procs import wait_for

# The command-line flags of seed 000's kea_lease_monitor_vault.py (its "Command-Line Flags" tables and examples).
SEED_FLAGS = ["--db-host", "--db-port", "--db-name", "--db-user", "--use-vault", "--enable-dns", "--dns-zone", "--dns-scope",
              "--use-database-events", "--poll-interval", "--once", "--output-dir", "--log-level", "--lease-file"]
ZONE = "site.test"
INSERT = ("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) "
          "VALUES (decode(%s, 'hex'), 0, 1, (%s::inet - '0.0.0.0'::inet), %s)")


def test_every_seed_flag_is_in_the_migration_guide():
    with open(os.path.join(REPO_ROOT, "docs", "migration.md"), encoding="utf-8") as handle:
        guide = handle.read()
    mapped = set(re.findall(r"^\| `(--[a-z-]+)`", guide, re.MULTILINE))
    assert sorted(set(SEED_FLAGS) - mapped) == []


def test_every_seed_flag_works_against_the_daemon(pipeline_db, powerdns_server, openbao, tmp_path):
    fed: set[str] = set()
    for run in ("run1", "run2", "run3"):
        os.makedirs(tmp_path / run)
    powerdns_server.reset()
    openbao.put("teams/core-infrastructure/server/kea_db", {"username": "kea_dns_listener", "password": LISTENER_PASSWORD})
    openbao.put("teams/core-infrastructure/server/baremetal_dns", {"api_key": powerdns_server.api_key})
    token = openbao.token_with_policy("migration-read", 'path "secrets/data/teams/core-infrastructure/*" { capabilities = ["read"] }')
    vault_env = {"VAULT_ADDR": openbao.addr, "VAULT_TOKEN": token}  # the seed's unit: VAULT_ADDR and VAULT_TOKEN, no password
    seed_db = ["--db-host", "127.0.0.1", "--db-port", str(pipeline_db.port), "--db-name", "kea", "--db-user", "kea_dns_listener", "--use-vault"]
    seed_dns = ["--enable-dns", "--dns-zone", ZONE, "--dns-scope", "internal", "--log-level", "INFO"]
    backend = ["--provider", "powerdns", "--powerdns-api-url", powerdns_server.api_url]  # the seed wrote to SOLIDserver only

    # 1. The seed's one-shot example: --once with every database and DNS flag.
    pipeline_db.kea_sql(INSERT, ("aabbccdd0701", "10.99.7.1", "us3-cab7-ru1-idrac"))
    once = [*seed_db, *seed_dns, "--once", "--output-dir", str(tmp_path / "once"), *backend]
    fed.update(a for a in once if a.startswith("--"))
    result = ListenerProcess({"metrics_address": ""}, vault_env, args=once, base=str(tmp_path / "run1")).run_once()
    assert result.returncode == 0, result.stderr
    assert powerdns_server.query(f"us3-cab7-ru1-idrac.{ZONE}") == ["10.99.7.1"]
    assert os.listdir(tmp_path / "once") == ["us3-cab7-discovery.yml"]

    # 2. The seed's systemd ExecStart: --use-database-events, long-running; --poll-interval as the seed's file mode takes it.
    events = [*seed_db, *seed_dns, "--use-database-events", "--poll-interval", "2", "--output-dir", str(tmp_path / "events"), *backend]
    fed.update(a for a in events if a.startswith("--"))
    listener = ListenerProcess({"metrics_address": ""}, vault_env, args=events, base=str(tmp_path / "run2"))
    listener.start(wait_ready=False)
    try:
        wait_for(lambda: "NOTIFY/LISTEN mode" in listener.log(), 30, "the daemon listening")
        pipeline_db.kea_sql(INSERT, ("aabbccdd0702", "10.99.7.2", "us3-cab7-ru2-ilo"))
        wait_for(lambda: powerdns_server.query(f"us3-cab7-ru2-ilo.{ZONE}") == ["10.99.7.2"], 20, "the record of the new reservation")
        wait_for(lambda: "us3-cab7-ru2-ilo" in (tmp_path / "events" / "us3-cab7-discovery.yml").read_text()
                 if (tmp_path / "events" / "us3-cab7-discovery.yml").exists() else False, 20, "the inventory file")
        assert token not in listener.log() and LISTENER_PASSWORD not in listener.log() and powerdns_server.api_key not in listener.log()
    finally:
        listener.remove()

    # 3. The seed's lease-file mode: --lease-file with --poll-interval.
    lease_file = tmp_path / "dhcp4.leases"
    lease_file.write_text("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n"
                          "10.99.8.1,aa:bb:cc:00:08:01,,86400,4102444800,1,0,0,us3-cab8-ru1-idrac,0,\n")
    files = ["--lease-file", str(lease_file), "--poll-interval", "1", "--once", "--output-dir", str(tmp_path / "files"), "--log-level", "INFO"]
    fed.update(a for a in files if a.startswith("--"))
    result = ListenerProcess({"metrics_address": ""}, {}, args=files, base=str(tmp_path / "run3")).run_once()
    assert result.returncode == 0, result.stderr
    assert os.listdir(tmp_path / "files") == ["us3-cab8-discovery.yml"]

    assert sorted(set(SEED_FLAGS) - fed) == []
