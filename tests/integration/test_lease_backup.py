"""ddi.kea_dns.lease_backup: real Kea memfile lease files (written and rotated by kea-dhcp4 and kea-lfc) and Kea's
real PostgreSQL lease tables, backed up, restored into a fresh target and compared row for row. Seed 003's side is
run as the seed ran it: its init container's ``tar xzf`` (busybox) of our archive, and its ``backup-kea-leases.sh``
tar of Kea's directory imported with ``archive_format: plain``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import uuid

import pytest

from tests.harness.ansible import collections_path, run_tasks
from tests.harness.kea import KeaMemfile
from tests.harness.postgres import fill_leases, table_rows
from tests.harness.procs import wait_for

sys.path.insert(0, collections_path())

from ansible_collections.ddi.kea_dns.plugins.module_utils._backup import archive  # noqa: E402

HEADER = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n"
ROW = "10.99.7.{n},aa:bb:cc:00:07:{n:02x},,86400,1795400000,1,0,0,seed-{n},0,\n"
# The init container of seed 003 is busybox; GNU tar only where busybox is missing.
INIT_TAR = ["busybox", "tar"] if shutil.which("busybox") else ["tar"]


def lease_task(**args) -> dict:
    return {"ddi.kea_dns.lease_backup": args}


@pytest.fixture
def fresh_db(kea_db):
    """An empty database with Kea's schema (kea-admin db-init), dropped afterwards."""
    name = f"kea_restore_{uuid.uuid4().hex[:8]}"
    kea_db.admin_sql(f"CREATE DATABASE {name} OWNER {kea_db.kea_user}")
    kea_db.kea_admin("db-init", name)
    yield name
    kea_db.admin_sql(f"DROP DATABASE {name} WITH (FORCE)")


def test_memfile_backup_restore_identical_in_kea(tmp_path):
    backups = str(tmp_path / "backups")
    with KeaMemfile(lfc_interval=1) as kea:
        kea.add_leases(0, 40)
        wait_for(lambda: os.path.exists(kea.lease_file + ".2"), 20, "kea-lfc to write kea-leases4.csv.2")
        kea.add_leases(40, 10)
        kea.command("lease4-del", {"ip-address": "10.99.0.5"})
        original = kea.leases()
        task = lease_task(lease_database="memfile", lease_files=[kea.lease_file], backup_dir=backups, name="unified-dns-dhcp")
        check = run_tasks([dict(task, check_mode=True)]).results[0]
        assert check["changed"] is True and check["rows"]["kea-leases4.csv.2"] > 0 and not os.path.exists(backups), check
        backup = run_tasks([task]).results[0]
    assert len(original) == 49
    assert re.fullmatch(r".*/kea-leases-unified-dns-dhcp-\d{8}T\d{6}Z\.tar\.gz", backup["archive"]), backup
    assert os.path.isfile(os.path.join(backups, "kea-leases.tar.gz"))
    manifest = backup["manifest"]
    assert set(manifest["rows"]) >= {"kea-leases4.csv", "kea-leases4.csv.2"}, manifest
    assert manifest["memfile_header"].startswith("address,hwaddr,client_id,valid_lifetime")

    # Restore into a new directory and start a new Kea on it: it holds exactly the same leases.
    target_dir = tmp_path / "restored"
    target_dir.mkdir()
    target = str(target_dir / "kea-leases4.csv")
    with open(target, "w", encoding="utf-8") as handle:
        handle.write("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n"
                     "10.99.9.9,aa:aa:aa:aa:aa:aa,,86400,1795400000,1,0,0,stale,0,\n")
    with open(target + ".2", "w", encoding="utf-8") as handle:
        handle.write("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n")
    run = run_tasks([
        lease_task(state="restore", lease_database="memfile", lease_files=[target], archive=os.path.join(backups, "kea-leases.tar.gz")),
        dict(lease_task(state="restore", lease_database="memfile", lease_files=[target], archive=backup["archive"], force=True), check_mode=True),
        lease_task(state="restore", lease_database="memfile", lease_files=[target], archive=backup["archive"], force=True),
        lease_task(state="restore", lease_database="memfile", lease_files=[target], archive=backup["archive"]),
    ])
    refused, dry_run, restore, again = run.results
    assert refused.get("failed") and "not empty" in refused["msg"] and "nothing was changed" in refused["msg"], refused
    assert dry_run["changed"] is True, dry_run
    assert restore["changed"] is True and restore["files"]["kea-leases4.csv"] == target, restore
    assert again["changed"] is False, again
    with KeaMemfile(lease_dir=str(target_dir)) as restored:
        assert restored.leases() == original


def test_memfile_dual_stack_backup_restore_identical_in_kea(tmp_path):
    """kea-leases4.csv and kea-leases6.csv (each with its kea-lfc companion) in one archive, restored, then loaded by a
    new kea-dhcp4 and a new kea-dhcp6: each holds exactly the leases it held."""
    backups = str(tmp_path / "backups")
    with KeaMemfile(lfc_interval=1) as kea4, KeaMemfile(lfc_interval=1, family=6) as kea6:
        for kea in (kea4, kea6):
            kea.add_leases(0, 30)
        wait_for(lambda: os.path.exists(kea6.lease_file + ".2"), 20, "kea-lfc to write kea-leases6.csv.2")
        for kea in (kea4, kea6):
            kea.add_leases(30, 10)
            kea.delete_lease(4)
        original = {4: kea4.leases(), 6: kea6.leases()}
        backup = run_tasks([lease_task(lease_database="memfile", lease_files=[kea4.lease_file, kea6.lease_file], backup_dir=backups,
                                       name="dual-stack")]).results[0]
    assert len(original[4]) == len(original[6]) == 39 and original[6][0]["ip-address"].startswith("2001:db8::"), original[6][:1]
    rows = backup["manifest"]["rows"]
    assert {"kea-leases4.csv", "kea-leases6.csv", "kea-leases6.csv.2"} <= set(rows), rows
    assert backup["manifest"]["source"]["files"]["kea-leases6.csv.2"]["lease_file"] == "kea-leases6.csv"
    with tarfile.open(backup["archive"], "r:gz") as tar:
        names = set(tar.getnames())
    assert {"manifest.json", "kea-leases4.csv", "kea-leases6.csv", "kea-leases6.csv.2"} <= names, names

    target_dir = tmp_path / "restored"
    target_dir.mkdir()
    targets = [str(target_dir / "kea-leases4.csv"), str(target_dir / "kea-leases6.csv")]
    restore, again = run_tasks([lease_task(state="restore", lease_database="memfile", lease_files=targets, archive=backup["archive"])] * 2).results
    assert restore["changed"] is True and restore["files"]["kea-leases6.csv.2"] == targets[1] + ".2", restore
    assert again["changed"] is False, again
    with KeaMemfile(lease_dir=str(target_dir)) as restored4, KeaMemfile(lease_dir=str(target_dir), family=6) as restored6:
        assert restored4.leases() == original[4]
        assert restored6.leases() == original[6]


def test_postgresql_backup_restore_row_for_row(kea_db, fresh_db, tmp_path):
    fill_leases(kea_db, 600, 60)
    backups = str(tmp_path / "backups")
    run = run_tasks([lease_task(lease_database="postgresql", backup_dir=backups, name="dhcp1")], env=kea_db.env())
    backup = run.results[0]
    assert backup["changed"] is True and backup["rows"] == {"lease4": 600, "lease6": 60}, backup
    manifest = backup["manifest"]
    assert manifest["kea_schema_version"] == kea_db.kea_sql("SELECT version || '.' || minor FROM schema_version")[0][0]
    with tarfile.open(backup["archive"], "r:gz") as tar:
        assert tar.getnames()[0] == "manifest.json"
        assert json.loads(tar.extractfile("manifest.json").read())["files"] == manifest["files"]

    target_env = dict(kea_db.env(), KEA_DB_NAME=fresh_db)
    stats_before = kea_db.kea_sql("SELECT subnet_id, state, leases FROM lease4_stat ORDER BY 1, 2")
    run = run_tasks([
        dict(lease_task(state="restore", lease_database="postgresql", archive=backup["archive"]), check_mode=True),
        lease_task(state="restore", lease_database="postgresql", archive=backup["stable_archive"]),
        lease_task(state="restore", lease_database="postgresql", archive=backup["archive"]),
    ], env=target_env)
    dry_run, restore, again = run.results
    assert dry_run["changed"] is True and dry_run["tables"]["lease4"] == {"rows": 600, "replaced": 0}, dry_run
    assert restore["changed"] is True and restore["statistics"] == "snapshot" and again["changed"] is False, (restore, again)
    for table in ("lease4", "lease6"):
        assert table_rows(kea_db, table, fresh_db) == table_rows(kea_db, table), table
    assert kea_db.admin_sql("SELECT subnet_id, state, leases FROM lease4_stat ORDER BY 1, 2", dbname=fresh_db) == stats_before

    # A target that holds other leases is refused unless forced; force replaces them in one transaction.
    kea_db.kea_sql("DELETE FROM lease4 WHERE address % 7 = 0")
    changed_rows = table_rows(kea_db, "lease4")
    held = len(changed_rows)
    run = run_tasks([
        lease_task(state="restore", lease_database="postgresql", archive=backup["archive"]),
        lease_task(state="restore", lease_database="postgresql", archive=backup["archive"], force=True),
    ], env=kea_db.env())
    refused, forced = run.results
    assert refused.get("failed") and f"is not empty (lease4 holds {held} rows, lease6 holds 60 rows)" in refused["msg"], refused
    assert forced["changed"] is True and forced["tables"]["lease4"] == {"rows": 600, "replaced": held}, forced
    assert table_rows(kea_db, "lease4") != changed_rows and table_rows(kea_db, "lease4") == table_rows(kea_db, "lease4", fresh_db)


def test_bad_archives_and_targets_change_nothing(kea_db, fresh_db, tmp_path):
    fill_leases(kea_db, 50)
    backups = str(tmp_path / "backups")
    archive = run_tasks([lease_task(lease_database="postgresql", backup_dir=backups)], env=kea_db.env()).results[0]["archive"]
    corrupt = str(tmp_path / "corrupt.tar.gz")
    with open(archive, "rb") as source:
        data = bytearray(source.read())
    data[len(data) // 2] ^= 0xFF
    with open(corrupt, "wb") as out:
        out.write(data)
    kea_db.admin_sql("INSERT INTO lease4 (address, valid_lifetime, subnet_id, state) VALUES (1, 1, 1, 0)", dbname=fresh_db)
    target_env = dict(kea_db.env(), KEA_DB_NAME=fresh_db)
    before = table_rows(kea_db, "lease4", fresh_db)
    run = run_tasks([
        lease_task(state="restore", lease_database="postgresql", archive=corrupt, force=True),
        lease_task(state="restore", lease_database="postgresql", archive=str(tmp_path / "missing.tar.gz"), force=True),
        lease_task(state="restore", lease_database="memfile", archive=archive, lease_files=[str(tmp_path / "x.csv")]),
        lease_task(state="restore", lease_database="postgresql", archive=archive),
        lease_task(lease_database="memfile", lease_files=[str(tmp_path / "missing.csv")], backup_dir=backups),
    ], env=target_env)
    corrupt_r, missing_r, wrong_kind, not_empty, no_lease_file = run.results
    assert "corrupt or truncated" in corrupt_r["msg"] or "checksum mismatch" in corrupt_r["msg"], corrupt_r
    assert "nothing was changed" in corrupt_r["msg"] and "no such file" in missing_r["msg"], missing_r
    assert wrong_kind["msg"].startswith("lease_database: invalid value 'memfile'"), wrong_kind
    assert "not empty (lease4 holds 1 rows)" in not_empty["msg"], not_empty
    assert "lease file" in no_lease_file["msg"] and "missing.csv" in no_lease_file["msg"], no_lease_file
    assert table_rows(kea_db, "lease4", fresh_db) == before


def test_retention_keeps_exactly_n(kea_db, tmp_path):
    fill_leases(kea_db, 10)
    backups = tmp_path / "backups"
    written = []
    for _round in range(5):
        written.append(run_tasks([lease_task(lease_database="postgresql", backup_dir=str(backups), name="ret", keep=3)], env=kea_db.env()).results[0])
        time.sleep(1.05)  # archive names carry the second
    kept = sorted(p.name for p in backups.iterdir() if p.name.startswith("kea-leases-ret-"))
    assert kept == sorted(os.path.basename(w["archive"]) for w in written[-3:]), kept
    assert (backups / "kea-leases.tar.gz").read_bytes() == open(written[-1]["archive"], "rb").read()  # noqa: SIM115


def test_restore_by_a_user_who_does_not_own_the_tables_counts_with_the_triggers(kea_db, fresh_db, tmp_path):
    fill_leases(kea_db, 300, 20)
    archive = run_tasks([lease_task(lease_database="postgresql", backup_dir=str(tmp_path))], env=kea_db.env()).results[0]["archive"]
    password = uuid.uuid4().hex
    kea_db.admin_sql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kea_loader') THEN CREATE ROLE kea_loader LOGIN; END IF; END $$")
    kea_db.admin_sql("ALTER ROLE kea_loader PASSWORD %s", (password,))
    kea_db.admin_sql("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO kea_loader", dbname=fresh_db)
    env = dict(kea_db.env(), KEA_DB_NAME=fresh_db, KEA_DB_USER="kea_loader", KEA_DB_PASSWORD=password)
    result = run_tasks([lease_task(state="restore", lease_database="postgresql", archive=archive)], env=env).results[0]
    assert result["changed"] is True and result["statistics"] == "triggers", result
    for table in ("lease4", "lease6", "lease4_stat", "lease6_stat"):
        assert kea_db.admin_sql(f"SELECT * FROM {table} ORDER BY 1, 2", dbname=fresh_db) == kea_db.kea_sql(f"SELECT * FROM {table} ORDER BY 1, 2"), table


def kea_with_rotated_leases(lease_dir: str | None = None) -> tuple[KeaMemfile, list[dict]]:
    """A running Kea (memfile, kea-lfc every second) whose leases are in kea-leases4.csv.2 and kea-leases4.csv."""
    kea = KeaMemfile(lfc_interval=1, lease_dir=lease_dir).start()
    try:
        kea.add_leases(0, 30)
        wait_for(lambda: os.path.exists(kea.lease_file + ".2"), 20, "kea-lfc to write kea-leases4.csv.2")
        kea.add_leases(30, 10)
        kea.command("lease4-del", {"ip-address": "10.99.0.7"})
        return kea, kea.leases()
    except BaseException:
        kea.stop()
        raise


def test_seed_init_container_unpacks_our_archive_where_kea_reads_it(tmp_path):
    """Seed 003's init-kea-leases: tar xzf /var/lib/kea/kea-leases.tar.gz in /var/lib/kea, remove it, start Kea."""
    backups = str(tmp_path / "backups")
    kea, original = kea_with_rotated_leases()
    try:
        backup = run_tasks([lease_task(lease_database="memfile", lease_files=[kea.lease_file], backup_dir=backups, name="unified-dns-dhcp")]).results[0]
    finally:
        kea.stop()
    assert len(original) == 39 and backup["changed"] is True, backup
    assert backup["manifest"]["memfile_layout"] == "root" and backup["rows"]["kea-leases4.csv.2"] > 0, backup
    with tarfile.open(backup["stable_archive"], "r:gz") as tar:
        names = tar.getnames()
    assert names[0] == "manifest.json" and {"kea-leases4.csv", "kea-leases4.csv.2"} <= set(names), names
    assert not [n for n in names if "/" in n], names  # no memfile/ directory: the files unpack into Kea's directory

    lease_dir = tmp_path / "var-lib-kea"
    lease_dir.mkdir()
    shutil.copyfile(backup["stable_archive"], lease_dir / "kea-leases.tar.gz")
    subprocess.run([*INIT_TAR, "xzf", str(lease_dir / "kea-leases.tar.gz"), "-C", str(lease_dir)], check=True, capture_output=True)
    os.unlink(lease_dir / "kea-leases.tar.gz")
    assert {"kea-leases4.csv", "kea-leases4.csv.2", "manifest.json"} <= set(os.listdir(lease_dir))
    with KeaMemfile(lease_dir=str(lease_dir)) as restored:
        assert restored.leases() == original


def test_seed_plain_archive_is_imported_with_archive_format_plain(tmp_path):
    """backup-kea-leases.sh: tar czf kea-leases.tar.gz -C /var/lib/kea . (no manifest, a pid file next to the leases)."""
    kea_dir = tmp_path / "seed-var-lib-kea"
    kea_dir.mkdir()
    kea, original = kea_with_rotated_leases(str(kea_dir))
    kea.stop()
    (kea_dir / "kea-dhcp4.kea-dhcp4.pid").write_text("4242\n")
    seed = str(tmp_path / "kea-leases.tar.gz")
    subprocess.run(["tar", "czf", seed, "-C", str(kea_dir), "."], check=True, capture_output=True)
    lease_names = sorted(n for n in os.listdir(kea_dir) if n in {"kea-leases4.csv" + suffix for suffix in ("", ".2", ".1", ".completed")})
    assert "kea-leases4.csv.2" in lease_names, lease_names

    target_dir = tmp_path / "restored"
    target_dir.mkdir()
    target = str(target_dir / "kea-leases4.csv")
    task = lease_task(state="restore", lease_database="memfile", lease_files=[target], archive=seed, archive_format="plain")
    refused, dry_run = run_tasks([lease_task(state="restore", lease_database="memfile", lease_files=[target], archive=seed),
                                  dict(task, check_mode=True)]).results
    assert refused.get("failed") and "archive_format=plain" in refused["msg"] and "nothing was changed" in refused["msg"], refused
    assert dry_run["changed"] is True and dry_run["files"] == {n: target + n[len("kea-leases4.csv"):] for n in lease_names}, dry_run
    assert os.listdir(target_dir) == []
    restore, again = run_tasks([task, task]).results
    assert restore["changed"] is True and again["changed"] is False, (restore, again)
    assert restore["skipped"] == {n: "not a lease file" for n in os.listdir(kea_dir) if n not in lease_names}, restore
    assert "kea-dhcp4.kea-dhcp4.pid" in restore["skipped"], restore
    assert restore["manifest"]["format"] == "plain" and restore["rows"]["kea-leases4.csv.2"] > 0, restore
    assert sorted(os.listdir(target_dir)) == lease_names  # the pid file is not written
    for name in lease_names:
        assert (target_dir / name).read_bytes() == (kea_dir / name).read_bytes(), name
    with KeaMemfile(lease_dir=str(target_dir)) as restored:
        assert restored.leases() == original


def plain_tar(path: str, files: dict[str, str]) -> str:
    """A plain archive as backup-kea-leases.sh made it, of a directory holding ``files``."""
    source = path + ".d"
    os.makedirs(source)
    for name, text in files.items():
        with open(os.path.join(source, name), "w", encoding="utf-8") as handle:
            handle.write(text)
    subprocess.run(["tar", "czf", path, "-C", source, "."], check=True, capture_output=True)
    return path


def test_bad_plain_archives_change_nothing(tmp_path):
    target_dir = tmp_path / "target"
    target_dir.mkdir()
    target = target_dir / "kea-leases4.csv"
    target.write_text(HEADER + ROW.format(n=99))
    good = HEADER + ROW.format(n=1) + ROW.format(n=2)
    cases = {
        "header": ({"kea-leases4.csv": "adress" + good[len("address"):]}, "kea-leases4.csv has no lease file header: line 1 is 'adress,hwaddr,"),
        "truncated": ({"kea-leases4.csv": good + "10.99.7.3,aa:bb:cc:00"}, "lease file kea-leases4.csv is truncated: line 4 '10.99.7.3,aa:bb:cc:00' ends"),
        "columns": ({"kea-leases4.csv": good, "kea-leases4.csv.2": HEADER + ROW.format(n=5).replace(",seed-5,", ",")},
                    "lease file kea-leases4.csv.2 line 2 has 10 comma-separated fields, its header has 11: '10.99.7.5,"),
        "nothing": ({"kea-dhcp4.kea-dhcp4.pid": "4242\n", "kea-dhcp4.conf": '{"Dhcp4": {}}\n'},
                    "holds no lease file of lease_files (kea-leases4.csv, or their .2, .1, .completed companions) at its root, only"),
    }
    tasks = [lease_task(state="restore", lease_database="memfile", lease_files=[str(target)], archive_format="plain", force=True,
                        archive=plain_tar(str(tmp_path / f"{case}.tar.gz"), files)) for case, (files, _cause) in cases.items()]
    tasks.append(lease_task(state="restore", lease_database="postgresql", archive_format="plain", force=True,
                            archive=plain_tar(str(tmp_path / "good.tar.gz"), {"kea-leases4.csv": good})))
    results = run_tasks(tasks).results
    for (case, (_files, cause)), result in zip(cases.items(), results, strict=False):
        assert result.get("failed") and cause in result["msg"] and result["msg"].endswith("nothing was changed"), (case, result)
        assert f"archive {tmp_path / case}.tar.gz: " in result["msg"], (case, result)
    postgresql = results[-1]
    assert postgresql.get("failed") and postgresql["msg"].startswith("archive_format: invalid value 'plain'"), postgresql
    assert "restores only with lease_database=memfile" in postgresql["msg"], postgresql
    assert os.listdir(target_dir) == ["kea-leases4.csv"] and target.read_text() == HEADER + ROW.format(n=99)


def test_archive_of_the_earlier_memfile_layout_restores(tmp_path):
    """Archives written before the root layout hold the lease files under memfile/ and no memfile_layout."""
    with KeaMemfile() as kea:
        kea.add_leases(0, 20)
        original = kea.leases()
        work = tmp_path / "old"
        (work / "memfile").mkdir(parents=True)
        shutil.copyfile(kea.lease_file, work / "memfile" / "kea-leases4.csv")
    rows = len((work / "memfile" / "kea-leases4.csv").read_text().splitlines()) - 1
    old = str(tmp_path / "kea-leases-old-20260101T000000Z.tar.gz")
    archive.write(old, str(work), {"kind": "kea-leases", "name": "old", "created": "20260101T000000Z", "lease_database": "memfile",
                                   "source": {"files": {"kea-leases4.csv": {"source": kea.lease_file, "lease_file": "kea-leases4.csv", "rows": rows}}},
                                   "kea_schema_version": None, "memfile_header": HEADER.strip(), "rows": {"kea-leases4.csv": rows}})
    with tarfile.open(old, "r:gz") as tar:
        assert tar.getnames() == ["manifest.json", "memfile/kea-leases4.csv"]
    targets = [tmp_path / "restored", tmp_path / "restored-plain"]
    tasks = []
    for directory in targets:
        directory.mkdir()
        tasks.append(lease_task(state="restore", lease_database="memfile", lease_files=[str(directory / "kea-leases4.csv")], archive=old,
                                archive_format="plain" if directory.name.endswith("plain") else "manifest"))
    results = run_tasks(tasks).results
    for directory, result in zip(targets, results, strict=True):
        assert result["changed"] is True and result["rows"] == {"kea-leases4.csv": 20} and result["skipped"] == {}, result
        assert os.listdir(directory) == ["kea-leases4.csv"]
        with KeaMemfile(lease_dir=str(directory)) as restored:
            assert restored.leases() == original
