"""The hosts_file backend: its managed block created, updated and emptied, the lines outside it byte-identical,
atomic replacement under a concurrent reader, and two writers that lose nothing."""

from __future__ import annotations

import os
import threading

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import Change, RRset, RRsetKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.hosts_file import BEGIN, END, NOTICE, HostsFileBackend, split_block
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.registry import dns_backend
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, NotFoundError

OUTSIDE = "127.0.0.1\tlocalhost\n::1 localhost ip6-localhost  # keep   this spacing\n\n# a comment of the admin\n10.0.0.9 printer\n"
ZONE = "site.test"


def rrset(name: str, rtype: str, *values: str, ttl: int = 600, owner: str | None = "kea/default", ref: str | None = None) -> RRset:
    return RRset(ZONE, RRsetKey(f"{name}.{ZONE}", rtype), tuple(values), ttl, owner=owner, origin=ref)


def create(*rrsets: RRset) -> list[Change]:
    return [Change(None, r) for r in rrsets]


@pytest.fixture
def hosts(tmp_path):
    path = tmp_path / "hosts"
    path.write_text(OUTSIDE)
    path.chmod(0o640)
    return path


def test_block_created_updated_emptied_and_the_rest_byte_identical(hosts):
    backend = HostsFileBackend(str(hosts))
    idrac = rrset("us3-cab10-ru20-idrac", "A", "10.99.0.50", ref="subnet-1/hw-address/aa:bb:cc:dd:ee:ff")
    backend.apply(ZONE, create(idrac, rrset("us3-cab10-ru20-idrac", "AAAA", "2001:db8::50", "2001:db8::5"), rrset("a-bmc", "A", "10.99.0.7", ttl=60)))
    text = hosts.read_text()
    assert text.startswith(OUTSIDE) and text.endswith(END + "\n")
    block = text[len(OUTSIDE):].splitlines()
    assert block[0] == BEGIN and block[-2] == "# Total entries: 4"
    assert [line.split("\t")[:2] for line in block[2:-2]] == [  # by name, then IPv4 before IPv6, addresses in order
        ["10.99.0.7", f"a-bmc.{ZONE}"], ["10.99.0.50", f"us3-cab10-ru20-idrac.{ZONE}"],
        ["2001:db8::5", f"us3-cab10-ru20-idrac.{ZONE}"], ["2001:db8::50", f"us3-cab10-ru20-idrac.{ZONE}"]]
    assert oct(os.stat(hosts).st_mode & 0o777) == "0o640"

    read = backend.get(ZONE, [idrac.key, RRsetKey(f"us3-cab10-ru20-idrac.{ZONE}", "AAAA"), RRsetKey(f"a-bmc.{ZONE}", "A")])
    assert read[idrac.key] == idrac and read[idrac.key].owner == "kea/default" and read[idrac.key].origin == "subnet-1/hw-address/aa:bb:cc:dd:ee:ff"
    assert read[RRsetKey(f"a-bmc.{ZONE}", "A")].ttl == 60
    assert len(backend.list_zone(ZONE)) == 3 and backend.list_zone("other.test") == []

    # The same records again: the file is not written (same inode, same bytes).
    inode = os.stat(hosts).st_ino
    backend.apply(ZONE, [Change(idrac, idrac)])
    assert os.stat(hosts).st_ino == inode

    moved = rrset("us3-cab10-ru20-idrac", "A", "10.99.0.51")
    backend.apply(ZONE, [Change(idrac, moved), Change(read[RRsetKey(f"a-bmc.{ZONE}", "A")], None)])
    assert backend.get(ZONE, [idrac.key])[idrac.key].values == ("10.99.0.51",)
    assert f"a-bmc.{ZONE}" not in hosts.read_text() and hosts.read_text().startswith(OUTSIDE)

    backend.apply(ZONE, [Change(r, None) for r in backend.list_zone(ZONE)])
    assert hosts.read_text() == OUTSIDE + "\n".join([BEGIN, NOTICE, "# Total entries: 0", END]) + "\n"


def test_lines_after_the_block_and_a_missing_newline_are_kept(tmp_path):
    path = tmp_path / "hosts"
    path.write_text("127.0.0.1 localhost")  # no newline at the end
    backend = HostsFileBackend(str(path))
    backend.apply(ZONE, create(rrset("x-bmc", "A", "10.99.0.1")))
    path.write_text(path.read_text() + "10.0.0.1 added-later-by-hand\n")
    backend.apply(ZONE, create(rrset("y-bmc", "A", "10.99.0.2")))
    text = path.read_text()
    assert text.startswith("127.0.0.1 localhost\n" + BEGIN) and text.endswith(END + "\n10.0.0.1 added-later-by-hand\n")
    assert [e.name for e in split_block(text)[1]] == [f"x-bmc.{ZONE}", f"y-bmc.{ZONE}"]


def test_hand_written_lines_in_the_block_are_unowned_and_bad_lines_ignored(hosts):
    hosts.write_text(OUTSIDE + f"{BEGIN}\n10.99.0.9 by-hand-bmc.{ZONE}\nnot an entry\n{END}\n")
    backend = HostsFileBackend(str(hosts))
    [found] = backend.list_zone(ZONE)
    assert found.key == RRsetKey(f"by-hand-bmc.{ZONE}", "A") and found.owner is None


def test_zones_and_names_without_a_zone(tmp_path):
    parent = HostsFileBackend(str(tmp_path / "hosts"))
    assert parent.find_zone(f"a.{ZONE}") == ZONE and parent.zones() is None
    with pytest.raises(NotFoundError, match="holds no PTR records"):
        parent.find_zone("50.0.99.10.in-addr.arpa")
    listed = HostsFileBackend(str(tmp_path / "hosts"), ["example.com", "apps.example.com"])
    assert listed.find_zone("a.b.apps.example.com") == "apps.example.com" and listed.find_zone("x.example.com") == "example.com"
    with pytest.raises(NotFoundError, match="no zone of hosts_file_zones"):
        listed.find_zone("a.other.test")
    assert parent.list_zone(ZONE) == []  # no file yet: no records


def test_a_block_without_its_end_is_refused_and_left_alone(hosts):
    broken = OUTSIDE + BEGIN + "\n10.99.0.1 a-bmc.site.test\n"
    hosts.write_text(broken)
    with pytest.raises(InvalidInputError, match="not '# END DDI.KEA_DNS MANAGED BLOCK'"):
        HostsFileBackend(str(hosts)).apply(ZONE, create(rrset("b-bmc", "A", "10.99.0.2")))
    assert hosts.read_text() == broken


def test_from_the_registry(hosts):
    backend = dns_backend({"provider": "hosts_file", "hosts_file_path": str(hosts)})
    assert isinstance(backend, HostsFileBackend) and backend.traits.record_types == ("A", "AAAA")


def test_a_concurrent_reader_sees_a_whole_file_and_two_writers_lose_nothing(hosts):
    stop = threading.Event()
    seen: list[str] = []

    def read() -> None:
        while not stop.is_set():
            text = hosts.read_text()
            before, entries, _after, found = split_block(text)
            if before != OUTSIDE or not found or f"# Total entries: {len(entries)}\n" not in text:
                seen.append(text)

    def write(prefix: str) -> None:
        backend = HostsFileBackend(str(hosts))
        for index in range(60):
            backend.apply(ZONE, create(rrset(f"{prefix}{index}-bmc", "A", f"10.99.{len(prefix)}.{index + 1}")))

    HostsFileBackend(str(hosts)).apply(ZONE, [])  # the empty block
    reader = threading.Thread(target=read)
    writers = [threading.Thread(target=write, args=(prefix,)) for prefix in ("a", "bb")]
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    reader.join()
    assert seen == []  # never a partial file
    assert len(HostsFileBackend(str(hosts)).list_zone(ZONE)) == 120  # neither writer lost the other's lines
