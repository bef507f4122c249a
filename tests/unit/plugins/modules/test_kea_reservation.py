"""The module's argument handling without a database: errors are clean task failures."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.ddi.kea_dns.plugins.modules import kea_reservation


def run_module(args: dict, capsys) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        kea_reservation.main()
    return json.loads(capsys.readouterr().out)


def test_invalid_mac_fails_before_connecting(capsys):
    result = run_module({"mac": "not-a-mac", "subnet_id": 1, "db_port": 1}, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("identifier: invalid value 'not-a-mac'")


def test_identifier_or_reservations_required(capsys):
    result = run_module({"subnet_id": 1}, capsys)
    assert result["failed"] is True and "identifier, reservations" in result["msg"]


def test_unreachable_database_is_one_line(capsys):
    result = run_module({"mac": "aa:bb:cc:dd:ee:ff", "subnet_id": 1, "db_host": "127.0.0.1", "db_port": 1,
                         "db_password": "secret-value-123"}, capsys)
    assert result["failed"] is True and "cannot connect" in result["msg"] and "\n" not in result["msg"]
    assert "secret-value-123" not in json.dumps(result)


def test_five_octet_mac_fails_before_connecting(capsys):
    """Issue 17: a 5-octet mac was accepted and written; it now fails naming the field, the value and the cause."""
    result = run_module({"mac": "aa:bb:cc:dd:ee", "subnet_id": 1, "db_port": 1}, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("identifier: invalid value 'aa:bb:cc:dd:ee': 5 octets; a MAC address (EUI-48) has 6"), result["msg"]
    assert "cannot connect" not in result["msg"]


def test_five_octet_mac_in_a_batch_names_the_item(capsys):
    items = [{"mac": "aa:bb:cc:dd:ee:01", "ip": "10.99.0.1"}, {"mac": "aa:bb:cc:dd:ee", "ip": "10.99.0.2"}]
    result = run_module({"subnet_id": 1, "reservations": items, "db_port": 1}, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("reservations[1].identifier: invalid value 'aa:bb:cc:dd:ee': 5 octets"), result["msg"]


def test_other_hardware_address_length_needs_hw_address_length(capsys):
    infiniband = "80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:bc:de"
    refused = run_module({"identifier": infiniband, "subnet_id": 1, "db_port": 1}, capsys)
    assert refused["failed"] is True and "20 octets; a MAC address (EUI-48) has 6" in refused["msg"]
    as_mac = run_module({"mac": infiniband, "hw_address_length": 20, "subnet_id": 1, "db_port": 1}, capsys)
    assert as_mac["failed"] is True and "20 octets; a MAC address (EUI-48) has 6" in as_mac["msg"]
    # With the option the identifier is valid: the task gets as far as the (unreachable) database.
    accepted = run_module({"identifier": infiniband, "hw_address_length": 20, "subnet_id": 1, "db_host": "127.0.0.1", "db_port": 1,
                           "db_password": "x"}, capsys)
    assert accepted["failed"] is True and "cannot connect" in accepted["msg"], accepted["msg"]
