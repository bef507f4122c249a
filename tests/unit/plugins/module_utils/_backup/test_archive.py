"""Unit tests of the verifiable backup archives (no servers)."""

from __future__ import annotations

import io
import json
import os
import tarfile

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._backup import archive
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import ConflictError, InvalidInputError


@pytest.fixture
def source(tmp_path):
    root = tmp_path / "source"
    (root / "zonefiles").mkdir(parents=True)
    (root / "zonefiles" / "site.test.zone").write_text("@ 300 SOA ns1 hostmaster 1 2 3 4 5\n")
    (root / "knot_backup.label").write_text("label: Knot DNS Backup\n")
    return root


def test_write_then_unpack_round_trip(source, tmp_path):
    path = str(tmp_path / "a.tar.gz")
    manifest = archive.write(path, str(source), {"kind": "knot-zones", "zones": {"site.test": 1}})
    assert [item["path"] for item in manifest["files"]] == ["knot_backup.label", "zonefiles/site.test.zone"]
    with tarfile.open(path) as tar:
        assert tar.getnames()[0] == "manifest.json"
    out = tmp_path / "out"
    assert archive.unpack(path, str(out), kind="knot-zones") == manifest
    assert (out / "zonefiles" / "site.test.zone").read_text().startswith("@ 300 SOA")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def rewrite(path: str, target: str, change) -> None:
    """Copy an archive member by member, letting ``change(name, data)`` alter or drop members (None)."""
    with tarfile.open(path) as tar, tarfile.open(target, "w:gz") as out:
        for member in tar:
            data = change(member.name, tar.extractfile(member).read())
            if data is not None:
                member.size = len(data)
                out.addfile(member, io.BytesIO(data))


@pytest.mark.parametrize(("change", "message"), [
    (lambda name, data: data.replace(b"SOA", b"SOX") if name.endswith(".zone") else data, "checksum mismatch for zonefiles/site.test.zone"),
    (lambda name, data: None if name.endswith(".zone") else data, "members listed in the manifest are missing: zonefiles/site.test.zone"),
    (lambda name, data: b"{" if name == "manifest.json" else data, "manifest.json is not valid JSON"),
    (lambda name, data: json.dumps({"format": 99, "files": []}).encode() if name == "manifest.json" else data, "not a format 1 manifest"),
    (lambda name, data: None if name == "manifest.json" else data, "the first member is not manifest.json"),
])
def test_altered_archives_are_refused(source, tmp_path, change, message):
    path = str(tmp_path / "a.tar.gz")
    archive.write(path, str(source), {"kind": "knot-zones"})
    altered = str(tmp_path / "b.tar.gz")
    rewrite(path, altered, change)
    with pytest.raises(archive.ArchiveError, match=message):
        archive.unpack(altered, str(tmp_path / "out"))


def test_unlisted_member_truncated_file_and_wrong_kind(source, tmp_path):
    path = str(tmp_path / "a.tar.gz")
    archive.write(path, str(source), {"kind": "kea-leases"})
    extra = str(tmp_path / "extra.tar.gz")
    with tarfile.open(path) as tar, tarfile.open(extra, "w:gz") as out:
        for member in tar:
            out.addfile(member, tar.extractfile(member))
        sneaky = tarfile.TarInfo("../escape")
        sneaky.size = 1
        out.addfile(sneaky, io.BytesIO(b"x"))
    with pytest.raises(archive.ArchiveError, match="'../escape' is not listed"):
        archive.unpack(extra, str(tmp_path / "out1"))
    truncated = tmp_path / "t.tar.gz"
    truncated.write_bytes((tmp_path / "a.tar.gz").read_bytes()[:40])
    with pytest.raises(archive.ArchiveError, match="corrupt or truncated"):
        archive.unpack(str(truncated), str(tmp_path / "out2"))
    with pytest.raises(archive.ArchiveError, match="holds a 'kea-leases' backup, not a 'knot-zones' backup"):
        archive.unpack(path, str(tmp_path / "out3"), kind="knot-zones")
    with pytest.raises(archive.ArchiveError, match="no such file"):
        archive.unpack(str(tmp_path / "missing.tar.gz"), str(tmp_path / "out4"))


def test_names_timestamps_and_retention(tmp_path):
    assert archive.check_name("unified-dns-dhcp") == "unified-dns-dhcp"
    with pytest.raises(InvalidInputError, match="name: invalid value '../x'"):
        archive.check_name("../x")
    for stamp in ("20261120T000000Z", "20261121T000000Z", "20261121T000001Z", "20261122T000000Z"):
        (tmp_path / f"kea-leases-dhcp1-{stamp}.tar.gz").write_bytes(b"")
    (tmp_path / "kea-leases-dhcp2-20261101T000000Z.tar.gz").write_bytes(b"")
    (tmp_path / "kea-leases.tar.gz").write_bytes(b"")
    removed = archive.prune(str(tmp_path), "kea-leases", "dhcp1", 2)
    assert sorted(os.path.basename(p) for p in removed) == ["kea-leases-dhcp1-20261120T000000Z.tar.gz", "kea-leases-dhcp1-20261121T000000Z.tar.gz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kea-leases-dhcp1-20261121T000001Z.tar.gz", "kea-leases-dhcp1-20261122T000000Z.tar.gz",
                                                          "kea-leases-dhcp2-20261101T000000Z.tar.gz", "kea-leases.tar.gz"]
    assert archive.prune(str(tmp_path), "kea-leases", "dhcp1", 0) == []
    with pytest.raises(ConflictError, match="already exists"):
        archive.timestamped_path(str(tmp_path), "kea-leases", "dhcp1", "20261122T000000Z")
    with pytest.raises(InvalidInputError, match="backup_dir"):
        archive.backup_dir(str(tmp_path / "kea-leases.tar.gz"), check_mode=False)


@pytest.mark.parametrize(("offset", "what"), [(-8, "CRC"), (-1, "length")])
def test_a_damaged_gzip_trailer_is_refused(source, tmp_path, offset, what):
    """The tar ends before the gzip trailer; the stream is read to its end, as gzip -t does."""
    path = tmp_path / "a.tar.gz"
    archive.write(str(path), str(source), {"kind": "knot-zones"})
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    damaged = tmp_path / f"damaged-{what}.tar.gz"
    damaged.write_bytes(bytes(data))
    with pytest.raises(archive.ArchiveError, match="corrupt or truncated"):
        archive.unpack(str(damaged), str(tmp_path / "out"), kind="knot-zones")


def test_plain_archives_of_seed_003(source, tmp_path):
    """A plain tar (no manifest) is refused unless plain=True; then its files are listed with their sha256."""
    path = str(tmp_path / "zones.tar.gz")
    with tarfile.open(path, "w:gz") as tar:
        tar.add(str(source), arcname=".")
    with pytest.raises(archive.ArchiveError, match="archive_format=plain"):
        archive.unpack(path, str(tmp_path / "out1"))
    manifest = archive.unpack(path, str(tmp_path / "out2"), plain=True)
    assert manifest["format"] == "plain" and archive.file_names(manifest) == ["knot_backup.label", "zonefiles/site.test.zone"]
    assert (tmp_path / "out2" / "zonefiles" / "site.test.zone").read_text().startswith("@ 300 SOA")
    linked = str(tmp_path / "linked.tar.gz")
    with tarfile.open(linked, "w:gz") as tar:
        link = tarfile.TarInfo("kea-leases4.csv")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
        tar.addfile(link)
    with pytest.raises(archive.ArchiveError, match="'kea-leases4.csv' is no regular file or directory"):
        archive.unpack(linked, str(tmp_path / "out3"), plain=True)
