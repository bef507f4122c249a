"""The local lab (run through scripts/lab.sh): the whole pipeline on this machine, then clean-up.

PostgreSQL with Kea's schema and a Knot DNS server (both throwaway), the pipeline installed with the collection's
roles (playbooks/lab_pipeline.yml: kea_db_events, dns_listener), the listener daemon started from the files the role
rendered, sample reservations written with kea_reservation (playbooks/lab.yml), then the DNS answers, the
site-cabinet inventory files, and the same reservations through the inventory plugin. Everything it started is
stopped and its directory removed.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile

from tests.harness.ansible import ansible_env, tool
from tests.harness.dns_servers import Knot
from tests.harness.listener import ListenerProcess, read_env_file
from tests.harness.postgres import PgCluster
from tests.harness.procs import free_port

SHOW_SQL = ("SELECT hostname, host('0.0.0.0'::inet + ipv4_address) AS ip, encode(dhcp_identifier, 'hex') AS identifier, "
            "dhcp_identifier_type, dhcp4_subnet_id FROM hosts ORDER BY ipv4_address")


def playbook(name: str, env: dict, extra_vars: str | None = None) -> None:
    args = [tool("ansible-playbook"), name] + (["-e", f"@{extra_vars}"] if extra_vars else [])
    subprocess.run(args, env=ansible_env(env), check=True)


def main() -> int:
    lab = tempfile.mkdtemp(prefix="kea-dns-lab-")
    listener = None
    try:
        print("lab: starting PostgreSQL with the Kea schema (kea-admin db-init pgsql) and Knot DNS (zones site.test, 99.10.in-addr.arpa)")
        with PgCluster() as pg, Knot() as knot:
            password = secrets.token_urlsafe(16)
            metrics_port = free_port()
            os.makedirs(os.path.join(lab, "systemd"))
            variables = {
                "kea_db_events_db_host": pg.sock, "kea_db_events_db_port": pg.port, "kea_db_events_db_user": "postgres",
                "kea_db_events_listener_password": password,
                "dns_listener_install_dir": os.path.join(lab, "opt"), "dns_listener_config_dir": os.path.join(lab, "etc"),
                "dns_listener_output_dir": os.path.join(lab, "discovery"), "dns_listener_unit_dir": os.path.join(lab, "systemd"),
                "dns_listener_manage_service": False, "dns_listener_create_user": False, "dns_listener_user": "root",
                "dns_listener_group": "root",
                # The lab reuses the project venv (same pinned requirements) instead of building one more.
                "dns_listener_install_venv": False, "dns_listener_venv_python": sys.executable,
                "dns_listener_config": {"db_host": "127.0.0.1", "db_port": pg.port, "db_user": "kea_dns_listener", "enable_dns": True,
                                        "dns_zone": "site.test", "provider": "knot", "knot_socket": knot.socket, "ptr": True,
                                        "hostname_filter": ["*-idrac", "*-ilo", "*-bmc", "*-xcc"],
                                        "metrics_address": f"127.0.0.1:{metrics_port}"},
                "dns_listener_environment": {"KEA_DB_PASSWORD": password},
            }
            extra = os.path.join(lab, "vars.json")
            with open(extra, "w", encoding="utf-8") as handle:
                json.dump(variables, handle)
            os.chmod(extra, 0o600)
            print("lab: installing the pipeline with the roles ddi.kea_dns.kea_db_events and ddi.kea_dns.dns_listener")
            playbook("ddi.kea_dns.lab_pipeline", {}, extra)
            config = os.path.join(lab, "etc", "config.yml")
            listener = ListenerProcess({}, read_env_file(os.path.join(lab, "etc", "listener.env")), python=sys.executable,
                                       program=os.path.join(lab, "opt", "kea_lease_monitor_vault.py"), config=config,
                                       base=os.path.join(lab, "run"), metrics_port=metrics_port)
            os.makedirs(listener.base)
            listener.start()
            print(f"lab: listener daemon running (pid {listener.proc.pid}), metrics on http://127.0.0.1:{metrics_port}/metrics")
            playbook("ddi.kea_dns.lab", {**pg.env(), **knot.env()})
            print("\nlab: the hosts table as Kea reads it (identifier type 0 = hw-address):")
            for row in pg.kea_sql(SHOW_SQL):
                print("   ", " | ".join(str(col) for col in row))
            print("\nlab: what the DNS server answers (real queries):")
            for hostname, address in pg.kea_sql("SELECT hostname, host('0.0.0.0'::inet + ipv4_address) FROM hosts ORDER BY 1"):
                print(f"    {hostname}.site.test A -> {knot.query(f'{hostname}.site.test')};"
                      f"  {address} PTR -> {knot.query('.'.join(reversed(address.split('.'))) + '.in-addr.arpa', 'PTR')}")
            print("    fr1-cab02-ru01-bmc.site.test A (reservation removed) ->", knot.query("fr1-cab02-ru01-bmc.site.test"))
            discovery = os.path.join(lab, "discovery")
            print(f"\nlab: site-cabinet inventory files: {', '.join(sorted(os.listdir(discovery)))}")
            graph = subprocess.run([tool("ansible-inventory"), "-i", discovery, "--graph"], env=ansible_env(), capture_output=True,
                                   text=True, check=True)
            print(graph.stdout)
            source = os.path.join(lab, "bmc.kea_reservations.yml")
            with open(source, "w", encoding="utf-8") as handle:
                handle.write("plugin: ddi.kea_dns.kea_reservations\ndns_zone: site.test\nhostname_regex: '-(idrac|ilo|bmc|xcc)$'\n")
            print("lab: the same reservations live from the database, through the inventory plugin ddi.kea_dns.kea_reservations:")
            live = subprocess.run([tool("ansible-inventory"), "-i", source, "--graph", "--vars", "us3_cab10"], env=ansible_env(pg.env()),
                                  capture_output=True, text=True, check=True)
            print("\n".join(line for line in live.stdout.splitlines() if "{" not in line or "ansible_host" in line or "fqdn" in line))
            metrics = listener.metrics()
            applied = sum(v for k, v in metrics.items() if k.startswith("kea_dns_listener_events_applied_total"))
            print(f"lab: daemon metrics: {applied:.0f} reservation changes applied, {metrics['kea_dns_listener_outbox_pending']:.0f} pending; "
                  f"/healthz {listener.http('/healthz')}, /readyz {listener.http('/readyz')}")
            print("lab: stopping the daemon, Knot and PostgreSQL")
            listener.stop()
            listener = None
    finally:
        if listener is not None:
            listener.stop()
        shutil.rmtree(lab, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
