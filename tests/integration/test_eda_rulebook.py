"""The bundled rulebook ddi.kea_dns.kea_dns run by the real ansible-rulebook, with the collection installed from its
built tarball (ansible-galaxy collection install), against real PostgreSQL (Kea schema + outbox) and a real PowerDNS.

Each change of a reservation goes: trigger -> outbox -> source ddi.kea_dns.kea_events -> rule -> playbook
ddi.kea_dns.dns_event -> dns_record -> PowerDNS; the test asks PowerDNS over DNS until it answers.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time

import psycopg2
import pytest

from tests.harness.ansible import REPO_ROOT, ansible_env, tool
from tests.harness.listener import LISTENER_PASSWORD
from tests.harness.procs import wait_for
from tests.harness.rulebook import RulebookProcess

INSERT = ("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) "
          "VALUES (decode(%s, 'hex'), 0, 1, (%s::inet - '0.0.0.0'::inet), %s)")
ZONE = "site.test"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The collection built and installed offline into a fresh collections path."""
    base = tmp_path_factory.mktemp("eda")
    subprocess.run([tool("ansible-galaxy"), "collection", "build", "--output-path", str(base), REPO_ROOT],
                   capture_output=True, text=True, check=True)
    install_path = base / "collections"
    env = ansible_env({"ANSIBLE_COLLECTIONS_PATH": str(install_path), "ANSIBLE_GALAXY_SERVER": "http://127.0.0.1:9/"})
    subprocess.run([tool("ansible-galaxy"), "collection", "install", "--offline", "-p", str(install_path),
                    str(base / "ddi-kea_dns-0.1.0.tar.gz")], env=env, capture_output=True, text=True, check=True)
    assert (install_path / "ansible_collections/ddi/kea_dns/extensions/eda/rulebooks/kea_dns.yml").exists()
    return install_path


@pytest.fixture
def rulebook(installed, pipeline_db, powerdns_server, tmp_path):
    powerdns_server.reset()
    started = []

    def start(**variables) -> RulebookProcess:
        env = {"ANSIBLE_COLLECTIONS_PATH": str(installed), "KEA_DB_HOST": "127.0.0.1", "KEA_DB_PORT": str(pipeline_db.port),
               "KEA_DB_NAME": pipeline_db.kea_db, "KEA_DB_USER": "kea_dns_listener", "KEA_DB_PASSWORD": LISTENER_PASSWORD,
               **powerdns_server.env()}
        running = RulebookProcess(str(tmp_path), "ddi.kea_dns.kea_dns",
                                  {"kea_dns_provider": "powerdns", "kea_dns_zone": ZONE, "kea_dns_ptr": True, **variables}, env)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def answers(dns, name: str, values: list[str], rtype: str = "A", timeout: float = 60, rulebook: RulebookProcess | None = None) -> None:
    try:
        wait_for(lambda: sorted(dns.query(name, rtype)) == sorted(values), timeout, f"{name} {rtype} -> {values}", interval=0.1)
    except Exception:
        if rulebook is not None:
            print(rulebook.output()[-6000:])  # noqa: T201 - shown when the test fails
        raise


def test_insert_update_delete_reach_dns_and_the_cabinet_inventory_file(rulebook, pipeline_db, powerdns_server, tmp_path):
    inventory_dir = tmp_path / "discovery"
    running = rulebook(kea_dns_inventory_dir=str(inventory_dir))
    dns = powerdns_server

    pipeline_db.kea_sql(INSERT, ("0a0b0c000001", "10.99.0.50", "us3-cab10-ru20-idrac"))
    answers(dns, "us3-cab10-ru20-idrac.site.test", ["10.99.0.50"], rulebook=running)
    answers(dns, "50.0.99.10.in-addr.arpa", ["us3-cab10-ru20-idrac.site.test"], "PTR", rulebook=running)
    cabinet_file = inventory_dir / "us3-cab10-discovery.yml"
    wait_for(cabinet_file.exists, 60, "the cabinet's inventory file")
    assert "us3-cab10-ru20-idrac" in cabinet_file.read_text()

    # Moved: new address and new name; the old name and the old PTR go.
    pipeline_db.kea_sql("UPDATE hosts SET ipv4_address = ('10.99.0.51'::inet - '0.0.0.0'::inet), hostname = 'us3-cab11-ru02-ilo'")
    answers(dns, "us3-cab11-ru02-ilo.site.test", ["10.99.0.51"], rulebook=running)
    answers(dns, "51.0.99.10.in-addr.arpa", ["us3-cab11-ru02-ilo.site.test"], "PTR", rulebook=running)
    answers(dns, "us3-cab10-ru20-idrac.site.test", [], rulebook=running)
    answers(dns, "50.0.99.10.in-addr.arpa", [], "PTR", rulebook=running)
    wait_for(lambda: not cabinet_file.exists() and (inventory_dir / "us3-cab11-discovery.yml").exists(), 60,
             "the inventory file moved to cabinet 11")

    pipeline_db.kea_sql("DELETE FROM hosts")
    answers(dns, "us3-cab11-ru02-ilo.site.test", [], rulebook=running)
    answers(dns, "51.0.99.10.in-addr.arpa", [], "PTR", rulebook=running)
    wait_for(lambda: not (inventory_dir / "us3-cab11-discovery.yml").exists(), 60, "the last inventory file removed")
    assert LISTENER_PASSWORD not in running.output() and dns.env()["PDNS_API_KEY"] not in running.output()


def test_postgresql_restarted_while_inserts_continue_loses_nothing(rulebook, pipeline_db, powerdns_server):
    running = rulebook(kea_dns_inventory_dir="")  # no inventory files
    committed: list[tuple[str, str]] = []

    def writer():
        number = 0
        while number < 30:
            hostname, ip = f"us3-cab12-ru{number:02d}-bmc", f"10.99.6.{number + 1}"
            try:
                pipeline_db.kea_sql(INSERT, (f"0a0b0d{number:06x}", ip, hostname))
                committed.append((hostname, ip))
                number += 1
            except psycopg2.Error:
                time.sleep(0.2)  # the server is restarting; the same insert is tried again
            time.sleep(0.1)

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(1.0)
    pipeline_db.restart()
    thread.join(120)
    assert len(committed) == 30
    for hostname, ip in committed:
        answers(powerdns_server, f"{hostname}.{ZONE}", [ip], timeout=180, rulebook=running)
    assert "reconnecting" in running.output()
    assert dict(pipeline_db.kea_sql("SELECT status, count(*) FROM kea_dns.outbox GROUP BY status")) == {"done": 30}
    assert os.path.exists(running.log_path)
