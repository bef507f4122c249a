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
from tests.harness.procs import open_to_all, wait_for


def playbook(name: str, inventory: str, variables: dict, *args: str) -> subprocess.CompletedProcess:
    extra = os.path.join(os.path.dirname(inventory), "vars.json")
    with open(extra, "w", encoding="utf-8") as handle:
        json.dump(variables, handle)
    return subprocess.run([tool("ansible-playbook"), "-i", inventory, os.path.join(REPO_ROOT, "playbooks", name), "-e", f"@{extra}", *args],
                          env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)


def knotc(knot: Knot, *args: str) -> None:
    subprocess.run(["knotc", "-s", knot.socket, *args], check=True, capture_output=True)


def without_soa(zone: dict) -> dict:
    return {k: v for k, v in zone.items() if k[1] != "SOA"}


def test_backup_then_restore_on_a_rebuilt_host(tmp_path):
    """knotd as user knot (as Debian runs it). The restore runs with a remote directory that does not exist yet (a
    rebuilt host), both zones damaged and static records configured: both zones restored, the static records on top,
    a re-run changes nothing, and without an archive the static records are still merged (seed 003's start-up)."""
    open_to_all(tmp_path)  # knotd must enter it
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(f"[kea_dns_backup]\ndhcp1 ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    local = tmp_path / "fetched"
    with Knot(user="knot") as knot, KeaMemfile(lfc_interval=1) as kea:
        assert os.stat(knot.socket).st_uid != 0
        knotc(knot, "zone-begin", "99.10.in-addr.arpa")
        knotc(knot, "zone-set", "99.10.in-addr.arpa", "8", "300", "PTR", "web.site.test.")
        knotc(knot, "zone-commit", "99.10.in-addr.arpa")
        kea.add_leases(0, 30)
        wait_for(lambda: os.path.exists(kea.lease_file + ".2"), 20, "kea-lfc")
        leases = kea.leases()
        common = {"kea_dns_knot_socket": knot.socket, "kea_dns_lease_files": [kea.lease_file], "kea_dns_backup_remote_dir": str(tmp_path / "remote"),
                  "kea_dns_backup_local_dir": str(local), "kea_dns_kea_service": ""}
        before = {zone: without_soa(knot.transfer(zone)) for zone in ("site.test", "99.10.in-addr.arpa")}
        proc = playbook("backup.yml", str(inventory), common)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        fetched = sorted(os.listdir(local / "dhcp1"))
        assert "zones.tar.gz" in fetched and "kea-leases.tar.gz" in fetched, fetched
        assert any(f.startswith("knot-zones-dhcp1-") for f in fetched) and any(f.startswith("kea-leases-dhcp1-") for f in fetched)

        # Both zones damaged.
        knotc(knot, "zone-begin", "site.test")
        knotc(knot, "zone-set", "site.test", "drift", "60", "A", "10.99.0.99")
        knotc(knot, "zone-commit", "site.test")
        knotc(knot, "zone-begin", "99.10.in-addr.arpa")
        knotc(knot, "zone-unset", "99.10.in-addr.arpa", "8", "PTR")
        knotc(knot, "zone-commit", "99.10.in-addr.arpa")
        damaged_serial = int(knot.query("site.test", "SOA")[0].split()[2])
        target = tmp_path / "restored-leases"
        target.mkdir()
        rebuilt = tmp_path / "rebuilt" / "var" / "backups" / "kea-dns"
        restore_vars = dict(common, kea_dns_lease_files=[str(target / "kea-leases4.csv")], kea_dns_backup_remote_dir=str(rebuilt),
                            kea_dns_restore_zones_archive=str(local / "dhcp1" / "zones.tar.gz"),
                            kea_dns_restore_leases_archive=str(local / "dhcp1" / "kea-leases.tar.gz"),
                            kea_dns_static_zone="site.test", kea_dns_static_records=[{"name": "ns2", "value": "10.99.0.2"}])
        proc = playbook("restore.yml", str(inventory), restore_vars)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        assert oct(os.stat(rebuilt).st_mode & 0o777) == "0o750" and os.stat(rebuilt).st_gid == os.stat(knot.socket).st_gid
        forward = without_soa(knot.transfer("site.test"))
        assert forward == {**before["site.test"], ("ns2.site.test", "A"): ["10.99.0.2"]}, forward
        assert without_soa(knot.transfer("99.10.in-addr.arpa")) == before["99.10.in-addr.arpa"]
        assert int(knot.query("site.test", "SOA")[0].split()[2]) > damaged_serial
        again = playbook("restore.yml", str(inventory), restore_vars)
        assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-3000:]

        # No archive: the static records are merged all the same.
        static_only = dict(common, kea_dns_static_zone="site.test",
                           kea_dns_static_records=[{"name": "ns2", "value": "10.99.0.3"}, {"name": "kea", "value": "10.99.0.4"}])
        proc = playbook("restore.yml", str(inventory), static_only)
        assert proc.returncode == 0 and "changed=1" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-2000:]
        assert knot.query("ns2.site.test") == ["10.99.0.3"] and knot.query("kea.site.test") == ["10.99.0.4"]
    with KeaMemfile(lease_dir=str(target)) as restored:
        assert restored.leases() == leases


def test_restore_without_a_running_knotd_changes_nothing(tmp_path):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(f"[kea_dns_backup]\ndhcp1 ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    remote = tmp_path / "remote"
    variables = {"kea_dns_knot_socket": str(tmp_path / "knot.sock"), "kea_dns_backup_remote_dir": str(remote),
                 "kea_dns_static_zone": "site.test", "kea_dns_static_records": [{"name": "ns2", "value": "10.99.0.2"}]}
    proc = playbook("restore.yml", str(inventory), variables)
    assert proc.returncode != 0 and "start knotd" in proc.stdout and "Nothing was changed" in proc.stdout, proc.stdout[-3000:]
    assert not remote.exists()


def test_the_pod_variant_parses():
    """The StatefulSet path needs a cluster to run; here its playbooks are parsed with the pod variables set."""
    for name in ("backup.yml", "restore.yml"):
        proc = subprocess.run([tool("ansible-playbook"), "--syntax-check", "-i", "localhost,", os.path.join(REPO_ROOT, "playbooks", name),
                               "-e", "kea_dns_cluster=my-cluster", "-e", "kea_dns_statefulset=unified-dns-dhcp", "-e", "kea_dns_namespace=dns-dhcp"],
                              env=ansible_env(), capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
