"""ddi.kea_dns.kea_inventory_files against a real PostgreSQL with Kea's schema: the listener's files, byte for byte."""

from __future__ import annotations

from tests.harness.ansible import run_tasks
from tests.harness.listener import ListenerProcess

INSERT = ("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) "
          "VALUES (decode(%s, 'hex'), 0, 1, (%s::inet - '0.0.0.0'::inet), %s)")


def files_task(path, **args) -> dict:
    return {"ddi.kea_dns.kea_inventory_files": {"path": str(path), "dns_zone": "site.test", **args}}


def test_files_check_mode_diff_idempotence_and_removal(kea_db, tmp_path):
    kea_db.kea_sql(INSERT, ("0a0000000001", "10.99.0.11", "us3-cab10-ru20-idrac"))
    kea_db.kea_sql(INSERT, ("0a0000000002", "10.99.0.12", "us3-cab11-ru02-ilo"))
    kea_db.kea_sql(INSERT, ("0a0000000003", "10.99.0.13", "switch01"))
    kea_db.kea_sql(INSERT, ("0a0000000004", "10.99.0.14", "oddname-idrac"))
    path = tmp_path / "discovery"
    (tmp_path / "discovery").mkdir()
    (path / "handmade.yml").write_text("all: {}\n")
    run = run_tasks([dict(files_task(path), check_mode=True, diff=True), dict(files_task(path), diff=True), files_task(path)],
                    env=kea_db.env())
    in_check, first, again = run.results
    assert in_check["changed"] and in_check["written"] == ["us3-cab10-discovery.yml", "us3-cab11-discovery.yml"]
    assert in_check["diff"][0]["before"] == "" and "us3-cab10-ru20-idrac" in in_check["diff"][0]["after"]
    assert (first["changed"], first["written"], first["unplaced"]) == (True, in_check["written"], ["oddname-idrac"])
    assert (again["changed"], again["written"], again["removed"]) == (False, [], [])
    assert sorted(p.name for p in path.iterdir()) == ["handmade.yml", "us3-cab10-discovery.yml", "us3-cab11-discovery.yml"]

    # The same bytes as the files of the listener daemon (run once, without DNS).
    daemon_dir = tmp_path / "daemon"
    daemon = ListenerProcess({"metrics_address": "", "once": True, "dns_zone": "site.test", "output_dir": str(daemon_dir)},
                             kea_db.env(), base=str(tmp_path))
    assert daemon.run_once().returncode == 0
    expected = {p.name: p.read_text() for p in daemon_dir.iterdir()}
    assert sorted(expected) == first["files"]
    assert {name: (path / name).read_text() for name in expected} == expected

    kea_db.kea_sql("DELETE FROM hosts WHERE hostname = 'us3-cab11-ru02-ilo'")
    run = run_tasks([dict(files_task(path), check_mode=True), files_task(path)], env=kea_db.env())
    in_check, removal = run.results
    assert (in_check["changed"], in_check["removed"]) == (True, ["us3-cab11-discovery.yml"])
    assert (removal["changed"], removal["removed"]) == (True, ["us3-cab11-discovery.yml"])
    assert sorted(p.name for p in path.iterdir()) == ["handmade.yml", "us3-cab10-discovery.yml"]


def test_bad_input_fails_naming_the_field_and_writes_nothing(kea_db, tmp_path):
    kea_db.kea_sql(INSERT, ("0a0000000001", "10.99.0.11", "us3-cab10-ru20-idrac"))
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    run = run_tasks([files_task(blocker / "sub"), files_task(tmp_path / "d", hostname_filter=[]),
                     files_task(tmp_path / "d", naming_pattern="(?P<site>x)"), files_task(tmp_path / "d", db_port=1)],
                    env=kea_db.env())
    not_a_dir, no_filter, pattern, unreachable = run.results
    assert not_a_dir["failed"] and not_a_dir["msg"].startswith(f"path: invalid value '{blocker / 'sub'}'")
    assert no_filter["failed"] and no_filter["msg"].startswith("hostname_filter: invalid value []")
    assert pattern["failed"] and "naming_pattern" in pattern["msg"] and "cabinet" in pattern["msg"]
    assert unreachable["failed"] and "cannot connect to PostgreSQL 127.0.0.1:1" in unreachable["msg"]
    assert not (tmp_path / "d").exists()
