"""One example from each module's EXAMPLES, run from the collection installed offline from its tarball, against the
test servers. Only the connection details of an example are pointed at the servers here (hosts, ports, sockets,
paths); everything else runs as the docs print it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys

import yaml

from tests.harness.ansible import REPO_ROOT, ansible_env, run_tasks, tool
from tests.harness.dns_servers import Knot
from tests.harness.kube_api import KubeApiEmulator
from tests.harness.listener import LISTENER_PASSWORD
from tests.harness.procs import launch
from tests.harness.routes import ingress
from tests.harness.technitium import TechnitiumEmulator

MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(REPO_ROOT, "plugins", "modules")) if f.endswith(".py"))


def examples(module: str) -> list[dict]:
    with open(os.path.join(REPO_ROOT, "plugins", "modules", f"{module}.py"), encoding="utf-8") as handle:
        source = handle.read()
    return yaml.safe_load(re.search(r'EXAMPLES = r"""(.*?)"""', source, re.S).group(1))


def documentation(module: str) -> dict:
    with open(os.path.join(REPO_ROOT, "plugins", "modules", f"{module}.py"), encoding="utf-8") as handle:
        source = handle.read()
    return yaml.safe_load(re.search(r'DOCUMENTATION = r"""(.*?)"""', source, re.S).group(1))


def test_every_module_documents_version_added_and_seealso():
    for module in MODULES:
        doc = documentation(module)
        assert doc.get("version_added") == "0.1.0" and doc.get("seealso"), module


def test_one_example_of_each_module_runs_from_the_installed_tarball(pg_cluster, kea_db, powerdns_server, tmp_path):
    subprocess.run([tool("ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), REPO_ROOT], capture_output=True, check=True)
    installed = str(tmp_path / "installed")
    offline = {"ANSIBLE_COLLECTIONS_PATH": installed, "ANSIBLE_GALAXY_SERVER": "http://127.0.0.1:9/"}
    subprocess.run([tool("ansible-galaxy"), "collection", "install", "--offline", "-p", installed, str(tmp_path / "ddi-kea_dns-0.1.0.tar.gz")],
                   env=ansible_env(offline), capture_output=True, check=True)
    powerdns_server.reset()
    db = {"db_host": "127.0.0.1", "db_port": pg_cluster.port}
    with Knot() as knot, contextlib.ExitStack() as stack:
        kube, technitium = launch(KubeApiEmulator()), launch(TechnitiumEmulator())
        stack.callback(kube.stop)
        stack.callback(technitium.stop)
        kube.apply(ingress("shop", "shop.site.test", ip=None))  # the example's configured target gives its address
        # (module, example index, connection overrides)
        chosen = [
            ("kea_db_events", 0, {"db_host": pg_cluster.sock, "db_port": pg_cluster.port}),
            ("kea_reservation", 0, db),
            ("kea_reservation_info", 1, db),
            ("kea_inventory_files", 0, dict(db, path=str(tmp_path / "discovery"))),
            ("dns_record", 0, {"powerdns_api_url": powerdns_server.api_url}),
            ("dns_record_info", 0, {"powerdns_api_url": powerdns_server.api_url}),
            ("dns_sync", 1, dict(db, knot_socket=knot.socket, db_user="kea_dns_listener", db_password=LISTENER_PASSWORD)),
            ("knot_zone", 0, {"knot_socket": knot.socket}),
            ("lease_backup", 0, dict(db, backup_dir=str(tmp_path / "backups"))),
            ("route_records", 0, {"kubeconfig": kube.kubeconfig(str(tmp_path / "kubeconfig")), "technitium_api_url": technitium.url}),
        ]
        assert sorted(module for module, _index, _overrides in chosen) == MODULES
        tasks = []
        for module, index, overrides in chosen:
            example = examples(module)[index]
            name = f"ddi.kea_dns.{module}"
            tasks.append({"name": example["name"], name: dict(example[name], **overrides), "register": f"result_{module}"})
        out = str(tmp_path / "results.json")
        tasks.append({"name": "Save", "ansible.builtin.copy": {"dest": out, "mode": "0600",
                      "content": "{{ {" + ", ".join(f"'{m}': result_{m}" for m, _i, _o in chosen) + "} | to_json }}"}})
        playbook = tmp_path / "examples.yml"
        playbook.write_text(json.dumps([{"name": "Examples", "hosts": "localhost", "connection": "local", "gather_facts": False,
                                         "vars": {"kea_db_password": pg_cluster.kea_password, "vault_listener_password": LISTENER_PASSWORD},
                                         "tasks": tasks}]))
        env = ansible_env(dict(offline, KEA_DB_USER=pg_cluster.kea_user, KEA_DB_PASSWORD=pg_cluster.kea_password,
                               PDNS_API_KEY=powerdns_server.api_key, TECHNITIUM_TOKEN=technitium.state.token,
                               ANSIBLE_PYTHON_INTERPRETER=sys.executable))
        proc = subprocess.run([tool("ansible-playbook"), "-i", "localhost,", str(playbook)], env=env, capture_output=True, text=True,
                              timeout=600, check=False)
        assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
        with open(out, encoding="utf-8") as handle:
            results = json.load(handle)
        assert results["kea_reservation"]["changed"] is True
        assert [r["hostname"] for r in results["kea_reservation_info"]["reservations"]] == ["us3-cab10-ru20-idrac"]
        assert os.listdir(tmp_path / "discovery") == ["us3-cab10-discovery.yml"]
        assert powerdns_server.query("us3-cab10-ru20-idrac.site.test") == ["10.99.0.50"]
        assert any(r["name"] == "us3-cab10-ru20-idrac.site.test" for r in results["dns_record_info"]["records"])
        assert knot.query("kea.site.test") == ["10.99.0.3"] and knot.query("dhcp.site.test", "CNAME") == ["kea.site.test"]
        assert results["dns_sync"]["not_pending"] == [1041, 1042, 1043] and results["dns_sync"]["changed"] is False
        assert results["lease_backup"]["archive"].startswith(str(tmp_path / "backups" / "kea-leases-dhcp1-"))
        assert results["route_records"]["changed"] is True and technitium.query("shop.site.test") == ["192.0.2.10"]
    assert run_tasks([{"ddi.kea_dns.kea_db_events": {"state": "absent"}}], env=kea_db.admin_env()).returncode == 0
