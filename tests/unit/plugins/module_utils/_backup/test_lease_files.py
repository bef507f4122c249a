"""Unit tests of the memfile side of lease backups (files only, no Kea)."""

from __future__ import annotations

import os
import re
import threading
import time

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._backup import lease_files as leases
from ansible_collections.ddi.kea_dns.plugins.module_utils._backup.archive import ArchiveError
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, TransportError

HEADER = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n"


def lease_line(n: int) -> str:
    return f"10.99.0.{n},aa:bb:cc:dd:ee:{n:02x},,86400,1795400000,1,0,0,h{n},0,\n"


def test_copy_takes_the_companions_and_cuts_a_half_written_line(tmp_path):
    lease_file = tmp_path / "kea-leases4.csv"
    (tmp_path / "kea-leases4.csv.2").write_text(HEADER + lease_line(1) + lease_line(2))
    lease_file.write_text(HEADER + lease_line(3) + "10.99.0.4,aa:bb")  # Kea is half-way through an append
    copied = leases.copy_lease_files([str(lease_file)], str(tmp_path / "out"))
    assert {name: item["rows"] for name, item in copied.items()} == {"kea-leases4.csv.2": 2, "kea-leases4.csv": 1}
    assert (tmp_path / "out" / "kea-leases4.csv").read_text() == HEADER + lease_line(3)  # at the root, as in Kea's directory
    assert sorted(os.listdir(tmp_path / "out")) == ["kea-leases4.csv", "kea-leases4.csv.2"]


def test_copies_keep_the_mode_and_a_manifest_named_lease_file_is_refused(tmp_path):
    lease_file = tmp_path / "kea-leases4.csv"
    lease_file.write_text(HEADER + lease_line(1))
    lease_file.chmod(0o640)
    leases.copy_lease_files([str(lease_file)], str(tmp_path / "out"))
    assert (tmp_path / "out" / "kea-leases4.csv").stat().st_mode & 0o777 == 0o640
    (tmp_path / "manifest.json").write_text(HEADER)
    with pytest.raises(InvalidInputError, match="named manifest.json would collide"):
        leases.copy_lease_files([str(tmp_path / "manifest.json")], str(tmp_path / "out2"))


def test_copy_waits_for_a_running_lease_file_cleanup(tmp_path):
    lease_file = tmp_path / "kea-leases4.csv"
    lease_file.write_text(HEADER + lease_line(1))
    pid_file = tmp_path / "kea-leases4.csv.pid"
    pid_file.write_text(str(os.getpid()))  # a live process: kea-lfc is running
    with pytest.raises(TransportError, match=r"kea-lfc pid \d+.*0.3 s"):
        leases.copy_lease_files([str(lease_file)], str(tmp_path / "out1"), lfc_wait=0.3)

    def cleanup_ends() -> None:
        time.sleep(0.5)
        (tmp_path / "kea-leases4.csv.2").write_text(HEADER + lease_line(1))
        lease_file.write_text(HEADER)
        pid_file.unlink()

    worker = threading.Thread(target=cleanup_ends)
    worker.start()
    copied = leases.copy_lease_files([str(lease_file)], str(tmp_path / "out2"), lfc_wait=10)
    worker.join()
    assert {name: item["rows"] for name, item in copied.items()} == {"kea-leases4.csv.2": 1, "kea-leases4.csv": 0}


def test_targets_of_a_restore():
    archived = {"kea-leases4.csv": {"lease_file": "kea-leases4.csv"}, "kea-leases4.csv.2": {"lease_file": "kea-leases4.csv"},
                "kea-leases6.csv": {"lease_file": "kea-leases6.csv"}}
    assert leases.memfile_targets(["/a/kea-leases4.csv", "/b/kea-leases6.csv"], archived) == {
        "kea-leases4.csv": "/a/kea-leases4.csv", "kea-leases4.csv.2": "/a/kea-leases4.csv.2", "kea-leases6.csv": "/b/kea-leases6.csv"}
    one = {k: v for k, v in archived.items() if k.startswith("kea-leases4")}
    assert leases.memfile_targets(["/c/leases.csv"], one) == {"kea-leases4.csv": "/c/leases.csv", "kea-leases4.csv.2": "/c/leases.csv.2"}
    with pytest.raises(InvalidInputError, match="holds kea-leases6.csv, which no entry of lease_files names"):
        leases.memfile_targets(["/a/kea-leases4.csv", "/b/other.csv"], archived)


def unpacked(tmp_path, files: dict[str, str]) -> tuple[str, list[str]]:
    """A plain archive as archive.unpack leaves it: the directory and its members."""
    root = tmp_path / "unpacked"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return str(root), sorted(files)


def test_plain_archive_lease_files_by_name_others_skipped(tmp_path):
    root, members = unpacked(tmp_path, {"kea-leases4.csv": HEADER + lease_line(3), "kea-leases4.csv.2": HEADER + lease_line(1) + lease_line(2),
                                        "kea-leases4.csv.pid": "4242\n", "kea-leases6.csv": "address,duid,valid_lifetime\n",
                                        "kea-dhcp4.kea-dhcp4.pid": "17\n", "sub/kea-leases4.csv": HEADER})
    found, skipped = leases.plain_lease_files("a.tar.gz", root, members, ["/t/kea-leases4.csv"])
    assert found == {"kea-leases4.csv": {"lease_file": "kea-leases4.csv", "rows": 1}, "kea-leases4.csv.2": {"lease_file": "kea-leases4.csv", "rows": 2}}
    assert skipped == {"kea-dhcp4.kea-dhcp4.pid": "not a lease file", "kea-leases4.csv.pid": "not a lease file",
                       "kea-leases6.csv": "a lease file that no entry of lease_files names",
                       "sub/kea-leases4.csv": "not at the archive's root, where Kea's lease files are"}
    assert leases.memfile_targets(["/t/kea-leases4.csv"], found) == {"kea-leases4.csv": "/t/kea-leases4.csv", "kea-leases4.csv.2": "/t/kea-leases4.csv.2"}


def test_plain_archive_one_lease_file_restored_under_another_name(tmp_path):
    root, members = unpacked(tmp_path, {"leases.csv": HEADER, "leases.csv.2": HEADER + lease_line(1), "README": "x\n"})
    found, skipped = leases.plain_lease_files("a.tar.gz", root, members, ["/t/kea-leases4.csv"])
    assert found == {"leases.csv": {"lease_file": "leases.csv", "rows": 0}, "leases.csv.2": {"lease_file": "leases.csv", "rows": 1}}
    assert skipped == {"README": "not a lease file"}
    assert leases.memfile_targets(["/t/kea-leases4.csv"], found) == {"leases.csv": "/t/kea-leases4.csv", "leases.csv.2": "/t/kea-leases4.csv.2"}
    root, members = unpacked(tmp_path / "two", {"a4.csv": HEADER, "a6.csv": "address,duid\n"})
    with pytest.raises(InvalidInputError, match=r"holds the lease files a4.csv, a6.csv and one entry of lease_files takes one"):
        leases.plain_lease_files("a.tar.gz", root, members, ["/t/kea-leases4.csv"])


@pytest.mark.parametrize(("text", "cause"), [
    ("", "kea-leases4.csv is empty: it has no lease file header (address,...)"),
    ("adress,hwaddr\n10.99.0.1,aa\n", "kea-leases4.csv has no lease file header: line 1 is 'adress,hwaddr', which does not start with 'address,'"),
    ("address,hwaddr", "kea-leases4.csv is truncated: its header line 'address,hwaddr' ends without a newline"),
    (HEADER + lease_line(1) + "10.99.0.2,aa:bb", "kea-leases4.csv is truncated: line 3 '10.99.0.2,aa:bb' ends without a newline"),
    (HEADER + lease_line(1).replace(",h1,", ",h1,x,"), "kea-leases4.csv line 2 has 12 comma-separated fields, its header has 11: '10.99.0.1,"),
    (HEADER + "\n", "kea-leases4.csv line 2 has 1 comma-separated fields, its header has 11: ''"),
])
def test_plain_archive_bad_lease_files_are_refused(tmp_path, text, cause):
    root, members = unpacked(tmp_path, {"kea-leases4.csv": text})
    with pytest.raises(ArchiveError, match="^" + re.escape(f"archive a.tar.gz: lease file {cause}")):
        leases.plain_lease_files("a.tar.gz", root, members, ["/t/kea-leases4.csv"])


def test_plain_archive_without_a_lease_file_is_refused(tmp_path):
    root, members = unpacked(tmp_path, {"kea-dhcp4.kea-dhcp4.pid": "17\n", "notes.txt": "address book\n"})
    with pytest.raises(ArchiveError, match=r"holds no lease file of lease_files \(kea-leases4.csv, or their .2, .1, .completed companions\) at its root, "
                                           r"only kea-dhcp4.kea-dhcp4.pid, notes.txt; nothing was changed"):
        leases.plain_lease_files("a.tar.gz", root, members, ["/t/kea-leases4.csv"])


def test_lease_dir_of_both_layouts(tmp_path):
    (tmp_path / "memfile").mkdir()
    (tmp_path / "memfile" / "kea-leases4.csv").write_text(HEADER)
    old = {"source": {"files": {"kea-leases4.csv": {"lease_file": "kea-leases4.csv"}}}}
    assert leases.lease_dir(str(tmp_path), old, "a.tar.gz") == str(tmp_path / "memfile")
    with pytest.raises(ArchiveError, match=r"names the lease files kea-leases4.csv, which are not in the archive's . directory"):
        leases.lease_dir(str(tmp_path), dict(old, memfile_layout="root"), "a.tar.gz")
