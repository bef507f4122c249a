"""playbooks/dns_reconcile.yml (job template "Kea DNS - DNS reconcile"): DNS repaired from Kea's reservations after
changes the daemon never saw, with the credentials in the environment only, and check mode as a dry run."""

from __future__ import annotations

import json
import re
import subprocess

from tests.harness.ansible import ansible_env, tool
from tests.harness.listener import LISTENER_PASSWORD

INSERT = ("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) "
          "VALUES (decode(%s, 'hex'), 0, 1, (%s::inet - '0.0.0.0'::inet), %s)")


def reconcile(pg, powerdns, tmp_path, *args: str) -> subprocess.CompletedProcess:
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({"kea_dns_provider": "powerdns", "kea_dns_zone": "site.test", "kea_dns_ptr": True,
                                 "kea_dns_extra_args": ["--powerdns-api-url", powerdns.api_url, "--db-user", "kea_dns_listener"]}))
    env = ansible_env({"KEA_DB_HOST": "127.0.0.1", "KEA_DB_PORT": str(pg.port), "KEA_DB_NAME": pg.kea_db,
                       "KEA_DB_PASSWORD": LISTENER_PASSWORD, "PDNS_API_KEY": powerdns.api_key})
    return subprocess.run([tool("ansible-playbook"), "-i", "localhost,", "ddi.kea_dns.dns_reconcile", "-e", f"@{extra}", *args],
                          env=env, capture_output=True, text=True, timeout=300, check=False)


def changed(proc: subprocess.CompletedProcess) -> int:
    return int(re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)", proc.stdout).group(1))


def test_reconcile_repairs_dns_with_a_dry_run_first(pipeline_db, powerdns_server, tmp_path):
    powerdns_server.reset()
    pipeline_db.kea_sql(INSERT, ("aabbccdd0a01", "10.99.10.1", "us3-cab12-ru1-idrac"))
    pipeline_db.kea_sql(INSERT, ("aabbccdd0a02", "10.99.10.2", "us3-cab12-ru2-ilo"))
    dry = reconcile(pipeline_db, powerdns_server, tmp_path, "--check")
    assert dry.returncode == 0 and changed(dry) == 0, dry.stdout[-3000:]
    assert powerdns_server.query("us3-cab12-ru1-idrac.site.test") == []
    first = reconcile(pipeline_db, powerdns_server, tmp_path)
    assert first.returncode == 0 and changed(first) == 1, first.stdout[-3000:]
    assert "created 4, updated 0, deleted 0" in first.stdout
    assert powerdns_server.query("us3-cab12-ru1-idrac.site.test") == ["10.99.10.1"]
    assert powerdns_server.query("2.10.99.10.in-addr.arpa", "PTR") == ["us3-cab12-ru2-ilo.site.test"]
    pipeline_db.kea_sql("DELETE FROM hosts WHERE hostname = 'us3-cab12-ru2-ilo'")
    again = reconcile(pipeline_db, powerdns_server, tmp_path)
    assert again.returncode == 0 and changed(again) == 1 and "deleted 2" in again.stdout, again.stdout[-3000:]
    assert powerdns_server.query("us3-cab12-ru2-ilo.site.test") == []
    idle = reconcile(pipeline_db, powerdns_server, tmp_path)
    assert idle.returncode == 0 and changed(idle) == 0, idle.stdout[-3000:]
    output = dry.stdout + first.stdout + again.stdout + idle.stdout + first.stderr
    assert LISTENER_PASSWORD not in output and powerdns_server.api_key not in output
