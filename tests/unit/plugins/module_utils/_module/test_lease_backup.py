"""The lease_backup runner on memfile lease files (no server): backup in check mode writes nothing, backup and
restore round-trip byte for byte, a restore over other leases is refused unless forced, a second restore changes
nothing, and an archive of the wrong kind of database names the field."""

from __future__ import annotations

import os

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import ConflictError, InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._module import lease_backup as runner
from ansible_collections.ddi.kea_dns.tests.unit.plugins.module_utils.fakes import FakeModule

HEADER = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id\n"


def lease_file(path, count: int, first: int = 1) -> str:
    rows = "".join(f"10.99.0.{n},aa:bb:cc:dd:ee:{n:02x},,3600,1900000000,1,0,0,host{n},0,,0\n" for n in range(first, first + count))
    path.write_text(HEADER + rows)
    return str(path)


def read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def params(**extra) -> dict:
    return {"state": "backup", "lease_database": "memfile", "lease_files": [], "lfc_wait": 1.0, "backup_dir": None, "name": "dhcp1",
            "keep": 0, "archive": None, "archive_format": "manifest", "force": False, **extra}


def test_backup_then_restore_round_trip_and_refusals(tmp_path):
    source = lease_file(tmp_path / "kea-leases4.csv", 5)
    backups = tmp_path / "backups"
    planned = runner.run_lease_backup(FakeModule(params(lease_files=[source], backup_dir=str(backups)), check_mode=True))
    assert planned["changed"] and planned["rows"] == {"kea-leases4.csv": 5} and not backups.exists()
    made = runner.run_lease_backup(FakeModule(params(lease_files=[source], backup_dir=str(backups))))
    assert os.path.isfile(made["archive"]) and os.path.isfile(made["stable_archive"]) and made["manifest"]["memfile_layout"] == "root"

    target_dir = tmp_path / "restored"
    target_dir.mkdir()
    target = lease_file(target_dir / "kea-leases4.csv", 2, first=50)  # other leases: refused unless forced
    restore = params(state="restore", archive=made["stable_archive"], lease_files=[target])
    with pytest.raises(ConflictError, match="not empty.*force=true.*nothing was changed"):
        runner.run_lease_backup(FakeModule(restore))
    assert "host50" in read(target)
    checked = runner.run_lease_backup(FakeModule(dict(restore, force=True), check_mode=True))
    assert checked["changed"] and "host50" in read(target)
    done = runner.run_lease_backup(FakeModule(dict(restore, force=True)))
    assert done["changed"] and read(target) == read(source)
    assert runner.run_lease_backup(FakeModule(dict(restore, force=True)))["changed"] is False


def test_an_archive_of_the_other_database_or_a_plain_postgresql_restore_names_the_field(tmp_path):
    source = lease_file(tmp_path / "kea-leases4.csv", 1)
    made = runner.run_lease_backup(FakeModule(params(lease_files=[source], backup_dir=str(tmp_path / "backups"))))
    with pytest.raises(InvalidInputError, match="^lease_database: .*holds a memfile backup"):
        runner.run_lease_backup(FakeModule(params(state="restore", archive=made["archive"], lease_database="postgresql")))
    with pytest.raises(InvalidInputError, match="^archive_format: "):
        runner.run_lease_backup(FakeModule(params(state="restore", archive=made["archive"], lease_database="postgresql",
                                                  archive_format="plain")))


class LeaseTables:
    """Kea's lease tables in memory, dumped and loaded as _backup/lease_tables.py does (one COPY file per table, the
    statistics tables beside them); a target that holds leases is refused unless forced."""

    def __init__(self, **tables: str) -> None:
        self.tables = dict(tables)
        self.loads = 0

    def dump_tables(self, settings, dest):
        os.makedirs(os.path.join(dest, "pgsql"), exist_ok=True)
        found = {}
        for table, text in sorted(self.tables.items()):
            with open(os.path.join(dest, "pgsql", f"{table}.copy"), "w", encoding="utf-8") as handle:
                handle.write(text)
            found[table] = {"columns": ["address", "hwaddr"], "rows": text.count("\n"), "file": f"pgsql/{table}.copy",
                            "statistics": table.endswith("_stat")}
        return {"kea_schema_version": "22.1", "tables": found}

    def load_tables(self, settings, source, manifest, force, check_mode):
        report = {table: {"rows": item["rows"], "replaced": self.tables.get(table, "").count("\n")}
                  for table, item in manifest["tables"].items() if not item["statistics"]}
        if any(item["replaced"] for item in report.values()) and not force:
            raise ConflictError("the target is not empty; set force=true to replace its leases; nothing was changed")
        if not check_mode:
            self.loads += 1
            for table, item in manifest["tables"].items():
                self.tables[table] = read(os.path.join(source, item["file"]))
        return {"tables": report, "statistics": "snapshot"}


def test_postgresql_backup_then_restore_round_trip_and_refusals(tmp_path, monkeypatch):
    """The PostgreSQL path of the runner with the tables faked (the real COPY runs in the integration tests)."""
    leases = "10.99.0.1\taa:bb:cc:dd:ee:01\n10.99.0.2\taa:bb:cc:dd:ee:02\n"
    database = LeaseTables(lease4=leases, lease4_stat="1\tassigned-addresses\t2\n")
    for name in ("dump_tables", "load_tables"):
        monkeypatch.setattr(runner.lease_tables, name, getattr(database, name))
    pg = {"lease_database": "postgresql", "db_host": "db1", "db_password": "s3cret", "backup_dir": str(tmp_path / "backups")}
    module = FakeModule(params(**pg), check_mode=True)
    planned = runner.run_lease_backup(module)
    assert planned["changed"] and planned["rows"] == {"lease4": 2} and not (tmp_path / "backups").exists()
    assert "s3cret" in module.no_log_values
    made = runner.run_lease_backup(FakeModule(params(**pg)))
    assert made["manifest"]["lease_database"] == "postgresql" and made["manifest"]["kea_schema_version"] == "22.1"
    assert sorted(made["manifest"]["tables"]) == ["lease4", "lease4_stat"] and "db1" in made["manifest"]["source"]["database"]

    restore = params(state="restore", archive=made["stable_archive"], lease_database="postgresql", db_host="db2")
    assert runner.run_lease_backup(FakeModule(restore))["changed"] is False and database.loads == 0  # the same leases
    database.tables["lease4"] = "10.99.0.9\taa:bb:cc:dd:ee:09\n"  # other leases: refused unless forced
    with pytest.raises(ConflictError, match="force=true"):
        runner.run_lease_backup(FakeModule(restore))
    checked = runner.run_lease_backup(FakeModule(dict(restore, force=True), check_mode=True))
    assert checked["changed"] and database.tables["lease4"].startswith("10.99.0.9") and database.loads == 0
    done = runner.run_lease_backup(FakeModule(dict(restore, force=True)))
    assert done["changed"] and database.tables["lease4"] == leases and database.loads == 1
    assert runner.run_lease_backup(FakeModule(dict(restore, force=True)))["changed"] is False and database.loads == 1
