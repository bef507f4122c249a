"""The bundled rulebook ddi.kea_dns.kea_dns run by the real ansible-rulebook, with the collection installed from its
built tarball (ansible-galaxy collection install), against real PostgreSQL (Kea schema + outbox) and a DNS server.

Each change of a reservation goes: trigger -> outbox -> source ddi.kea_dns.kea_events -> rule -> playbook
ddi.kea_dns.dns_event -> dns_sync -> the backend; the test asks the server until it answers. The tests of what the
backend does (insert/update/delete, DHCPv6, another owner's record, DNS down then back, the rulebook killed while a
batch is half written) run on every backend the daemon supports; the others on PowerDNS.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time

import psycopg2
import pytest

from tests.harness.ansible import REPO_ROOT, ansible_env, run_tasks, tool
from tests.harness.listener import LISTENER_PASSWORD
from tests.harness.pipeline import LISTENER_BACKENDS, clear_owned, listener_target
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
def target(request):
    """The DNS server the rulebook writes to: PowerDNS, or each backend where a test is parametrized over them."""
    return listener_target(request, getattr(request, "param", "powerdns"))


@pytest.fixture
def rulebook(installed, pipeline_db, target, tmp_path):
    clear_owned(pipeline_db, target)  # the servers are shared with earlier tests
    started = []

    def start(**variables) -> RulebookProcess:
        env = {"ANSIBLE_COLLECTIONS_PATH": str(installed), "KEA_DB_HOST": "127.0.0.1", "KEA_DB_PORT": str(pipeline_db.port),
               "KEA_DB_NAME": pipeline_db.kea_db, "KEA_DB_USER": "kea_dns_listener", "KEA_DB_PASSWORD": LISTENER_PASSWORD,
               **target.env}
        work = tmp_path / f"run{len(started)}"
        work.mkdir()
        running = RulebookProcess(str(work), "ddi.kea_dns.kea_dns",
                                  {"kea_dns_provider": target.options["provider"], "kea_dns_zone": ZONE, "kea_dns_ptr": True, **variables}, env)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
    pipeline_db.kea_sql("DELETE FROM hosts")  # and the servers left as the test found them
    clear_owned(pipeline_db, target)


def answers(dns, name: str, values: list[str], rtype: str = "A", timeout: float = 60, rulebook: RulebookProcess | None = None) -> None:
    try:
        wait_for(lambda: sorted(dns.query(name, rtype)) == sorted(values), timeout, f"{name} {rtype} -> {values}", interval=0.1)
    except Exception:
        if rulebook is not None:
            print(rulebook.output()[-6000:])  # noqa: T201 - shown when the test fails
        raise


@pytest.mark.parametrize("target", LISTENER_BACKENDS, indirect=True)
def test_insert_update_delete_reach_dns_and_the_cabinet_inventory_file(rulebook, pipeline_db, target, tmp_path):
    inventory_dir = tmp_path / "discovery"
    running = rulebook(kea_dns_inventory_dir=str(inventory_dir))
    dns = target.server

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
    assert not [secret for secret in [LISTENER_PASSWORD, *target.secrets()] if secret in running.output()]


@pytest.mark.parametrize("target", LISTENER_BACKENDS, indirect=True)
def test_a_dhcpv6_reservation_gets_its_aaaa_and_ip6_arpa_ptr(rulebook, pipeline_db, target):
    """The DHCPv6 change feed through the source and the rulebook's dns_sync task: Kea's order (host row, then its
    addresses, one transaction), an address changed, the reservation deleted by the cascade."""
    running = rulebook()
    dns, name = target.server, "us3-cab10-ru30-idrac.site.test"
    ptr = "0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
    pipeline_db.kea_sql("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp6_subnet_id, hostname) "
                        "VALUES (decode('00030001aabbccdd0030', 'hex'), 1, 10, 'us3-cab10-ru30-idrac'); "
                        "INSERT INTO ipv6_reservations (address, prefix_len, type, host_id) "
                        "SELECT '2001:db8::30', 128, 0, host_id FROM hosts WHERE hostname = 'us3-cab10-ru30-idrac'")
    answers(dns, name, ["2001:db8::30"], "AAAA", rulebook=running)
    answers(dns, ptr, [name], "PTR", rulebook=running)
    pipeline_db.kea_sql("UPDATE ipv6_reservations SET address = '2001:db8::31'")
    answers(dns, name, ["2001:db8::31"], "AAAA", rulebook=running)
    answers(dns, ptr, [], "PTR", rulebook=running)
    pipeline_db.kea_sql("DELETE FROM hosts")
    answers(dns, name, [], "AAAA", rulebook=running)
    answers(dns, ptr.replace("0.3.0.0", "1.3.0.0", 1), [], "PTR", rulebook=running)
    assert outbox_statuses(pipeline_db) == {"done": 3}


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


def commit_rows(pg, rows, together: bool = False) -> None:
    """INSERT ``rows`` (identifier, address, hostname): each in a transaction of its own, or all in one."""
    if together:
        pg.kea_sql("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) "
                   "SELECT decode(r[1], 'hex'), 0, 1, (r[2]::inet - '0.0.0.0'::inet), r[3] FROM unnest(%s::text[]) WITH ORDINALITY AS u(x, n), "
                   "LATERAL (SELECT string_to_array(x, ' ') AS r) AS s ORDER BY n", ([" ".join(row) for row in rows],))
    else:
        for row in rows:
            pg.kea_sql(INSERT, row)


def bmc_rows(count: int, third_octet: int, cabinet: str) -> list[tuple[str, str, str]]:
    return [(f"0a0b{third_octet:02x}{n:06x}", f"10.99.{third_octet + n // 250}.{n % 250 + 1}", f"us3-{cabinet}-ru{n:03d}-bmc")
            for n in range(count)]


def all_answered(dns, rows, timeout: float, rulebook: RulebookProcess | None = None) -> None:
    """Every row's A record and PTR answered with the current values (a sample of 50 is queried when there are more)."""
    sample = rows if len(rows) <= 50 else random.Random(7).sample(rows, 50)  # noqa: S311 - a test sample
    for _identifier, ip, hostname in sample:
        answers(dns, f"{hostname}.{ZONE}", [ip], timeout=timeout, rulebook=rulebook)
        reverse = ".".join(reversed(ip.split("."))) + ".in-addr.arpa"
        answers(dns, reverse, [f"{hostname}.{ZONE}"], "PTR", timeout=timeout, rulebook=rulebook)


def outbox_statuses(pg) -> dict[str, int]:
    return dict(pg.kea_sql("SELECT status, count(*) FROM kea_dns.outbox GROUP BY status"))


def dns_statuses(pg) -> dict[str, int]:
    """The reservations by DNS status (the dns_status table the dns_sync module writes as the daemon does)."""
    return dict(pg.kea_sql("SELECT status, count(*) FROM kea_dns.dns_status GROUP BY status"))


# Every moment with both signals on PowerDNS; the moment that leaves a backend with half a batch (SIGKILL: nothing
# runs to completion) on every other backend too.
STOPS = [pytest.param(moment, signum, "powerdns", id=f"{moment}-{signum.name}-powerdns")
         for moment in ("events queued", "playbook running", "batch half applied") for signum in (signal.SIGTERM, signal.SIGKILL)]
STOPS += [pytest.param("batch half applied", signal.SIGKILL, name, id=f"batch half applied-SIGKILL-{name}")
          for name in LISTENER_BACKENDS if name != "powerdns"]


@pytest.mark.parametrize(("moment", "signum", "target"), STOPS, indirect=["target"])
def test_rulebook_stopped_at_any_moment_loses_nothing(rulebook, pipeline_db, target, signum, moment):
    """Stopped while it works, then started again: every change reaches DNS, every outbox row ends done."""
    running = rulebook(kea_dns_inventory_dir="")
    dns = target.server
    rows = bmc_rows(10, 7, "cab13")
    if moment == "events queued":  # stopped just after the commits, before any playbook could apply them
        commit_rows(pipeline_db, rows)
    elif moment == "playbook running":  # ten single-row commits; stopped as soon as the first one answers
        commit_rows(pipeline_db, rows)
        answers(dns, f"{rows[0][2]}.{ZONE}", [rows[0][1]], timeout=60, rulebook=running)
    else:  # one event of 300 rows; stopped as soon as its first record answers, while the rest is being written
        rows = bmc_rows(300, 8, "cab14")
        commit_rows(pipeline_db, rows, together=True)
        wait_for(lambda: any(dns.query(f"{hostname}.{ZONE}") for _i, _ip, hostname in rows[:5]), 60, "the batch's first records",
                 interval=0.02)
    running.signal(signum)
    if moment == "events queued":  # the source had taken rows that ansible-rulebook never applied
        assert pipeline_db.kea_sql("SELECT count(*) FROM kea_dns.outbox WHERE status = 'pending'")[0][0] > 0
    restarted = rulebook(kea_dns_inventory_dir="")
    all_answered(dns, rows, timeout=120, rulebook=restarted)
    wait_for(lambda: outbox_statuses(pipeline_db) == {"done": len(rows)}, 60, "every outbox row done")
    assert dns_statuses(pipeline_db) == {"synced": len(rows)}  # no status left pending by the stop
    cabinet = rows[0][2].split("-")[1]
    bmcs = {name: values for name, values in target.state().items() if f"-{cabinet}-" in name}
    assert bmcs == {f"{hostname}.{ZONE}": [ip] for _i, ip, hostname in rows}  # every one, the current value, nothing twice


def test_a_backlog_of_1000_changes_goes_out_in_few_playbook_runs(rulebook, pipeline_db, powerdns_server):
    rows = bmc_rows(1000, 9, "cab15")
    commit_rows(pipeline_db, rows, together=True)  # written while no rulebook runs
    started = time.monotonic()
    running = rulebook(kea_dns_inventory_dir="")
    wait_for(lambda: outbox_statuses(pipeline_db) == {"done": 1000}, 120, "the backlog applied", interval=0.1)
    elapsed = time.monotonic() - started
    all_answered(powerdns_server, rows, timeout=10, rulebook=running)
    runs = running.output().count("PLAY [Make DNS follow the changes of one event")
    print(f"backlog of 1000: applied {elapsed:.1f} s after ansible-rulebook started, in {runs} playbook runs")  # noqa: T201
    assert runs <= 3, running.output()[-3000:]  # batches of 500: two runs (a third if the first rows came alone)
    assert elapsed < 90  # the target (< 15 s from the events) is measured by benchmarks/eda.py, not here


def test_bad_rows_in_front_are_skipped_with_their_reason_and_do_not_hold_up_good_rows(rulebook, pipeline_db, powerdns_server):
    running = rulebook(kea_dns_inventory_dir="")
    bad = [(f"0a0b10{n:06x}", f"10.99.10.{n + 1}", f"us3 cab16-ru{n:02d}-idrac") for n in range(3)]  # selected, no DNS names
    good = bmc_rows(5, 11, "cab16")
    commit_rows(pipeline_db, bad)
    committed = time.monotonic()
    commit_rows(pipeline_db, good)
    all_answered(powerdns_server, good, timeout=60, rulebook=running)
    latency = time.monotonic() - committed
    statuses = pipeline_db.kea_sql("SELECT status, last_error, attempts FROM kea_dns.outbox ORDER BY id")
    assert [status for status, _error, _attempts in statuses] == ["skipped"] * 3 + ["done"] * 5
    for (_status, error, attempts), (_identifier, _ip, hostname) in zip(statuses, bad, strict=False):
        assert f"hostname: invalid value '{hostname}'" in error and attempts == 1  # never retried
    wait_for(lambda: "outbox row 1 skipped" in running.output(), 30, "the skip in the playbook's output")
    assert latency < 30, latency  # no retries of the bad rows in between (they cost 40 s before)


def test_a_hand_made_record_is_left_alone_and_reported_and_a_non_bmc_name_gets_nothing(rulebook, pipeline_db, powerdns_server):
    dns = powerdns_server
    taken = "us3-cab17-ru01-idrac"
    dns.api("PATCH", f"/zones/{ZONE}.", json={"rrsets": [{"name": f"{taken}.{ZONE}.", "type": "A", "ttl": 3600, "changetype": "REPLACE",
                                                          "records": [{"content": "192.0.2.99", "disabled": False}]}]}).raise_for_status()
    running = rulebook(kea_dns_inventory_dir="")
    commit_rows(pipeline_db, [("0a0b11000001", "10.99.12.1", taken), ("0a0b11000002", "10.99.12.2", "web01"),
                              ("0a0b11000003", "10.99.12.3", "us3-cab17-ru03-idrac")])
    answers(dns, f"us3-cab17-ru03-idrac.{ZONE}", ["10.99.12.3"], rulebook=running)
    wait_for(lambda: outbox_statuses(pipeline_db) == {"done": 3}, 60, "every row acknowledged")
    assert dns.query(f"{taken}.{ZONE}") == ["192.0.2.99"]
    rrset = [r for r in dns.api("GET", f"/zones/{ZONE}.").json()["rrsets"] if r["name"] == f"{taken}.{ZONE}." and r["type"] == "A"][0]
    assert (rrset["ttl"], rrset["comments"]) == (3600, [])  # not marked as owned by the collection
    reported = f"{taken}.{ZONE} A holds 192.0.2.99, not 10.99.12.1, and ddi.kea_dns does not manage it: left alone"
    wait_for(lambda: reported in running.output(), 30, "the warning in the playbook's output")  # printed after the commit
    assert dns.query(f"web01.{ZONE}") == [] and dns.query("2.12.99.10.in-addr.arpa", "PTR") == []


@pytest.mark.parametrize("target", LISTENER_BACKENDS, indirect=True)
def test_another_owners_record_is_left_alone_and_reported_even_after_the_reservation_goes(rulebook, pipeline_db, target):
    """A record of another owner id (another team's, written with dns_record owner_id: PowerDNS comments, Technitium
    and SOLIDserver metadata, TXT markers on Knot and RFC 2136) holds a reservation's name: the rulebook neither
    changes it nor takes it over, and says so."""
    dns, taken = target.server, "us3-cab19-ru01-idrac"
    theirs = {**target.options, "zone": ZONE, "name": taken, "type": "A", "ttl": 3600, "owner_id": "ops/manual"}
    run = run_tasks([{"ddi.kea_dns.dns_record": {**theirs, "value": "192.0.2.98"}}], env=target.env)
    assert run.results[0].get("changed"), run.output[-3000:]
    try:
        running = rulebook(kea_dns_inventory_dir="")
        commit_rows(pipeline_db, [("0a0b12000001", "10.99.14.1", taken), ("0a0b12000002", "10.99.14.2", "us3-cab19-ru02-idrac")])
        answers(dns, f"us3-cab19-ru02-idrac.{ZONE}", ["10.99.14.2"], rulebook=running)
        wait_for(lambda: outbox_statuses(pipeline_db) == {"done": 2}, 60, "every row acknowledged")
        assert dns.query(f"{taken}.{ZONE}") == ["192.0.2.98"]
        reported = f"{taken}.{ZONE} A holds 192.0.2.98, not 10.99.14.1, and belongs to owner ops/manual (this sync is kea/default): left alone"
        wait_for(lambda: reported in running.output(), 30, "the warning in the playbook's output")  # printed after the commit
        pipeline_db.kea_sql("DELETE FROM hosts")  # their record stays when the reservation goes
        answers(dns, f"us3-cab19-ru02-idrac.{ZONE}", [], rulebook=running)
        wait_for(lambda: outbox_statuses(pipeline_db) == {"done": 4}, 60, "the deletions acknowledged")
        assert dns.query(f"{taken}.{ZONE}") == ["192.0.2.98"]
    finally:  # the session's servers are shared with other tests
        run_tasks([{"ddi.kea_dns.dns_record": {**theirs, "state": "absent"}}], env=target.env)


@pytest.mark.parametrize("target", LISTENER_BACKENDS, indirect=True)
def test_dns_down_for_a_while_then_back_loses_nothing(rulebook, pipeline_db, target):
    running = rulebook(kea_dns_inventory_dir="")
    rows = bmc_rows(5, 13, "cab18")
    target.server.stop_server()
    try:
        commit_rows(pipeline_db, rows)
        wait_for(lambda: pipeline_db.kea_sql("SELECT max(attempts) FROM kea_dns.outbox")[0][0] >= 2, 90,
                 "the playbook failing and the rows delivered again")
    finally:
        target.server.start_server()
    all_answered(target.server, rows, timeout=90, rulebook=running)
    wait_for(lambda: outbox_statuses(pipeline_db) == {"done": 5}, 60, "every row acknowledged")
    assert dns_statuses(pipeline_db) == {"synced": 5}  # the failed attempts did not leave a reservation failed
