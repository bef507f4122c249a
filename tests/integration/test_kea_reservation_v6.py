"""ddi.kea_dns.kea_reservation and kea_reservation_info with DHCPv6 reservations (family 6) against a real PostgreSQL
with Kea's schema (hosts + ipv6_reservations), through ansible-playbook."""

from __future__ import annotations

import pytest

from tests.harness.ansible import run_tasks

DUID = "00:03:00:01:aa:bb:cc:dd:ee:ff"
BASE = {"family": 6, "duid": DUID, "subnet_id": 10, "ipv6_addresses": ["2001:db8:10::20"], "hostname": "us3-cab10-ru20-idrac"}
KEY = f"v6 subnet 10 duid {DUID}"


def reservation(args: dict) -> dict:
    return {"ddi.kea_dns.kea_reservation": args}


def hosts(pg) -> list[tuple]:
    return pg.kea_sql("SELECT encode(dhcp_identifier, 'hex'), dhcp_identifier_type, dhcp4_subnet_id, dhcp6_subnet_id, hostname "
                      "FROM hosts ORDER BY host_id")


def addresses(pg) -> list[tuple]:
    return pg.kea_sql("SELECT h.hostname, host(r.address::inet), r.prefix_len, r.type FROM ipv6_reservations r "
                      "JOIN hosts h USING (host_id) ORDER BY h.hostname, r.type, r.address")


def v6_batch(count: int, subnet: int = 10, first: int = 0) -> list[dict]:
    return [{"duid": f"00:01:00:01:{n >> 8:02x}:{n & 255:02x}:00:00:00:01", "subnet_id": subnet, "ipv6_addresses": [f"2001:db8:{subnet}::{n:x}"],
             "hostname": f"us3-cab{n // 40:02d}-ru{n % 40:02d}-idrac"} for n in range(first + 1, first + count + 1)]


def test_check_apply_reapply_diff_move_absent(kea_db):
    moved = {**BASE, "ipv6_addresses": ["2001:db8:10::21"], "prefixes": ["2001:db8:1:100::/56"]}
    run = run_tasks([
        dict(reservation(BASE), check_mode=True),
        reservation(BASE),
        reservation(BASE),
        dict(reservation(moved), diff=True),
        {"ddi.kea_dns.kea_reservation_info": {"family": 6, "ip": "2001:db8:10::21"}},
        {"ddi.kea_dns.kea_reservation_info": {}},
    ], env=kea_db.env())
    check, apply, again, move, info, info_v4 = run.results
    assert check["changed"] and check["summary"]["created"] == 1
    assert apply["changed"] and apply["reservation"]["family"] == 6 and apply["reservation"]["ipv6_addresses"] == ["2001:db8:10::20"]
    assert apply["reservation"]["identifier_type"] == "duid" and apply["reservation"]["ip"] is None
    assert again["changed"] is False and again["summary"]["unchanged"] == 1
    assert move["diff"]["before"][KEY]["ipv6_addresses"] == ["2001:db8:10::20"]
    assert move["diff"]["after"][KEY]["ipv6_addresses"] == ["2001:db8:10::21"]
    assert move["diff"]["after"][KEY]["prefixes"] == ["2001:db8:1:100::/56"]
    assert [r["hostname"] for r in info["reservations"]] == ["us3-cab10-ru20-idrac"] and info["reservations"][0]["site"] == "us3"
    assert info_v4["reservations"] == []  # a DHCPv6 reservation is not listed as a DHCPv4 one
    # A DUID is written with Kea's duid type (1), in dhcp6_subnet_id, its address and prefix in ipv6_reservations.
    assert hosts(kea_db) == [("00030001aabbccddeeff", 1, None, 10, "us3-cab10-ru20-idrac")]
    assert addresses(kea_db) == [("us3-cab10-ru20-idrac", "2001:db8:10::21", 128, 0), ("us3-cab10-ru20-idrac", "2001:db8:1:100::", 56, 2)]

    gone = {"family": 6, "duid": DUID, "subnet_id": 10, "state": "absent"}
    run = run_tasks([dict(reservation(gone), check_mode=True), reservation(gone), reservation(gone)], env=kea_db.env())
    assert [r["changed"] for r in run.results] == [True, True, False]
    assert hosts(kea_db) == [] and addresses(kea_db) == []


def test_batch_of_1000_prune_and_idempotence(kea_db):
    items = v6_batch(1000)
    task = {"ddi.kea_dns.kea_reservation": {"family": 6, "subnet_id": 10, "reservations": "{{ items }}"}}
    prune = {"ddi.kea_dns.kea_reservation": {"family": 6, "subnet_id": 10, "prune": True, "reservations": "{{ items[:10] }}"}}
    kea_db.kea_sql("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp6_subnet_id, hostname) "
                   "VALUES (decode('0001000100ff', 'hex'), 1, 10, 'hand-made')")
    run = run_tasks([dict(task, check_mode=True), task, task, dict(prune, check_mode=True), prune], env=kea_db.env(), variables={"items": items})
    check, apply, again, prune_check, pruned = run.results
    assert check["summary"]["created"] == 1000 and apply["summary"]["created"] == 1000
    assert apply["changes"][0] == {"action": "create", "subnet_id": 10, "identifier": "00:01:00:01:00:01:00:00:00:01", "ip": None,
                                   "hostname": "us3-cab00-ru01-idrac", "family": 6, "ipv6_addresses": ["2001:db8:10::1"]}
    assert again["changed"] is False and again["summary"]["unchanged"] == 1000
    assert prune_check["summary"]["deleted"] == 990 and pruned["summary"]["deleted"] == 990
    assert kea_db.kea_sql("SELECT count(*) FROM hosts") == [(11,)]  # 10 kept and the hand-made one (not marked)
    assert kea_db.kea_sql("SELECT count(*) FROM ipv6_reservations") == [(10,)]


def test_an_address_held_by_another_reservation_is_refused_then_replaced(kea_db):
    other = {"family": 6, "duid": "00:01:00:01:00:00:00:00:00:99", "subnet_id": 11, "ipv6_addresses": ["2001:db8:10::20"], "hostname": "other"}
    run = run_tasks([reservation(other), reservation(BASE), reservation({**BASE, "ip_conflict": "replace"})], env=kea_db.env())
    made, refused, replaced = run.results
    assert made["changed"] and refused["failed"]
    assert refused["msg"].startswith("ipv6_addresses: 2001:db8:10::20 in the DHCPv6 reservations is already reserved for "
                                     "v6 subnet 11 duid 00:01:00:01:00:00:00:00:00:99 (hostname other)"), refused["msg"]
    assert replaced["changed"] and replaced["summary"] == {"created": 1, "updated": 0, "deleted": 1, "unchanged": 0}
    assert [row[4] for row in hosts(kea_db)] == ["us3-cab10-ru20-idrac"]


@pytest.mark.parametrize(("args", "field", "cause"), [
    ({"ipv6_addresses": ["10.99.0.5"]}, "ipv6_addresses[0]", "an IPv4 address goes in ip"),
    ({"ipv6_addresses": ["2001:db8:10::20/64"]}, "ipv6_addresses[0]", "prefixes"),
    ({"prefixes": ["2001:db8:1::/129"]}, "prefixes[0]", "1 to 128"),
    ({"prefixes": ["2001:db8:1::1/56"]}, "prefixes[0]", "host bits set"),
    ({"ip": "10.99.0.5"}, "ip", "family 4"),
    ({"family": 4, "subnet_id": 1}, "ipv6_addresses", "family 6"),
    ({"duid": "00:01:0"}, "identifier", "hex digit pairs"),
    ({"duid": ":".join(["ab"] * 129)}, "identifier", "longer than the 128 bytes"),
    ({"ipv6_addresses": ["2001:db8:10::20", "2001:db8:10:0::20"]}, "ipv6_addresses", "given twice"),
])
def test_bad_input_names_the_field_and_writes_nothing(kea_db, args, field, cause):
    run = run_tasks([reservation({**BASE, **args})], env=kea_db.env())
    assert run[0]["failed"] is True and run[0]["msg"].startswith(f"{field}: ") and cause in run[0]["msg"], run[0]["msg"]
    assert hosts(kea_db) == []


def test_a_row_with_both_families_keeps_the_other_one(kea_db):
    """Kea's own tools may write one hosts row with a DHCPv4 and a DHCPv6 reservation (host row first, addresses after):
    each family's reservation is listed and removed on its own, and removing one keeps the other."""
    kea_db.kea_sql("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, dhcp6_subnet_id, hostname) "
                   "VALUES (decode('aabbccddee01', 'hex'), 0, 1, ('10.99.0.9'::inet - '0.0.0.0'::inet), 10, 'both-idrac')")
    kea_db.kea_sql("INSERT INTO ipv6_reservations (address, prefix_len, type, host_id) "
                   "SELECT '2001:db8:10::9', 128, 0, host_id FROM hosts WHERE hostname = 'both-idrac'")
    both = {"mac": "aa:bb:cc:dd:ee:01", "subnet_id": 1}
    run = run_tasks([
        {"ddi.kea_dns.kea_reservation_info": {"family": 6}},
        {"ddi.kea_dns.kea_reservation_info": {"family": 4}},
        reservation({**both, "family": 6, "subnet_id": 10, "state": "absent"}),
        {"ddi.kea_dns.kea_reservation_info": {"family": 4}},
        reservation({**both, "state": "absent"}),
    ], env=kea_db.env())
    v6, v4, removed_v6, v4_after, removed_v4 = run.results
    assert v6["reservations"][0]["ipv6_addresses"] == ["2001:db8:10::9"] and v6["reservations"][0]["family"] == 6
    assert v4["reservations"][0]["ip"] == "10.99.0.9"
    assert removed_v6["changed"] and v4_after["reservations"][0]["ip"] == "10.99.0.9"
    assert removed_v4["changed"] and hosts(kea_db) == [] and addresses(kea_db) == []
