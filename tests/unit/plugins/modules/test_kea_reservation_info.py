"""kea_reservation_info's identifier filter without a database: the same MAC parser as kea_reservation."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.ddi.kea_dns.plugins.modules import kea_reservation_info

UNREACHABLE = {"db_host": "127.0.0.1", "db_port": 1, "db_password": "x"}


def run_module(args: dict, capsys) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        kea_reservation_info.main()
    return json.loads(capsys.readouterr().out)


def test_mac_filter_is_a_mac_address(capsys):
    result = run_module({"mac": "aa:bb:cc:dd:ee", **UNREACHABLE}, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("identifier: invalid value 'aa:bb:cc:dd:ee': 5 octets; a MAC address (EUI-48) has 6"), result["msg"]


@pytest.mark.parametrize("identifier", ["aa:bb:cc:dd:ee", "80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:bc:de"])
def test_identifier_filter_finds_stored_hardware_addresses_of_any_length(capsys, identifier):
    """A lookup must find what is in the table, also reservations of other lengths (it gets as far as the database)."""
    result = run_module({"identifier": identifier, **UNREACHABLE}, capsys)
    assert result["failed"] is True and "cannot connect" in result["msg"], result["msg"]
