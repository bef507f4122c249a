"""ddi.kea_dns.knot_zone against a real knotd: transactions, static-record merge, backup and restore."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import tarfile

import pytest

from tests.harness.ansible import run_tasks
from tests.harness.dns_servers import Knot
from tests.harness.procs import launch


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
    assert backup["zones_archive"].endswith("/zones.tar.gz") and sorted(backup["zones"]) == ["99.10.in-addr.arpa", "site.test"]
    members = archive_members(backup["archive"])
    manifest = json.loads(members.pop("manifest.json"))
    assert {item["path"] for item in manifest["files"]} == set(members) and "zonefiles/site.test.zone" in members
    assert "knot_backup.label" in members and any(name.startswith("timers/") for name in members)
    only_zones = archive_members(backup["zones_archive"])
    expected = ["knot_backup.label", "zonefiles/99.10.in-addr.arpa.zone", "zonefiles/site.test.zone"]
    assert sorted(n for n in only_zones if n != "manifest.json") == expected

    # The zone changes after the backup; a full restore brings every record back, SOA serial included.
    run_tasks([zone_task(knot, zone="site.test", records=[{"name": "keep-me", "state": "absent"}, {"name": "web", "value": "10.99.0.9"},
                                                          {"name": "new-after-backup", "value": "10.99.0.10"}])])
    assert records(knot) != backed_up["site.test"]
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
    assert {"site.test": records(knot), "99.10.in-addr.arpa": records(knot, "99.10.in-addr.arpa")} == backed_up

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
