"""Unit tests of the memfile side of lease backups (files only, no Kea)."""

from __future__ import annotations

import os
import threading
import time

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils import _leases as leases
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
    assert (tmp_path / "out" / "memfile" / "kea-leases4.csv").read_text() == HEADER + lease_line(3)


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
