"""playbooks/backup.yml and playbooks/restore.yml on a plain host (this one, local connection): a real knotd and a
real kea-dhcp4 (memfile), archives fetched to the controller, restored, static records merged on top."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.harness.ansible import REPO_ROOT, ansible_env, tool
from tests.harness.dns_servers import Knot
from tests.harness.kea import KeaMemfile
from tests.harness.procs import wait_for


def playbook(name: str, inventory: str, variables: dict, *args: str) -> subprocess.CompletedProcess:
    extra = os.path.join(os.path.dirname(inventory), "vars.json")
    with open(extra, "w", encoding="utf-8") as handle:
        json.dump(variables, handle)
    return subprocess.run([tool("ansible-playbook"), "-i", inventory, os.path.join(REPO_ROOT, "playbooks", name), "-e", f"@{extra}", *args],
                          env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)


def test_backup_then_restore_on_a_plain_host(tmp_path):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(f"[kea_dns_backup]\ndhcp1 ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    local = tmp_path / "fetched"
    with Knot() as knot, KeaMemfile(lfc_interval=1) as kea:
        kea.add_leases(0, 30)
        wait_for(lambda: os.path.exists(kea.lease_file + ".2"), 20, "kea-lfc")
        leases = kea.leases()
        common = {"kea_dns_knot_socket": knot.socket, "kea_dns_lease_files": [kea.lease_file], "kea_dns_backup_remote_dir": str(tmp_path / "remote"),
                  "kea_dns_backup_local_dir": str(local), "kea_dns_kea_service": ""}
        zone_before = knot.transfer("site.test")
        proc = playbook("backup.yml", str(inventory), common)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        fetched = sorted(os.listdir(local / "dhcp1"))
        assert "zones.tar.gz" in fetched and "kea-leases.tar.gz" in fetched, fetched
        assert any(f.startswith("knot-zones-dhcp1-") for f in fetched) and any(f.startswith("kea-leases-dhcp1-") for f in fetched)

        subprocess.run(["knotc", "-s", knot.socket, "zone-begin", "site.test"], check=True, capture_output=True)
        subprocess.run(["knotc", "-s", knot.socket, "zone-set", "site.test", "drift", "60", "A", "10.99.0.99"], check=True, capture_output=True)
        subprocess.run(["knotc", "-s", knot.socket, "zone-commit", "site.test"], check=True, capture_output=True)
        target = tmp_path / "restored-leases"
        target.mkdir()
        restore_vars = dict(common, kea_dns_lease_files=[str(target / "kea-leases4.csv")],
                            kea_dns_restore_zones_archive=str(local / "dhcp1" / "zones.tar.gz"),
                            kea_dns_restore_leases_archive=str(local / "dhcp1" / "kea-leases.tar.gz"),
                            kea_dns_static_zone="site.test", kea_dns_static_records=[{"name": "ns2", "value": "10.99.0.2"}])
        proc = playbook("restore.yml", str(inventory), restore_vars)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        zone = knot.transfer("site.test")
        assert ("drift.site.test", "A") not in zone and zone[("ns2.site.test", "A")] == ["10.99.0.2"]
        assert {k: v for k, v in zone.items() if k[1] != "SOA" and k[0] != "ns2.site.test"} == {k: v for k, v in zone_before.items() if k[1] != "SOA"}
        again = playbook("restore.yml", str(inventory), restore_vars)
        assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-3000:]
    with KeaMemfile(lease_dir=str(target)) as restored:
        assert restored.leases() == leases


def test_the_pod_variant_parses():
    """The StatefulSet path needs a cluster to run; here its playbooks are parsed with the pod variables set."""
    for name in ("backup.yml", "restore.yml"):
        proc = subprocess.run([tool("ansible-playbook"), "--syntax-check", "-i", "localhost,", os.path.join(REPO_ROOT, "playbooks", name),
                               "-e", "kea_dns_cluster=my-cluster", "-e", "kea_dns_statefulset=unified-dns-dhcp", "-e", "kea_dns_namespace=dns-dhcp"],
                              env=ansible_env(), capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
