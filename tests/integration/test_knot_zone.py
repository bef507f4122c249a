"""ddi.kea_dns.knot_zone against a real knotd: transactions, static-record merge, backup and restore."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import tarfile

import pytest

from tests.harness.ansible import run_tasks
from tests.harness.dns_servers import ZONES, Knot
from tests.harness.procs import launch, open_to_all


@pytest.fixture
def knot(tmp_path):
    """A Knot server of its own: restores set zones back, which other tests' servers must not see."""
    server = launch(Knot())
    yield server
    server.stop()


def zone_task(knot: Knot, **args) -> dict:
    return {"ddi.kea_dns.knot_zone": {"knot_socket": knot.socket, **args}}


def records(knot: Knot, zone: str = "site.test") -> dict:
    """The whole zone, record by record (AXFR), SOA included."""
    return knot.transfer(zone)


def open_transactions(knot: Knot) -> str:
    import subprocess  # pylint: disable=import-outside-toplevel

    return subprocess.run(["knotc", "-s", knot.socket, "zone-status", "site.test", "+transaction"], capture_output=True, text=True, check=True).stdout


def test_records_in_one_transaction_check_diff_idempotent(knot):
    batch = [{"name": f"us3-cab10-ru{n:02d}-idrac", "value": f"10.99.0.{n}"} for n in range(1, 21)]
    before = records(knot)
    run = run_tasks([
        dict(zone_task(knot, zone="site.test", records=batch), check_mode=True, diff=True),
        zone_task(knot, zone="site.test", records=batch),
        zone_task(knot, zone="site.test", records=batch),
    ])
    check, apply, again = run.results
    assert check["changed"] is True and check["summary"]["created"] == 20, check
    assert "us3-cab10-ru01-idrac.site.test A" in check["diff"]["after"]
    assert apply["changed"] is True and apply["summary"]["created"] == 20, apply
    assert again["changed"] is False and again["summary"]["unchanged"] == 20
    after = records(knot)
    expected = {k: v for k, v in before.items() if k[1] != "SOA"}
    expected.update({(f"us3-cab10-ru{n:02d}-idrac.site.test", "A"): [f"10.99.0.{n}"] for n in range(1, 21)})
    assert {k: v for k, v in after.items() if k[1] != "SOA"} == expected
    with open(os.path.join(knot.base, "zones", "site.test.zone"), encoding="utf-8") as handle:
        assert "us3-cab10-ru20-idrac" in handle.read()  # flushed to the zone file

    # Absent and present in one task; then a batch Knot refuses at commit (CNAME beside an A): nothing of it applied.
    run = run_tasks([
        zone_task(knot, zone="site.test", records=[{"name": "us3-cab10-ru01-idrac", "state": "absent"},
                                                   {"name": "us3-cab10-ru02-idrac", "value": "10.99.0.102", "ttl": 300}]),
        zone_task(knot, zone="site.test", records=[{"name": "us3-cab11-ru01-idrac", "value": "10.99.1.1"},
                                                   {"name": "ns1", "type": "CNAME", "value": "us3-cab11-ru01-idrac.site.test"}]),
    ])
    mixed, refused = run.results
    assert mixed["summary"] == {"created": 0, "deleted": 1, "updated": 1, "unchanged": 0}, mixed
    assert knot.query("us3-cab10-ru01-idrac.site.test") == [] and knot.query("us3-cab10-ru02-idrac.site.test") == ["10.99.0.102"]
    assert refused.get("failed") and "semantic check" in refused["msg"], refused
    assert knot.query("us3-cab11-ru01-idrac.site.test") == [] and knot.query("ns1.site.test") == ["127.0.0.1"]
    assert "transaction: open" not in open_transactions(knot)  # aborted, none left open


def no_soa(zone: dict) -> dict:
    return {k: v for k, v in zone.items() if k[1] != "SOA"}


def serial(zone: dict) -> int:
    return int(zone[(next(k[0] for k in zone if k[1] == "SOA"), "SOA")][0].split()[2])


def archive_members(path: str) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}


def test_backup_change_restore_identical_and_static_merge(knot, tmp_path):
    backups = str(tmp_path / "backups")
    run_tasks([zone_task(knot, zone="site.test", records=[{"name": "keep-me", "value": "10.99.0.7"}, {"name": "web", "value": "10.99.0.8"}])])
    backed_up = {"site.test": records(knot), "99.10.in-addr.arpa": records(knot, "99.10.in-addr.arpa")}
    check = run_tasks([dict(zone_task(knot, state="backup", backup_dir=backups, name="unified-dns-dhcp"), check_mode=True)]).results[0]
    assert check["changed"] is True and not os.path.exists(backups), check
    backup = run_tasks([zone_task(knot, state="backup", backup_dir=backups, name="unified-dns-dhcp")]).results[0]
    assert re.fullmatch(r".*/knot-zones-unified-dns-dhcp-\d{8}T\d{6}Z\.tar\.gz", backup["archive"]), backup
    assert backup["zones_archive"].endswith("/zones.tar.gz") and sorted(backup["zones"]) == sorted(ZONES)
    members = archive_members(backup["archive"])
    manifest = json.loads(members.pop("manifest.json"))
    assert {item["path"] for item in manifest["files"]} == set(members) and "zonefiles/site.test.zone" in members
    assert "knot_backup.label" in members and any(name.startswith("timers/") for name in members)
    only_zones = archive_members(backup["zones_archive"])
    expected = ["knot_backup.label", *sorted(f"zonefiles/{zone}.zone" for zone in ZONES)]
    assert sorted(n for n in only_zones if n != "manifest.json") == expected

    # The zone changes after the backup; a full restore brings every record back, SOA serial included.
    run_tasks([zone_task(knot, zone="site.test", records=[{"name": "keep-me", "state": "absent"}, {"name": "web", "value": "10.99.0.9"},
                                                          {"name": "new-after-backup", "value": "10.99.0.10"}])])
    damaged = records(knot)
    assert damaged != backed_up["site.test"]
    run = run_tasks([
        dict(zone_task(knot, state="restore", archive=backup["archive"]), check_mode=True, diff=True),
        zone_task(knot, state="restore", archive=backup["archive"]),
        zone_task(knot, state="restore", archive=backup["archive"]),
    ])
    check, restore, again = run.results
    assert check["changed"] is True and check["restored"] == ["site.test"], check
    assert any("new-after-backup" in line for line in check["diff"][0]["before"]["site.test"])
    assert restore["changed"] is True and restore["restored"] == ["site.test"], restore
    assert again["changed"] is False and again["restored"] == []
    restored = {"site.test": records(knot), "99.10.in-addr.arpa": records(knot, "99.10.in-addr.arpa")}
    assert {z: no_soa(r) for z, r in restored.items()} == {z: no_soa(r) for z, r in backed_up.items()}
    assert restored["99.10.in-addr.arpa"] == backed_up["99.10.in-addr.arpa"]  # not restored: left as it was
    # The restored zone's serial is above the damaged one's (and the archive's), so secondaries follow.
    assert serial(restored["site.test"]) == restore["serials"]["site.test"] == serial(damaged) + 1, (restore["serials"], serial(damaged))

    # The zone-files archive, with static records merged on top in the same task (they win over the backup's).
    run_tasks([zone_task(knot, zone="site.test", records=[{"name": "drift", "value": "10.99.0.11"}])])
    static = [{"name": "web", "value": "10.99.0.80"}, {"name": "keep-me", "type": "CNAME", "value": "web.site.test"},
              {"name": "txt", "type": "TXT", "value": "static \"quoted\" text"}]
    run = run_tasks([
        dict(zone_task(knot, state="restore", archive=backup["zones_archive"], zone="site.test", static_records=static), diff=True),
        zone_task(knot, state="restore", archive=backup["zones_archive"], zone="site.test", static_records=static),
        zone_task(knot, zone="site.test", static_records=static),
    ])
    merged, merged_again, present_again = run.results
    assert merged["changed"] is True and merged["restored"] == ["site.test"], merged
    assert merged["summary"] == {"created": 2, "deleted": 1, "updated": 1, "unchanged": 0}, merged["summary"]
    assert merged_again["changed"] is False and present_again["changed"] is False, (merged_again, present_again)
    zone = records(knot)
    expected = {k: v for k, v in backed_up["site.test"].items() if k[1] != "SOA" and k[0] != "keep-me.site.test"}
    expected.update({("web.site.test", "A"): ["10.99.0.80"], ("keep-me.site.test", "CNAME"): ["web.site.test"],
                     ("txt.site.test", "TXT"): ['static \\"quoted\\" text']})
    assert {k: v for k, v in zone.items() if k[1] != "SOA"} == expected
    with open(os.path.join(knot.base, "zones", "site.test.zone"), encoding="utf-8") as handle:
        assert "10.99.0.80" in handle.read()


def test_bad_input_changes_nothing(knot, tmp_path):
    backups = str(tmp_path / "backups")
    run = run_tasks([zone_task(knot, state="backup", backup_dir=backups, name="bad", zone="site.test")])
    archive = run.results[0]["archive"]
    before = records(knot)

    truncated = str(tmp_path / "truncated.tar.gz")
    with open(archive, "rb") as source, open(truncated, "wb") as out:
        out.write(source.read()[:-200])
    altered = str(tmp_path / "altered.tar.gz")
    with tarfile.open(archive, "r:gz") as tar, tarfile.open(altered, "w:gz") as out:
        for member in tar:
            data = tar.extractfile(member).read() if member.isfile() else None
            if member.name == "zonefiles/site.test.zone":
                data = data.replace(b"127.0.0.1", b"127.0.0.2")
                member.size = len(data)
            out.addfile(member, io.BytesIO(data) if data is not None else None)
    not_gzip = str(tmp_path / "zones.tar.gz")
    with open(not_gzip, "wb") as out:
        out.write(gzip.compress(b"not a tar archive"))
    run_tasks([zone_task(knot, zone="site.test", records=[{"name": "after-backup", "value": "10.99.0.12"}])])
    before = records(knot)

    run = run_tasks([
        zone_task(knot, state="restore", archive=truncated),
        zone_task(knot, state="restore", archive=altered),
        zone_task(knot, state="restore", archive=not_gzip),
        zone_task(knot, state="restore", archive=archive, zone="nosuch.test"),
        {"ddi.kea_dns.knot_zone": {"knot_socket": str(tmp_path / "missing.sock"), "zone": "site.test", "records": [{"name": "x", "value": "10.99.0.1"}]}},
        zone_task(knot, zone="nosuch.test", static_records=[{"name": "x", "value": "10.99.0.1"}]),
        zone_task(knot, zone="site.test", static_records=[{"name": "ok", "value": "10.99.0.13"}, {"name": "bad", "value": "10.99.0.300"}]),
        zone_task(knot, zone="site.test", static_records=[{"name": "gone", "state": "absent"}]),
    ])
    truncated_r, altered_r, not_gzip_r, no_zone_in_archive, no_socket, no_zone, invalid, static_absent = run.results
    assert "corrupt or truncated" in truncated_r["msg"] and "nothing was changed" in truncated_r["msg"], truncated_r
    assert "checksum mismatch for zonefiles/site.test.zone" in altered_r["msg"], altered_r
    assert "corrupt or truncated" in not_gzip_r["msg"] or "not an archive" in not_gzip_r["msg"], not_gzip_r
    assert "zone nosuch.test is not in the archive" in no_zone_in_archive["msg"], no_zone_in_archive
    assert "cannot connect to the Knot control socket" in no_socket["msg"] and "missing.sock" in no_socket["msg"], no_socket
    assert "zone nosuch.test does not exist" in no_zone["msg"], no_zone
    assert invalid["msg"].startswith("static_records[1].value: invalid value '10.99.0.300'"), invalid
    assert static_absent["msg"].startswith("static_records[0].state"), static_absent
    assert records(knot) == before  # nothing changed by any of them
    assert knot.query("ok.site.test") == []


def test_retention_keeps_exactly_n(knot, tmp_path):
    import time  # pylint: disable=import-outside-toplevel

    backups = tmp_path / "backups"
    results = []
    for _round in range(4):
        results.append(run_tasks([zone_task(knot, state="backup", backup_dir=str(backups), name="ret", keep=2)]).results[0])
        time.sleep(1.05)  # archive names carry the second
    kept = sorted(p.name for p in backups.iterdir() if p.name.startswith("knot-zones-ret-"))
    assert kept == sorted(os.path.basename(r["archive"]) for r in results[-2:]), kept
    assert results[-1]["removed"] == [results[1]["archive"]] and (backups / "zones.tar.gz").exists()


def test_disaster_recovery_knotd_as_knot_with_a_secondary(tmp_path):
    """knotd as user knot (as Debian runs it) with a BIND secondary: a backup directory knotd can enter, a directory it
    cannot enter refused before anything is purged, both damaged zones restored with static records on top, serials
    the secondary follows, five zone-purge rounds, a failure after the first destructive step reported as such, and a
    plain archive of seed 003 imported."""
    import subprocess  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel

    from tests.harness.ansible import collections_path  # pylint: disable=import-outside-toplevel
    from tests.harness.dns_servers import Bind  # pylint: disable=import-outside-toplevel
    from tests.harness.procs import wait_for  # pylint: disable=import-outside-toplevel

    sys.path.insert(0, collections_path())
    from ansible_collections.ddi.kea_dns.plugins.module_utils._backup import archive  # pylint: disable=import-outside-toplevel

    open_to_all(tmp_path)  # knotd must enter it
    secondary = Bind(primary=None)
    knot = launch(Knot(user="knot", notify_port=secondary.port))
    secondary.primary = knot
    secondary = launch(secondary)
    knotc = ["knotc", "-s", knot.socket]
    try:
        assert os.stat(knot.socket).st_uid != 0
        backups = str(tmp_path / "new" / "backups")
        static = [{"name": "ns2", "value": "10.99.0.2"}]
        run_tasks([zone_task(knot, zone="site.test", records=[{"name": "web", "value": "10.99.0.8"}]),
                   zone_task(knot, zone="99.10.in-addr.arpa", records=[{"name": "8", "type": "PTR", "value": "web.site.test."}])])
        (tmp_path / "new").mkdir()
        backup = run_tasks([zone_task(knot, state="backup", backup_dir=backups, name="dr")]).results[0]
        assert not backup.get("failed"), backup
        assert oct(os.stat(backups).st_mode & 0o777) == "0o750" and os.stat(backups).st_gid == os.stat(knot.socket).st_gid
        good = {z: no_soa(records(knot, z)) for z in ("site.test", "99.10.in-addr.arpa")}

        def damage(tag: str) -> None:
            run_tasks([zone_task(knot, zone="site.test", records=[{"name": "web", "value": "10.99.0.66"}, {"name": tag, "value": "10.99.0.67"}]),
                       zone_task(knot, zone="99.10.in-addr.arpa", records=[{"name": "8", "type": "PTR", "state": "absent"}])])

        def restored_with_static() -> None:
            for zone in ("site.test", "99.10.in-addr.arpa"):
                expected = {**good[zone], **({("ns2.site.test", "A"): ["10.99.0.2"]} if zone == "site.test" else {})}
                assert no_soa(records(knot, zone)) == expected, zone

        damage("drift")
        wait_for(lambda: secondary.query("drift.site.test") == ["10.99.0.67"], 20, "the secondary transferring the damaged zone")
        damaged_serial = serial(records(knot))

        # An archive in a directory knotd cannot enter: refused before anything is purged, the fix named.
        closed = tmp_path / "closed"
        closed.mkdir(mode=0o700)
        shutil.copy(backup["zones_archive"], closed / "zones.tar.gz")
        before = records(knot)
        refused = run_tasks([zone_task(knot, state="restore", archive=str(closed / "zones.tar.gz"), zone="site.test",
                                       static_records=static)]).results[0]
        assert refused.get("failed") and "knotd runs as knot" in refused["msg"] and "chmod g+x" in refused["msg"], refused
        assert "nothing was changed" in refused["msg"] and records(knot) == before

        # Both damaged zones restored although static records name site.test; the static records on top.
        restore = zone_task(knot, state="restore", archive=backup["zones_archive"], zone="site.test", static_records=static)
        done, again = run_tasks([restore, restore]).results
        assert done["changed"] and sorted(done["restored"]) == ["99.10.in-addr.arpa", "site.test"], done
        assert again["changed"] is False, again
        restored_with_static()
        assert serial(records(knot)) > damaged_serial
        wait_for(lambda: secondary.query("drift.site.test") == [] and secondary.query("web.site.test") == ["10.99.0.8"]
                 and secondary.query("ns2.site.test") == ["10.99.0.2"], 20, "the secondary transferring the restored zone")

        # zone-purge (journal only, or everything) then restore, five rounds in a row.
        for round_ in range(5):
            damage(f"round{round_}")
            subprocess.run([*knotc, "-f", "zone-purge", "site.test", *(["+journal"] if round_ % 2 == 0 else [])], check=True, capture_output=True)
            result = run_tasks([restore]).results[0]
            assert not result.get("failed") and "site.test" in result["restored"], (round_, result)
            restored_with_static()
            assert knot.query("web.site.test") == ["10.99.0.8"] and knot.query(f"round{round_}.site.test") == []

        # A zone file Knot refuses (no SOA) in an archive whose manifest is right: the failure names what was changed.
        broken_dir = tmp_path / "broken"
        (broken_dir / "zonefiles").mkdir(parents=True)
        (broken_dir / "zonefiles" / "site.test.zone").write_text("site.test. 300 NS ns1.site.test.\nns1.site.test. 300 A 127.0.0.1\n")
        with tarfile.open(backup["zones_archive"]) as tar:
            (broken_dir / "knot_backup.label").write_bytes(tar.extractfile("knot_backup.label").read())
        archive.write(str(tmp_path / "new" / "broken.tar.gz"), str(broken_dir), {"kind": "knot-zones", "zones": {"site.test": 2}, "parts": ["zonefiles"]})
        failed = run_tasks([zone_task(knot, state="restore", archive=str(tmp_path / "new" / "broken.tar.gz"), knot_timeout=3)]).results[0]
        changed = "the restore had already changed the server: purged the journal of site.test; zone-restore of site.test"
        assert failed.get("failed") and changed in failed["msg"], failed
        assert "nothing was changed" not in failed["msg"]
        fixed = run_tasks([restore]).results[0]
        assert not fixed.get("failed"), fixed
        restored_with_static()

        # Seed 003: knotc zone-backup tarred without a manifest, imported with archive_format=plain.
        damage("seed")
        seed_dir = str(tmp_path / "new" / "seed")
        os.mkdir(seed_dir)
        shutil.chown(seed_dir, "knot", "knot")  # the seed ran knotc in knotd's container, into a directory knotd writes
        made = subprocess.run([*knotc, "-b", "zone-backup", "+backupdir", os.path.join(seed_dir, "backup")], capture_output=True, text=True, check=False)
        assert made.returncode == 0, made.stdout + made.stderr
        seed_dir = os.path.join(seed_dir, "backup")
        with tarfile.open(str(tmp_path / "new" / "seed.tar.gz"), "w:gz") as tar:
            tar.add(seed_dir, arcname=".")
        run_tasks([zone_task(knot, zone="site.test", records=[{"name": "after-seed-backup", "value": "10.99.0.70"}])])
        seed = str(tmp_path / "new" / "seed.tar.gz")
        plain_refused, imported = run_tasks([zone_task(knot, state="restore", archive=seed),
                                             zone_task(knot, state="restore", archive=seed, archive_format="plain")]).results
        assert "archive_format=plain" in plain_refused["msg"], plain_refused
        assert imported["restored"] == ["site.test"] and imported["manifest"]["format"] == "plain", imported
        assert knot.query("after-seed-backup.site.test") == [] and knot.query("seed.site.test") == ["10.99.0.67"]
    finally:
        secondary.stop()
        knot.stop()
