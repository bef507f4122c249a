"""ddi.kea_dns.kea_reservation against a real PostgreSQL with Kea's schema, through ansible-playbook."""

from __future__ import annotations

import ipaddress

import pytest

from tests.harness.ansible import run_tasks

MAC = "aa:bb:cc:dd:ee:ff"
BASE = {"mac": MAC, "subnet_id": 1, "ip": "10.99.0.50", "hostname": "us3-cab10-ru20-idrac"}


def reservation(args: dict) -> dict:
    return {"ddi.kea_dns.kea_reservation": args}


def rows(pg, where: str = "TRUE") -> list[tuple]:
    return pg.kea_sql(
        "SELECT encode(dhcp_identifier, 'hex'), dhcp_identifier_type, dhcp4_subnet_id, host('0.0.0.0'::inet + ipv4_address), "
        f"hostname, user_context FROM hosts WHERE {where} ORDER BY host_id"
    )


def test_check_apply_reapply_diff_absent(kea_db):
    moved = {**BASE, "ip": "10.99.0.51"}
    run = run_tasks([
        dict(reservation(BASE), check_mode=True),
        reservation(BASE),
        reservation(BASE),
        dict(reservation(moved), diff=True),
        dict(reservation({"mac": MAC, "subnet_id": 1, "state": "absent"}), check_mode=True),
    ], env=kea_db.env())
    check, apply, again, move, absent_check = run.results
    assert check["changed"] is True and check["summary"]["created"] == 1
    assert apply["changed"] is True and apply["reservation"]["ip"] == "10.99.0.50"
    assert again["changed"] is False and again["summary"]["unchanged"] == 1
    assert move["changed"] is True
    key = "subnet 1 hw-address aa:bb:cc:dd:ee:ff"
    assert move["diff"]["before"][key]["ip"] == "10.99.0.50"
    assert move["diff"]["after"][key]["ip"] == "10.99.0.51"
    assert absent_check["changed"] is True
    # A MAC is written with Kea's hw-address type (0), never DUID (1); check mode wrote nothing extra.
    assert rows(kea_db) == [("aabbccddeeff", 0, 1, "10.99.0.51", "us3-cab10-ru20-idrac", '{"managed-by": "ddi.kea_dns"}')]

    run = run_tasks([reservation({"mac": MAC, "subnet_id": 1, "state": "absent"}), reservation({"mac": MAC, "subnet_id": 1, "state": "absent"})],
                    env=kea_db.env())
    assert [r["changed"] for r in run.results] == [True, False]
    assert rows(kea_db) == []


def test_check_mode_writes_nothing(kea_db):
    run = run_tasks([reservation(BASE)], env=kea_db.env(), args=["--check", "--diff"])
    assert run[0]["changed"] is True
    assert run[0]["diff"]["after"]["subnet 1 hw-address aa:bb:cc:dd:ee:ff"]["hostname"] == "us3-cab10-ru20-idrac"
    assert rows(kea_db) == []


def test_fields_and_user_context_kept(kea_db):
    full = {**BASE, "client_classes": ["bmc", "ipmi"], "next_server": "10.99.0.1", "server_hostname": "tftp1",
            "boot_file_name": "pxelinux.0", "user_context": {"rack": "r1"}}
    run = run_tasks([reservation(full), reservation(BASE), reservation({**BASE, "boot_file_name": ""})], env=kea_db.env())
    first, same_without_fields, cleared = run.results
    assert first["reservation"]["client_classes"] == ["bmc", "ipmi"]
    assert first["reservation"]["user_context"] == {"rack": "r1", "managed-by": "ddi.kea_dns"}
    assert same_without_fields["changed"] is False  # options left out keep their value
    assert cleared["changed"] is True and cleared["reservation"]["boot_file_name"] is None
    got = kea_db.kea_sql("SELECT dhcp4_client_classes, host('0.0.0.0'::inet + dhcp4_next_server), dhcp4_server_hostname FROM hosts")
    assert got == [("bmc,ipmi", "10.99.0.1", "tftp1")]


def test_ip_conflict_refused_then_replaced(kea_db):
    kea_db.kea_sql("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) "
                   "VALUES (decode('001122334455', 'hex'), 0, 1, '10.99.0.50'::inet - '0.0.0.0'::inet, 'other-host')")
    run = run_tasks([reservation(BASE), reservation({**BASE, "subnet_id": 2}), reservation({**BASE, "ip_conflict": "replace"})],
                    env=kea_db.env())
    refused, other_subnet, replaced = run.results
    assert refused["failed"] is True
    assert "10.99.0.50" in refused["msg"] and "00:11:22:33:44:55" in refused["msg"] and "ip_conflict=replace" in refused["msg"]
    assert other_subnet["changed"] is True  # the same IP in another subnet is no conflict
    assert replaced["changed"] is True and replaced["summary"] == {"created": 1, "updated": 0, "deleted": 1, "unchanged": 0}
    assert [r[0] for r in rows(kea_db, "dhcp4_subnet_id = 1")] == ["aabbccddeeff"]


@pytest.mark.parametrize(("args", "field", "value"), [
    ({"mac": "aa:bb:cc:dd:ee:zz"}, "identifier", "aa:bb:cc:dd:ee:zz"),
    ({"ip": "10.99.0.300"}, "ip", "10.99.0.300"),
    ({"hostname": "us3 cab10'; DROP TABLE hosts; --"}, "hostname", "us3 cab10"),
    ({"hostname": "a" * 64 + ".example.com"}, "hostname", "a" * 20),
    ({"subnet_id": -1}, "subnet_id", "-1"),
    ({"next_server": "not-an-ip"}, "next_server", "not-an-ip"),
])
def test_bad_single_input_names_field_and_writes_nothing(kea_db, args, field, value):
    run = run_tasks([reservation({**BASE, **args})], env=kea_db.env())
    assert run[0]["failed"] is True
    assert run[0]["msg"].startswith(f"{field}: invalid value"), run[0]["msg"]
    assert value in run[0]["msg"]
    assert rows(kea_db) == []
    assert kea_db.kea_sql("SELECT to_regclass('hosts') IS NOT NULL") == [(True,)]


def test_mac_of_five_octets_refused_other_lengths_only_with_hw_address_length(kea_db):
    """Issue 17: `mac: aa:bb:cc:dd:ee` was written as a 5-octet hardware address no Ethernet client can present."""
    infiniband = "80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:bc:de"
    cause = "5 octets; a MAC address (EUI-48) has 6"
    run = run_tasks([
        reservation({**BASE, "mac": "aa:bb:cc:dd:ee"}),
        reservation({"subnet_id": 1, "reservations": [{"mac": "aa:bb:cc:00:00:01", "ip": "10.99.0.61"}, {"mac": "aa-bb-cc-00-00", "ip": "10.99.0.62"}]}),
        reservation({**BASE, "mac": infiniband, "ip": "10.99.0.70"}),
        reservation({"identifier": infiniband, "subnet_id": 1, "ip": "10.99.0.70", "hostname": "us3-cab10-ru30-ib0"}),
    ], env=kea_db.env())
    single, in_batch, long_mac, long_identifier = run.results
    assert single["failed"] is True
    assert single["msg"].startswith(f"identifier: invalid value 'aa:bb:cc:dd:ee': {cause}"), single["msg"]
    assert in_batch["failed"] is True
    assert in_batch["msg"].startswith(f"reservations[1].identifier: invalid value 'aa-bb-cc-00-00': {cause}"), in_batch["msg"]
    assert long_mac["failed"] is True and "20 octets; a MAC address (EUI-48) has 6" in long_mac["msg"]
    assert long_identifier["failed"] is True and "20 octets; a MAC address (EUI-48) has 6" in long_identifier["msg"]
    assert rows(kea_db) == []  # nothing written, not even the valid first item of the batch

    # Another hardware-address length only with the explicit option, as Kea's type 0 (hw-address).
    run = run_tasks([
        reservation({"identifier": infiniband, "hw_address_length": 20, "subnet_id": 1, "ip": "10.99.0.70", "hostname": "us3-cab10-ru30-ib0"}),
        reservation({"identifier": infiniband, "hw_address_length": 20, "subnet_id": 1, "ip": "10.99.0.70", "hostname": "us3-cab10-ru30-ib0"}),
    ], env=kea_db.env())
    written, again = run.results
    assert written["changed"] is True, written.get("msg")
    assert written["reservation"]["identifier"] == infiniband and written["reservation"]["identifier_type"] == "hw-address"
    assert again["changed"] is False
    assert [row[:4] for row in rows(kea_db)] == [(infiniband.replace(":", ""), 0, 1, "10.99.0.70")]

    # A 5-octet reservation already in the table (written before the check) is found and removed the same way.
    kea_db.kea_sql("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) "
                   "VALUES (decode('aabbccddee', 'hex'), 0, 1, '10.99.0.71'::inet - '0.0.0.0'::inet, 'legacy-five')")
    run = run_tasks([
        {"ddi.kea_dns.kea_reservation_info": {"identifier": "aa:bb:cc:dd:ee"}},
        reservation({"identifier": "aa:bb:cc:dd:ee", "hw_address_length": 5, "subnet_id": 1, "state": "absent"}),
    ], env=kea_db.env())
    found, removed = run.results
    assert [r["hostname"] for r in found["reservations"]] == ["legacy-five"], found.get("msg")
    assert removed["changed"] is True, removed.get("msg")
    assert [row[4] for row in rows(kea_db)] == ["us3-cab10-ru30-ib0"]


def batch(count: int, subnet: int = 1, start: int = 0) -> list[dict]:
    first = int(ipaddress.IPv4Address(f"10.{100 + subnet}.0.1"))
    return [{"mac": f"02:00:00:00:{(i >> 8) & 0xFF:02x}:{i & 0xFF:02x}", "ip": str(ipaddress.IPv4Address(first + i)),
             "hostname": f"us3-cab{i // 40:02d}-ru{i % 40:02d}-idrac"} for i in range(start, start + count)]


def test_batch_of_1000_in_one_task(kea_db):
    items = batch(1000)
    task = {"ddi.kea_dns.kea_reservation": {"subnet_id": 1, "reservations": "{{ items }}"}}
    run = run_tasks([dict(task, check_mode=True), task, task], env=kea_db.env(), variables={"items": items})
    check, apply, again = run.results
    assert check["summary"]["created"] == 1000
    assert apply["summary"] == {"created": 1000, "updated": 0, "deleted": 0, "unchanged": 0}
    assert len(apply["changes"]) == 1000 and apply["changes"][0]["action"] == "create"
    assert again["changed"] is False and again["summary"]["unchanged"] == 1000
    assert kea_db.kea_sql("SELECT count(*), count(DISTINCT ipv4_address) FROM hosts WHERE dhcp_identifier_type = 0") == [(1000, 1000)]


def test_batch_with_one_bad_item_writes_nothing(kea_db):
    items = batch(1000)
    items[500]["mac"] = "02:00:00:00:01:f4:zz"
    duplicate_ip = batch(3)
    duplicate_ip[2]["ip"] = duplicate_ip[0]["ip"]
    run = run_tasks([
        {"ddi.kea_dns.kea_reservation": {"subnet_id": 1, "reservations": "{{ items }}"}},
        {"ddi.kea_dns.kea_reservation": {"subnet_id": 1, "reservations": "{{ duplicate_ip }}"}},
    ], env=kea_db.env(), variables={"items": items, "duplicate_ip": duplicate_ip})
    bad_mac, bad_ip = run.results
    assert bad_mac["failed"] is True
    assert bad_mac["msg"].startswith("reservations[500].identifier: invalid value '02:00:00:00:01:f4:zz'"), bad_mac["msg"]
    assert bad_ip["failed"] is True and "reservations[0] and reservations[2]" in bad_ip["msg"]
    assert rows(kea_db) == []


def test_batch_atomic_on_database_error(kea_db):
    """A database-level failure in the middle of the batch rolls the whole transaction back."""
    kea_db.kea_sql("ALTER TABLE hosts ADD CONSTRAINT test_no_bad_host CHECK (hostname IS DISTINCT FROM 'us3-cab12-ru20-idrac')")
    try:
        run = run_tasks([{"ddi.kea_dns.kea_reservation": {"subnet_id": 1, "reservations": "{{ items }}"}}],
                        env=kea_db.env(), variables={"items": batch(1000)})
        assert run[0]["failed"] is True and "test_no_bad_host" in run[0]["msg"]
        assert rows(kea_db) == []
    finally:
        kea_db.kea_sql("ALTER TABLE hosts DROP CONSTRAINT test_no_bad_host")


def test_prune_removes_only_managed_in_named_subnets(kea_db):
    kea_db.kea_sql("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) "
                   "VALUES (decode('0000000000aa', 'hex'), 0, 1, 3232235777, 'hand-made')")
    first = batch(5)
    run = run_tasks([
        {"ddi.kea_dns.kea_reservation": {"subnet_id": 1, "reservations": first}},
        {"ddi.kea_dns.kea_reservation": {"subnet_id": 2, "reservations": batch(2, subnet=2)}},
        {"ddi.kea_dns.kea_reservation": {"subnet_id": 1, "prune": True, "reservations": first[:2]}},
        {"ddi.kea_dns.kea_reservation": {"prune": True, "prune_subnet_ids": [2], "reservations": []}},
    ], env=kea_db.env())
    assert [r.get("changed") for r in run.results] == [True, True, True, True]
    assert run[2]["summary"]["deleted"] == 3
    remaining = rows(kea_db)
    assert sorted(r[4] for r in remaining) == ["hand-made", "us3-cab00-ru00-idrac", "us3-cab00-ru01-idrac"]


def test_ip_swap_in_one_batch(kea_db):
    pair = batch(2)
    swapped = [dict(pair[0], ip=pair[1]["ip"]), dict(pair[1], ip=pair[0]["ip"])]
    run = run_tasks([
        {"ddi.kea_dns.kea_reservation": {"subnet_id": 1, "reservations": pair}},
        {"ddi.kea_dns.kea_reservation": {"subnet_id": 1, "reservations": swapped}},
    ], env=kea_db.env())
    assert run[1]["summary"]["updated"] == 2
    assert {r[0]: r[3] for r in rows(kea_db)} == {"020000000000": "10.101.0.2", "020000000001": "10.101.0.1"}
