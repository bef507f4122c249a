"""Outbox rows -> events, the source's arguments, and events -> dns_record items (plugins/module_utils/_outbox/events.py)."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.naming import HostnameParser
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import events
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox.rows import OutboxRow

WHEN = datetime.datetime(2026, 11, 21, 10, 0, 0, 123456, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))


def record(hostname="us3-cab10-ru20-idrac", ip=0x0A630032, identifier="aabbccddeeff", identifier_type=0, subnet=1):
    return {"host_id": 7, "hostname": hostname, "ipv4_address": ip, "dhcp_identifier": identifier,
            "dhcp_identifier_type": identifier_type, "dhcp4_subnet_id": subnet}


def make(operation, old=None, new=None, row_id=42):
    return events.event(OutboxRow(row_id, operation, old, new, WHEN), HostnameParser(), "site.test")


def test_insert_event_has_every_key_and_the_inventory_values():
    found = make("INSERT", new=record())
    assert tuple(found) == events.CHANGE_KEYS
    assert found == {
        "operation": "INSERT", "hostname": "us3-cab10-ru20-idrac", "ip": "10.99.0.50", "mac": "aa:bb:cc:dd:ee:ff",
        "identifier": None, "identifier_type": "hw-address", "subnet_id": 1, "site": "us3", "cabinet": "cab10",
        "rack_unit": 20, "bmc_type": "idrac", "fqdn": "us3-cab10-ru20-idrac.site.test", "family": 4, "ipv6_addresses": [],
        "old": None, "outbox_id": 42, "changed_at": "2026-11-21T09:00:00.123456Z"}


def test_a_dhcpv6_row_makes_an_event_with_its_addresses():
    v6 = {"family": 6, "host_id": 7, "hostname": "us3-cab10-ru20-idrac", "dhcp_identifier": "00030001aabbccddeeff", "dhcp_identifier_type": 1,
          "dhcp6_subnet_id": 10, "ipv6_addresses": ["2001:db8:10::20"]}
    found = make("INSERT", new=v6)
    assert (found["family"], found["ipv6_addresses"], found["ip"], found["subnet_id"], found["identifier_type"]) == (
        6, ["2001:db8:10::20"], None, 10, "duid")
    assert found["fqdn"] == "us3-cab10-ru20-idrac.site.test" and found["site"] == "us3"


def test_update_event_carries_the_old_values():
    found = make("UPDATE", old=record(), new=record(hostname="us3-cab11-ru02-ilo", ip=0x0A630033))
    assert (found["hostname"], found["ip"], found["cabinet"], found["bmc_type"]) == ("us3-cab11-ru02-ilo", "10.99.0.51", "cab11", "ilo")
    assert tuple(found["old"]) == events.RESERVATION_KEYS
    assert (found["old"]["hostname"], found["old"]["ip"], found["old"]["rack_unit"]) == ("us3-cab10-ru20-idrac", "10.99.0.50", 20)


def test_delete_event_describes_the_deleted_reservation():
    found = make("DELETE", old=record())
    assert (found["operation"], found["hostname"], found["ip"], found["old"]) == ("DELETE", "us3-cab10-ru20-idrac", "10.99.0.50", None)


def test_unplaced_hostname_and_other_identifier_types_have_none_values():
    found = make("INSERT", new=record(hostname="switch01", identifier="0102", identifier_type=4))
    assert (found["site"], found["cabinet"], found["rack_unit"], found["bmc_type"]) == (None, None, None, None)
    assert (found["mac"], found["identifier"], found["identifier_type"]) == (None, "01:02", "flex-id")
    no_name = make("INSERT", new=record(hostname=None))
    assert (no_name["hostname"], no_name["fqdn"]) == (None, None)


@pytest.mark.parametrize(("change", "field"), [
    ({"dhcp_identifier_type": 9}, "dhcp_identifier_type"),
    ({"dhcp_identifier": "zz"}, "dhcp_identifier"),
    ({"dhcp4_subnet_id": "one"}, "dhcp4_subnet_id"),
])
def test_a_row_that_cannot_be_an_event_names_the_field(change, field):
    with pytest.raises(InvalidInputError) as caught:
        make("INSERT", new={**record(), **change})
    assert caught.value.field == field


def test_options_take_arguments_then_environment_then_defaults():
    found = events.options({"db_host": "db1", "batch_size": "50", "db_password": "pw-secret"},
                           environ={"KEA_DB_HOST": "ignored", "KEA_DB_PORT": "6543", "KEA_DB_NAME": "kea2"})
    assert (found["db_host"], found["db_port"], found["db_name"], found["batch_size"]) == ("db1", 6543, "kea2", 50)
    assert (found["events_schema"], found["events_channel"], found["db_password"]) == ("kea_dns", "kea_lease_events", "pw-secret")


@pytest.mark.parametrize(("args", "expected"), [
    ({"db_hots": "x"}, "argument db_hots: invalid value '(not shown)': unknown argument (did you mean db_host?)"),
    ({"db_port": "five"}, "argument db_port: invalid value 'five': expected int"),
    ({"events_channel": "kea-events"}, "events_channel: invalid value 'kea-events': expected a lower-case SQL identifier"),
    ({"batch_size": 0}, "batch_size: invalid value 0: ranges from 1 to 10000"),
    ({"poll_interval": -1}, "poll_interval: invalid value -1.0: must be greater than 0"),
])
def test_bad_arguments_are_named(args, expected):
    with pytest.raises(InvalidInputError) as caught:
        events.options(args, environ={})
    assert expected in str(caught.value)


def test_source_options_have_their_own_defaults_and_checks():
    found = events.options({}, environ={})
    assert (found["batch_size"], found["ack_timeout"], found["hostname_filter"]) == (500, 300.0, ["*-ilo", "*-idrac", "*-bmc"])
    assert events.options({"hostname_filter": "*-ilo, web*", "ack_timeout": "60"}, environ={})["hostname_filter"] == ["*-ilo", "web*"]
    with pytest.raises(InvalidInputError, match="ack_timeout: invalid value 1.0: must be at least 5 seconds"):
        events.options({"ack_timeout": 1}, environ={})
    with pytest.raises(InvalidInputError, match="hostname_filter: invalid value \\[\\]: needs at least one glob"):
        events.options({"hostname_filter": []}, environ={})


# -- a batch of rows -> one event --------------------------------------------------------------------------------
def item(row_id, operation, old=None, new=None):
    row = OutboxRow(row_id, operation, old, new, WHEN)
    return row, events.event(row, HostnameParser(), "site.test")


def other(hostname="us3-cab12-ru01-bmc", ip=0x0A630040):
    return {**record(hostname=hostname, ip=ip), "host_id": 8}


def test_a_lone_change_is_an_event_of_its_own_with_its_keys_at_the_top():
    found = events.batch_event([item(42, "INSERT", new=record())])
    assert tuple(found) == events.EVENT_KEYS
    assert (found["operation"], found["hostname"], found["outbox_id"], found["outbox_ids"]) == ("INSERT", "us3-cab10-ru20-idrac", 42, [42])
    assert [(c["operation"], c["outbox_ids"]) for c in found["changes"]] == [("INSERT", [42])]


def test_a_batch_coalesces_each_reservation_and_keeps_the_order_and_every_id():
    moved = record(hostname="us3-cab11-ru02-ilo", ip=0x0A630033)
    found = events.batch_event([
        item(1, "INSERT", new=record()),                       # host 7: inserted, then moved: an INSERT of the last values
        item(2, "UPDATE", old=other(), new=other(ip=0x0A630041)),  # host 8: updated twice: old of the first, new of the last
        item(3, "UPDATE", old=record(), new=moved),
        item(4, "UPDATE", old=other(ip=0x0A630041), new=other(ip=0x0A630042)),
    ])
    assert (found["operation"], found["hostname"], found["outbox_ids"]) == ("BATCH", None, [1, 2, 3, 4])
    first, second = found["changes"]
    assert (first["operation"], first["hostname"], first["ip"], first["old"], first["outbox_ids"]) == (
        "INSERT", "us3-cab11-ru02-ilo", "10.99.0.51", None, [1, 3])
    assert (second["operation"], second["ip"], second["old"]["ip"], second["outbox_ids"]) == ("UPDATE", "10.99.0.66", "10.99.0.64", [2, 4])


def test_inserted_then_deleted_is_no_change_and_updated_then_deleted_deletes_what_was_before():
    moved = other(hostname="us3-cab12-ru09-bmc")
    found = events.batch_event([
        item(1, "INSERT", new=record()), item(2, "DELETE", old=record()),
        item(3, "UPDATE", old=other(), new=moved), item(4, "DELETE", old=moved),
    ])
    assert found["outbox_ids"] == [1, 2, 3, 4]
    assert [(c["operation"], c["hostname"], c["outbox_ids"]) for c in found["changes"]] == [("DELETE", "us3-cab12-ru01-bmc", [3, 4])]
    assert found["operation"] == "DELETE" and found["hostname"] == "us3-cab12-ru01-bmc"


def test_failure_text_hides_secrets():
    assert events.failure(RuntimeError("login as kea with pw-secret refused"), {"pw-secret"}) == "login as kea with ******** refused"


# -- events -> dns_record items --------------------------------------------------------------------------------
def side(hostname, ip):
    return {"hostname": hostname, "ip": ip, "fqdn": f"{hostname}.site.test" if hostname else None}


def test_insert_makes_the_record_and_its_ptr():
    found = events.dns_records({"operation": "INSERT", **side("us3-cab10-ru20-idrac", "10.99.0.50")}, zone="site.test",
                               ptr=True, ptr_zone="99.10.in-addr.arpa", ttl=300)
    assert found == [{"name": "us3-cab10-ru20-idrac.site.test", "value": "10.99.0.50", "state": "present", "ptr": True,
                      "ttl": 300, "zone": "site.test", "ptr_zone": "99.10.in-addr.arpa"}]


def test_delete_removes_the_record_and_its_ptr_from_the_event_fqdn():
    found = events.dns_records({"operation": "DELETE", **side("us3-cab10-ru20-idrac", "10.99.0.50"), "old": None}, ptr=True)
    assert found == [{"name": "us3-cab10-ru20-idrac.site.test", "value": "10.99.0.50", "state": "absent"},
                     {"name": "50.0.99.10.in-addr.arpa", "type": "PTR", "value": "us3-cab10-ru20-idrac.site.test", "state": "absent"}]


def test_update_of_the_address_replaces_the_a_record_and_drops_the_old_ptr():
    event = {"operation": "UPDATE", **side("us3-cab10-ru20-idrac", "10.99.0.51"), "old": side("us3-cab10-ru20-idrac", "10.99.0.50")}
    found = events.dns_records(event, zone="site.test", ptr=True)
    assert [(item["name"], item.get("type", "A"), item["state"]) for item in found] == [
        ("us3-cab10-ru20-idrac.site.test", "A", "present"), ("50.0.99.10.in-addr.arpa", "PTR", "absent")]


def test_update_of_the_name_drops_the_old_name_and_keeps_the_ptr_replaced():
    event = {"operation": "UPDATE", **side("us3-cab10-ru21-idrac", "10.99.0.50"), "old": side("us3-cab10-ru20-idrac", "10.99.0.50")}
    found = events.dns_records(event, zone="site.test", ptr=True)
    assert [(item["name"], item["state"]) for item in found] == [
        ("us3-cab10-ru21-idrac.site.test", "present"), ("us3-cab10-ru20-idrac.site.test", "absent")]


def test_update_that_changes_neither_name_nor_address_only_ensures():
    event = {"operation": "UPDATE", **side("us3-cab10-ru20-idrac", "10.99.0.50"), "old": side("us3-cab10-ru20-idrac", "10.99.0.50")}
    assert [item["state"] for item in events.dns_records(event, zone="site.test", ptr=True)] == ["present"]


def test_hostname_removed_by_an_update_removes_the_record():
    event = {"operation": "UPDATE", **side(None, "10.99.0.50"), "old": side("us3-cab10-ru20-idrac", "10.99.0.50")}
    assert events.dns_records(event, zone="site.test") == [
        {"name": "us3-cab10-ru20-idrac.site.test", "value": "10.99.0.50", "state": "absent", "zone": "site.test"}]


@pytest.mark.parametrize(("event", "zone", "expected"), [
    ("not an event", None, "event: invalid value 'not an event'"),
    ({"operation": "TRUNCATE"}, None, "event: invalid value 'TRUNCATE'"),
    ({"operation": "INSERT", "hostname": "us3-cab10-ru20-idrac", "ip": "10.99.0.50"}, None, "event.fqdn: invalid value None: the event has no fqdn"),
    ({"operation": "INSERT", "hostname": "bad name!", "ip": "10.99.0.50"}, "site.test", "hostname: invalid value 'bad name!'"),
])
def test_bad_events_are_named(event, zone, expected):
    with pytest.raises(InvalidInputError) as caught:
        events.dns_records(event, zone=zone)
    assert expected in str(caught.value)


def test_records_of_a_dhcpv6_event_are_aaaa_with_every_address_and_their_ptrs():
    old = {"hostname": "us3-cab10-ru20-idrac", "family": 6, "ipv6_addresses": ["2001:db8:10::20", "2001:db8:10::21"], "ip": None}
    event = {"operation": "UPDATE", **old, "ipv6_addresses": ["2001:db8:10::21"], "old": old}
    found = events.dns_records(event, zone="site.test", ptr=True)
    assert found[0] == {"name": "us3-cab10-ru20-idrac.site.test", "type": "AAAA", "values": ["2001:db8:10::21"], "state": "present",
                        "ptr": True, "zone": "site.test"}
    assert [(item["name"], item["state"]) for item in found[1:]] == [
        ("0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "absent")]
