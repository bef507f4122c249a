"""The collection builds, installs offline from its tarball, and documents its modules and its inventory plugin."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile

import yaml

from tests.harness.ansible import REPO_ROOT, ansible_env, tool

MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(REPO_ROOT, "plugins", "modules")) if f.endswith(".py"))


def test_build_install_offline_and_ansible_doc(tmp_path):
    build = subprocess.run([tool("ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), REPO_ROOT],
                           capture_output=True, text=True, check=True)
    tarball = tmp_path / "ddi-kea_dns-0.1.0.tar.gz"
    assert tarball.exists(), build.stdout
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "plugins/modules/kea_reservation.py" in names and "MANIFEST.json" in names
    assert not [n for n in names if n.startswith(("tests/output", ".venv", "scripts/", "benchmarks/", ".ci")) or n.split("/")[2:3] == ["molecule"]]

    install_path = tmp_path / "installed"
    env = ansible_env({"ANSIBLE_COLLECTIONS_PATH": str(install_path), "ANSIBLE_GALAXY_SERVER": "http://127.0.0.1:9/"})
    subprocess.run([tool("ansible-galaxy"), "collection", "install", "--offline", "-p", str(install_path), str(tarball)],
                   env=env, capture_output=True, text=True, check=True)
    assert (install_path / "ansible_collections/ddi/kea_dns/plugins/module_utils/_kea/").exists()

    listing = subprocess.run([tool("ansible-doc"), "-l", "ddi.kea_dns", "--json"], env=env, capture_output=True, text=True, check=True)
    assert sorted(json.loads(listing.stdout)) == [f"ddi.kea_dns.{m}" for m in MODULES]
    for module in MODULES:
        page = subprocess.run([tool("ansible-doc"), f"ddi.kea_dns.{module}"], env=env, capture_output=True, text=True, check=True)
        assert "EXAMPLES:" in page.stdout and "ddi.kea_dns." in page.stdout
    plugins = subprocess.run([tool("ansible-doc"), "-t", "inventory", "-l", "ddi.kea_dns", "--json"], env=env, capture_output=True,
                             text=True, check=True)
    assert sorted(json.loads(plugins.stdout)) == ["ddi.kea_dns.kea_reservations"]
    page = subprocess.run([tool("ansible-doc"), "-t", "inventory", "ddi.kea_dns.kea_reservations"], env=env, capture_output=True,
                          text=True, check=True)
    assert "EXAMPLES:" in page.stdout and "KEA_DB_PASSWORD" in page.stdout and "cache_plugin" in page.stdout
    page = subprocess.run([tool("ansible-doc"), "-t", "filter", "ddi.kea_dns.event_records"], env=env, capture_output=True,
                          text=True, check=True)
    assert "EXAMPLES:" in page.stdout and "ddi.kea_dns.dns_record" in page.stdout
    for name in ("extensions/eda/plugins/event_source/kea_events.py", "extensions/eda/rulebooks/kea_dns.yml",
                 "extensions/eda/rulebooks/kea_dns_controller.yml", "meta/extensions.yml", "playbooks/dns_event.yml",
                 "playbooks/inventory_refresh.yml", "playbooks/backup.yml", "playbooks/restore.yml",
                 "playbooks/statefulset_pod.yml", "playbooks/tasks/backup.yml", "playbooks/tasks/restore.yml",
                 "playbooks/site.yml", "roles/kea_server/meta/argument_specs.yml", "roles/kea_server/templates/kea-dhcp.conf.j2"):
        assert name in names


def test_action_group_lists_exactly_the_modules():
    with open(os.path.join(REPO_ROOT, "meta", "runtime.yml"), encoding="utf-8") as handle:
        runtime = yaml.safe_load(handle)
    modules = sorted(f[:-3] for f in os.listdir(os.path.join(REPO_ROOT, "plugins", "modules")) if f.endswith(".py"))
    grouped = sorted(name for group in runtime["action_groups"].values() for name in group)
    assert grouped == modules
