"""The kea_inventory_files runner with the hosts table faked: check mode writes nothing, apply writes the files,
a re-run changes nothing, a cabinet with no BMC left loses its file, a bad path names the field."""

from __future__ import annotations

import contextlib
import os

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Reservation, ReservationKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._module import kea_inventory_files as runner
from ansible_collections.ddi.kea_dns.tests.unit.plugins.module_utils.fakes import FakeModule


@pytest.fixture
def table(monkeypatch):
    rows: list[Reservation] = []

    @contextlib.contextmanager
    def transaction(settings, readonly=False):
        yield object()

    monkeypatch.setattr(runner, "transaction", transaction)
    monkeypatch.setattr(runner.hosts, "check_schema", lambda cursor: None)
    monkeypatch.setattr(runner.hosts, "select_all", lambda cursor: list(rows))
    return rows


def reserve(rows: list, hostname: str, ip: str, mac: int) -> None:
    rows.append(Reservation(ReservationKey(1, 0, mac.to_bytes(6, "big")), ip=ip, hostname=hostname))


def params(path: str) -> dict:
    return {"path": path, "dns_zone": "site.test", "hostname_filter": ["*-idrac", "*-ilo", "*-bmc"], "naming_pattern": None,
            "db_host": "localhost", "db_port": 5432, "db_name": "kea", "db_user": "kea", "db_password": None}


def test_check_apply_rerun_and_a_cabinet_emptied(table, tmp_path):
    reserve(table, "us3-cab10-ru20-idrac", "10.99.0.20", 1)
    reserve(table, "us3-cab11-ru1-ilo", "10.99.0.21", 2)
    reserve(table, "odd-idrac", "10.99.0.22", 3)
    path = str(tmp_path / "inventory")
    planned = runner.write_files(FakeModule(params(path), check_mode=True, diff=True))
    assert planned["changed"] and planned["written"] == ["us3-cab10-discovery.yml", "us3-cab11-discovery.yml"] and not os.path.exists(path)
    assert planned["unplaced"] == ["odd-idrac"] and "10.99.0.20" in planned["diff"][0]["after"]
    applied = runner.write_files(FakeModule(params(path)))
    assert applied["written"] == planned["written"] and sorted(os.listdir(path)) == applied["files"]
    assert runner.write_files(FakeModule(params(path)))["changed"] is False
    del table[1]  # the only BMC of cab11 is gone
    emptied = runner.write_files(FakeModule(params(path)))
    assert emptied["changed"] and emptied["removed"] == ["us3-cab11-discovery.yml"] and os.listdir(path) == ["us3-cab10-discovery.yml"]


def test_bad_input_names_the_field(table, tmp_path):
    with pytest.raises(InvalidInputError, match="hostname_filter"):
        runner.write_files(FakeModule(dict(params(str(tmp_path)), hostname_filter=[])))
    blocker = tmp_path / "file"
    blocker.write_text("")
    reserve(table, "us3-cab10-ru20-idrac", "10.99.0.20", 1)
    with pytest.raises(InvalidInputError, match="^path: "):
        runner.write_files(FakeModule(params(str(blocker / "inventory"))))
