"""Unit tests of the reservation model and plan (no servers)."""

from __future__ import annotations

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import ConflictError, InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.fields import (
    MANAGED_KEY,
    MANAGED_VALUE,
    format_identifier,
    int_to_ipv4,
    ipv4_to_int,
    parse_hostname,
    parse_hw_address_length,
    parse_identifier,
    parse_ipv4,
    parse_mac,
    parse_subnet_id,
)
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Reservation, ReservationKey, desired_from_params
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.plan import plan_reservations

MAC = bytes.fromhex("aabbccddeeff")


@pytest.mark.parametrize("text", ["aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF", "aabb.ccdd.eeff", "aabbccddeeff"])
def test_mac_notations(text):
    assert parse_identifier(text, 0) == MAC
    assert format_identifier(MAC) == "aa:bb:cc:dd:ee:ff"


@pytest.mark.parametrize("text", ["aa:bb:cc:dd:ee:f", "gg:bb:cc:dd:ee:ff", "", "aa bb cc dd ee ff", "00" * 21])
def test_bad_mac(text):
    with pytest.raises(InvalidInputError) as error:
        parse_identifier(text, 0, "reservations[3].identifier")
    assert str(error.value).startswith("reservations[3].identifier: invalid value")


def test_long_duid_allowed():
    assert len(parse_identifier("00" * 128, 1)) == 128


@pytest.mark.parametrize("text", ["AA:BB:CC:DD:EE:FF", "aa-bb-cc-dd-ee-ff", "AABB.CCDD.EEFF", "AaBbCcDdEeFf", " aa:bb:cc:dd:ee:ff "])
def test_mac_notations_any_case(text):
    assert parse_mac(text) == MAC
    assert parse_identifier(text, 0) == MAC


@pytest.mark.parametrize(("text", "octets"), [("aa:bb:cc:dd:ee", 5), ("aabbccddee", 5), ("aa-bb-cc-dd-ee-ff-00", 7),
                                              ("00" * 20, 20), ("aa", 1)])
def test_a_mac_has_six_octets(text, octets):
    """Issue 17: a 5-octet "MAC" was written as a hardware address no Ethernet client can present."""
    for parse in (lambda: parse_mac(text, "identifier"), lambda: parse_identifier(text, 0)):
        with pytest.raises(InvalidInputError) as error:
            parse()
        assert (error.value.field, error.value.value) == ("identifier", text)
        assert error.value.reason.startswith(f"{octets} octets; a MAC address (EUI-48) has 6"), error.value.reason
        assert "hw_address_length" in error.value.reason  # says how to give another length


@pytest.mark.parametrize("text", ["aa:bb-cc:dd-ee:ff", "aab.bcc.dde.eff", "aabb:ccdd:eeff", "aabb.cc.dd.eeff",
                                  "aa:bb:cc:dd:ee:ff:", "aa::bb:cc:dd:ee:ff"])
def test_unusual_mac_groupings_refused(text):
    with pytest.raises(InvalidInputError, match="^identifier: invalid value .*(MAC address notation|not a valid MAC)"):
        parse_identifier(text, 0)


def test_other_hardware_address_lengths_only_with_hw_address_length():
    infiniband = "80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:bc:de"
    assert len(parse_identifier(infiniband, 0, hw_address_length=20)) == 20
    assert parse_identifier("aa:bb:cc:dd:ee", 0, hw_address_length=5) == bytes.fromhex("aabbccddee")
    with pytest.raises(InvalidInputError, match="^identifier: invalid value 'aa:bb:cc:dd:ee:ff': 6 octets; hw_address_length is 20$"):
        parse_identifier("aa:bb:cc:dd:ee:ff", 0, hw_address_length=20)
    # A lookup takes any length Kea stores; the limit stays.
    assert parse_identifier("aa:bb:cc:dd:ee", 0, hw_address_length=None) == bytes.fromhex("aabbccddee")
    with pytest.raises(InvalidInputError, match="21 bytes is longer than the 20 bytes"):
        parse_identifier("00" * 21, 0, hw_address_length=None)
    # Other identifier types do not look at it.
    assert parse_identifier("01:02:03", 4, hw_address_length=6) == b"\x01\x02\x03"


@pytest.mark.parametrize("value", [0, 21, -6, True, "6", None])
def test_bad_hw_address_length(value):
    with pytest.raises(InvalidInputError, match="^hw_address_length: invalid value .*1 to 20 octets"):
        parse_hw_address_length(value)


def test_ipv4_bigint_round_trip():
    assert ipv4_to_int("10.99.0.50") == 174260274
    assert int_to_ipv4(174260274) == "10.99.0.50"
    assert int_to_ipv4(0) is None and int_to_ipv4(None) is None


@pytest.mark.parametrize("text", ["10.99.0.256", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "abc"])
def test_bad_ipv4(text):
    with pytest.raises(InvalidInputError, match="^ip: invalid value"):
        parse_ipv4(text)


@pytest.mark.parametrize("value", [-1, 4294967295, "x", True])
def test_bad_subnet_id(value):
    with pytest.raises(InvalidInputError, match="^subnet_id: invalid value"):
        parse_subnet_id(value)


def test_subnet_id_limits():
    assert parse_subnet_id(0) == 0
    assert parse_subnet_id(4294967294) == 4294967294


@pytest.mark.parametrize("name", ["US3-CAB10-RU20-IDRAC", "a", "a" * 63, ".".join(["a" * 63] * 3) + "." + "a" * 61])
def test_good_hostnames(name):
    assert parse_hostname(name) == name.lower()


@pytest.mark.parametrize("name", ["-bad", "bad-", "a b", "a'b", "a" * 64, "a..b", "a.", ".".join(["a" * 63] * 4), "under_score", "bmc\n", "bmc\n.site"])
def test_bad_hostnames(name):
    with pytest.raises(InvalidInputError, match="^hostname: invalid value"):
        parse_hostname(name)


def current(mac: str, ip: str | None, subnet: int = 1, managed: bool = True, hostname: str = "h", host_id: int = 1) -> Reservation:
    return Reservation(
        key=ReservationKey(subnet, 0, bytes.fromhex(mac)), ip=ip, hostname=hostname,
        user_context={MANAGED_KEY: MANAGED_VALUE} if managed else None, host_id=host_id,
    )


def want(mac: str, ip: str | None = None, subnet: int = 1, state: str = "present", source: str = "reservation", **extra):
    return desired_from_params(dict(identifier=mac, subnet_id=subnet, ip=ip, state=state, **extra), source)


def test_plan_create_update_unchanged_delete():
    now = [current("000000000001", "10.0.0.1"), current("000000000002", "10.0.0.2", hostname="x")]
    plan = plan_reservations(now, [
        want("000000000001", "10.0.0.1", hostname="h"),
        want("000000000002", "10.0.0.3"),
        want("000000000003", "10.0.0.4"),
        want("000000000004", state="absent"),
    ])
    assert plan.summary() == {"created": 1, "updated": 1, "deleted": 0, "unchanged": 2}
    before, after = plan.update[0]
    assert (before.ip, after.ip, after.hostname) == ("10.0.0.2", "10.0.0.3", "x")
    assert plan.create[0].managed
    diff = plan.diff()
    assert diff["before"]["subnet 1 hw-address 00:00:00:00:00:02"]["ip"] == "10.0.0.2"
    assert diff["after"]["subnet 1 hw-address 00:00:00:00:00:03"]["ip"] == "10.0.0.4"


def test_adopting_unmanaged_reservation_marks_it():
    plan = plan_reservations([current("000000000001", "10.0.0.1", managed=False)], [want("000000000001", "10.0.0.1")])
    assert len(plan.update) == 1 and plan.update[0][1].managed


def test_conflict_fail_and_replace():
    now = [current("000000000009", "10.0.0.1", hostname="other")]
    with pytest.raises(ConflictError, match="10.0.0.1 in subnet 1 is already reserved for subnet 1 hw-address 00:00:00:00:00:09"):
        plan_reservations(now, [want("000000000001", "10.0.0.1")])
    plan = plan_reservations(now, [want("000000000001", "10.0.0.1")], ip_conflict="replace")
    assert [r.hostname for r in plan.delete] == ["other"] and len(plan.create) == 1


def test_no_conflict_when_other_holder_moves_away_or_other_subnet():
    now = [current("000000000001", "10.0.0.1"), current("000000000002", "10.0.0.2", subnet=2)]
    plan = plan_reservations(now, [want("000000000001", "10.0.0.9"), want("000000000003", "10.0.0.1"),
                                   want("000000000004", "10.0.0.2")])
    assert plan.summary()["created"] == 2


def test_duplicate_items_and_duplicate_ips_in_batch():
    with pytest.raises(InvalidInputError, match="also given as reservations\\[0\\]"):
        plan_reservations([], [want("000000000001", source="reservations[0]"), want("000000000001", source="reservations[1]")])
    with pytest.raises(InvalidInputError, match="reservations\\[0\\] and reservations\\[1\\]"):
        plan_reservations([], [want("000000000001", "10.0.0.1", source="reservations[0]"),
                               want("000000000002", "10.0.0.1", source="reservations[1]")])


def test_prune_only_managed_in_named_subnets():
    now = [current("000000000001", "10.0.0.1", host_id=1), current("000000000002", "10.0.0.2", managed=False, host_id=2),
           current("000000000003", "10.0.0.3", subnet=2, host_id=3)]
    plan = plan_reservations(now, [], prune_subnets={(4, 1)})
    assert [r.host_id for r in plan.delete] == [1]


def test_empty_string_clears_and_user_context_merges():
    now = [Reservation(key=ReservationKey(1, 0, bytes.fromhex("000000000001")), hostname="h", boot_file_name="pxe",
                       user_context={"rack": "r1"}, host_id=1)]
    plan = plan_reservations(now, [want("000000000001", boot_file_name="", hostname="h")])
    after = plan.update[0][1]
    assert after.boot_file_name is None and after.user_context == {"rack": "r1", MANAGED_KEY: MANAGED_VALUE}


def test_defaults_from_task_level():
    item = desired_from_params({"identifier": "aa:bb:cc:dd:ee:ff"}, "reservations[0]", {"subnet_id": 7, "state": "absent"})
    assert item.key.subnet_id == 7 and item.present is False
    with pytest.raises(InvalidInputError, match="^reservations\\[0\\].subnet_id"):
        desired_from_params({"identifier": "aa:bb:cc:dd:ee:ff"}, "reservations[0]")


def test_reservation_mac_of_five_octets_names_field_value_and_cause():
    for params, source, field in (({"identifier": "aa:bb:cc:dd:ee", "subnet_id": 1}, "reservation", "identifier"),
                                  ({"mac": "aa:bb:cc:dd:ee", "subnet_id": 1}, "reservation", "identifier"),
                                  ({"mac": "aa:bb:cc:dd:ee", "subnet_id": 1}, "reservations[4]", "reservations[4].identifier")):
        with pytest.raises(InvalidInputError) as error:
            desired_from_params(params, source)
        assert str(error.value).startswith(f"{field}: invalid value 'aa:bb:cc:dd:ee': 5 octets; a MAC address (EUI-48) has 6"), str(error.value)


def test_reservation_hw_address_length_option_and_default():
    infiniband = "80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:bc:de"
    item = desired_from_params({"identifier": infiniband, "hw_address_length": 20, "subnet_id": 1}, "reservation")
    assert item.key == ReservationKey(1, 0, bytes.fromhex(infiniband.replace(":", "")))
    # In a batch the task's value is the default of every item; an item may set its own.
    defaults = {"hw_address_length": 20, "subnet_id": 1}
    assert len(desired_from_params({"identifier": infiniband}, "reservations[0]", defaults).key.identifier) == 20
    assert desired_from_params({"identifier": "aa:bb:cc:dd:ee:ff", "hw_address_length": 6}, "reservations[1]", defaults).key.identifier == MAC
    with pytest.raises(InvalidInputError, match=r"^reservations\[2\].identifier: invalid value 'aa:bb:cc:dd:ee:ff': 6 octets; hw_address_length is 20"):
        desired_from_params({"identifier": "aa:bb:cc:dd:ee:ff"}, "reservations[2]", defaults)
    with pytest.raises(InvalidInputError, match=r"^reservations\[3\].hw_address_length: invalid value 40"):
        desired_from_params({"identifier": infiniband, "hw_address_length": 40}, "reservations[3]", defaults)
    # mac is always a MAC address, whatever hw_address_length says.
    assert desired_from_params({"mac": "aa:bb:cc:dd:ee:ff"}, "reservations[4]", defaults).key.identifier == MAC
    with pytest.raises(InvalidInputError, match=r"^reservations\[5\].identifier: invalid value .*: 20 octets; a MAC address \(EUI-48\) has 6"):
        desired_from_params({"mac": infiniband, "hw_address_length": 20}, "reservations[5]", defaults)


def test_item_alias_and_unknown_option():
    assert desired_from_params({"mac": "aa:bb:cc:dd:ee:ff", "subnet_id": 1}, "reservations[0]").key.identifier == MAC
    with pytest.raises(InvalidInputError, match=r"^reservations\[2\]: invalid value 'adress': unknown option"):
        desired_from_params({"mac": "aa:bb:cc:dd:ee:ff", "subnet_id": 1, "adress": "x"}, "reservations[2]")
    with pytest.raises(InvalidInputError, match="not both"):
        desired_from_params({"mac": "aa:bb:cc:dd:ee:ff", "identifier": "aa:bb:cc:dd:ee:00", "subnet_id": 1}, "reservations[0]")


def v6(duid: str, *addresses: str, subnet: int = 10, managed: bool = True, host_id: int = 1, **extra) -> Reservation:
    return Reservation(key=ReservationKey(subnet, 1, bytes.fromhex(duid), family=6), hostname="h", ipv6_addresses=tuple(addresses),
                       user_context={MANAGED_KEY: MANAGED_VALUE} if managed else None, host_id=host_id, **extra)


def test_a_dhcpv6_item_is_its_own_reservation_with_canonical_addresses():
    item = desired_from_params({"duid": "00:01:00:01:AA:BB", "subnet_id": 10, "family": 6, "ipv6_addresses": ["2001:DB8:0:0::20"],
                                "prefixes": ["2001:db8:1:100:0::/56"]}, "reservation")
    assert item.key == ReservationKey(10, 1, bytes.fromhex("00010001aabb"), family=6) and item.key.label() == "v6 subnet 10 duid 00:01:00:01:aa:bb"
    assert item.key.ref() == "subnet6-10/duid/00:01:00:01:aa:bb"
    assert item.ipv6_addresses == ("2001:db8::20",) and item.prefixes == ("2001:db8:1:100::/56",)
    # the same identifier and subnet id in the other family is another reservation
    assert desired_from_params({"identifier": "00:01:00:01:aa:bb", "identifier_type": "duid", "subnet_id": 10}, "r").key != item.key


@pytest.mark.parametrize(("params", "field"), [
    ({"family": 6, "ip": "10.0.0.1"}, "ip"), ({"family": 4, "ipv6_addresses": ["2001:db8::1"]}, "ipv6_addresses"),
    ({"family": 6, "ipv6_addresses": ["10.0.0.1"]}, "ipv6_addresses[0]"), ({"family": 6, "ipv6_addresses": ["ff02::1"]}, "ipv6_addresses[0]"),
    ({"family": 6, "prefixes": ["2001:db8::/0"]}, "prefixes[0]"), ({"family": 6, "prefixes": ["2001:db8::"]}, "prefixes[0]"),
    ({"family": 5}, "family"), ({"family": 6, "duid": "aa:bb", "identifier_type": "hw-address"}, "identifier_type"),
])
def test_dhcpv6_bad_input_names_the_field(params, field):
    with pytest.raises(InvalidInputError) as failed:
        desired_from_params({"duid": "00:01:00:01:aa:bb", "subnet_id": 10, **params}, "reservation")
    assert str(failed.value).startswith(f"{field}: ")


def test_a_dhcpv6_address_is_held_once_in_the_table_whatever_the_subnet():
    now = [v6("000100010001", "2001:db8::20", subnet=11, host_id=7)]
    wanted = [desired_from_params({"duid": "00:01:00:01:00:02", "subnet_id": 10, "family": 6, "ipv6_addresses": ["2001:db8::20"]}, "reservation")]
    with pytest.raises(ConflictError, match="^ipv6_addresses: 2001:db8::20 in the DHCPv6 reservations is already reserved for v6 subnet 11"):
        plan_reservations(now, wanted)
    plan = plan_reservations(now, wanted, ip_conflict="replace")
    assert [r.host_id for r in plan.delete] == [7] and len(plan.create) == 1
    # an IPv4 reservation and a DHCPv6 one never conflict, and prune is per family and subnet
    v4 = current("000100010001", "10.0.0.1", subnet=10, host_id=8)
    plan = plan_reservations([v4, v6("000100010009", "2001:db8::9", host_id=9)], [], prune_subnets={(6, 10)})
    assert [r.host_id for r in plan.delete] == [9]


def test_dhcpv6_addresses_left_out_are_kept_and_an_empty_list_clears_them():
    now = [v6("000100010001", "2001:db8::20", prefixes=("2001:db8:1::/48",))]
    same = plan_reservations(now, [desired_from_params({"duid": "00:01:00:01:00:01", "subnet_id": 10, "family": 6, "hostname": "h"}, "r")])
    assert not same and same.unchanged == 1
    cleared = plan_reservations(now, [desired_from_params({"duid": "00:01:00:01:00:01", "subnet_id": 10, "family": 6, "prefixes": []}, "r")])
    assert cleared.update[0][1].prefixes == () and cleared.update[0][1].ipv6_addresses == ("2001:db8::20",)
    assert cleared.changes() == [{"action": "update", "subnet_id": 10, "identifier": "00:01:00:01:00:01", "ip": None, "hostname": "h",
                                  "family": 6, "ipv6_addresses": ["2001:db8::20"]}]
