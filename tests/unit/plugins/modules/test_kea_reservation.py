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
