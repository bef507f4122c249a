"""Unit tests of the site-cabinet inventory files and the lease file reader (no server)."""

from __future__ import annotations

import os

import yaml

from ansible_collections.ddi.kea_dns.plugins.module_utils._inventory import files as inventory
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea import lease_file as leasefile
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Reservation, ReservationKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.naming import HostnameParser
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.kea import KeaSource


def host(hostname: str, ip: str, mac: int) -> Reservation:
    return Reservation(key=ReservationKey(1, 0, mac.to_bytes(6, "big")), ip=ip, hostname=hostname)


def test_one_file_per_cabinet_with_site_cabinet_and_type_groups():
    files, unplaced = inventory.render([host("us3-cab10-ru20-idrac", "10.0.0.20", 1), host("us3-cab10-ru21-ilo", "10.0.0.21", 2),
                                        host("de1-cab2-ru1-bmc", "10.0.1.1", 3), host("odd-idrac", "10.0.1.2", 4),
                                        host("us3-cab10-sw1", "10.0.1.3", 5)], HostnameParser(), KeaSource(zone="site.com"))
    assert sorted(files) == ["de1-cab2-discovery.yml", "us3-cab10-discovery.yml"] and unplaced == ["odd-idrac"]
    tree = yaml.safe_load(files["us3-cab10-discovery.yml"])["all"]["children"]
    hosts = tree["us3"]["children"]["us3_cab10"]["hosts"]
    assert hosts["us3-cab10-ru20-idrac"] == {"ansible_host": "10.0.0.20", "subnet_id": 1, "identifier_type": "hw-address",
                                             "mac": "00:00:00:00:00:01", "site": "us3", "cabinet": "cab10", "rack_unit": 20,
                                             "bmc_type": "idrac", "fqdn": "us3-cab10-ru20-idrac.site.com"}
    assert set(tree) == {"us3", "idrac", "ilo"}


def test_a_name_reserved_twice_keeps_its_first_reservation_as_in_the_plugin():
    first = host("us3-cab10-ru20-idrac", "10.0.0.20", 1)
    second = Reservation(key=ReservationKey(2, 0, (2).to_bytes(6, "big")), ip="10.0.1.20", hostname="US3-CAB10-RU20-IDRAC")
    files, _unplaced = inventory.render([first, second], HostnameParser(), KeaSource(zone="site.com"))
    hosts = yaml.safe_load(files["us3-cab10-discovery.yml"])["all"]["children"]["us3"]["children"]["us3_cab10"]["hosts"]
    assert list(hosts) == ["us3-cab10-ru20-idrac"] and hosts["us3-cab10-ru20-idrac"]["ansible_host"] == "10.0.0.20"


def test_files_are_written_only_when_changed_and_only_ours_are_removed(tmp_path):
    out = str(tmp_path)
    (tmp_path / "hand-made-discovery.yml").write_text("all: {}\n")
    assert inventory.write(out, {"a-cab1-discovery.yml": f"{inventory.HEADER}\nx\n"}) == (["a-cab1-discovery.yml"], [])
    before = os.stat(tmp_path / "a-cab1-discovery.yml").st_mtime_ns
    assert inventory.write(out, {"a-cab1-discovery.yml": f"{inventory.HEADER}\nx\n"}) == ([], [])
    assert os.stat(tmp_path / "a-cab1-discovery.yml").st_mtime_ns == before
    assert inventory.write(out, {}) == ([], ["a-cab1-discovery.yml"])
    assert sorted(os.listdir(out)) == ["hand-made-discovery.yml"]


def test_lease_file_last_line_wins_and_cleanup_files_are_read_first(tmp_path):
    header = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id\n"
    (tmp_path / "l.leases.1").write_text(header + "10.0.0.1,aa:00:00:00:00:01,,3600,2000,1,0,0,old-idrac,0,,0\n")
    (tmp_path / "l.leases").write_text(header + "10.0.0.1,aa:00:00:00:00:01,,3600,2000,1,0,0,new-idrac.,0,,0\n"
                                       "10.0.0.2,aa:00:00:00:00:02,,3600,2000,1,0,0,gone-ilo,1,,0\n"
                                       "10.0.0.3,zz,,3600,2000,1,0,0,bad-ilo,0,,0\n")
    state = leasefile.read(str(tmp_path / "l.leases"), now=1000)
    assert [(r.hostname, r.ip) for r in state.reservations] == [("new-idrac", "10.0.0.1")] and state.invalid_lines == 1
    assert leasefile.read(str(tmp_path / "l.leases"), now=3000).reservations == []


def test_renderer_re_renders_only_changed_cabinets_and_keeps_no_reservation(monkeypatch):
    import gc  # pylint: disable=import-outside-toplevel

    renderer = inventory.Renderer(HostnameParser(), KeaSource(zone="site.com"))
    fleet = [host("us3-cab10-ru20-idrac", "10.0.0.20", 1), host("us3-cab11-ru1-idrac", "10.0.0.21", 2)]
    first, _unplaced = renderer.render(fleet)
    rendered = []
    real_text = inventory._text  # pylint: disable=protected-access
    monkeypatch.setattr(inventory, "_text", lambda key, members: rendered.append(key) or real_text(key, members))
    assert renderer.render(list(fleet))[0] == first and rendered == []
    moved = host("us3-cab11-ru1-idrac", "10.0.0.99", 2)
    second, _unplaced = renderer.render([fleet[0], moved])
    assert rendered == [("us3", "cab11")] and "10.0.0.99" in second["us3-cab11-discovery.yml"]
    assert second["us3-cab10-discovery.yml"] == first["us3-cab10-discovery.yml"]
    contexts = Reservation(key=moved.key, ip=moved.ip, hostname=moved.hostname, user_context={"rack": "b"})
    third, _unplaced = renderer.render([fleet[0], contexts])  # only the user context differs: the cabinet is rendered again
    assert rendered[-1] == ("us3", "cab11") and "rack: b" in third["us3-cab11-discovery.yml"]
    assert not [r for r in gc.get_referents(*vars(renderer).values()) if isinstance(r, Reservation)]
    assert not any(isinstance(r, Reservation) for value in renderer._texts.values() for r in value)  # pylint: disable=protected-access


def test_dhcpv6_addresses_join_the_host_and_a_dhcpv6_only_name_is_a_host():
    def v6(hostname, address, number):
        return Reservation(ReservationKey(10, 1, number.to_bytes(10, "big"), family=6), hostname=hostname, ipv6_addresses=(address,))

    renderer = inventory.Renderer(HostnameParser(), KeaSource(zone="site.com"))
    files, _unplaced = renderer.render([host("us3-cab10-ru20-idrac", "10.0.1.20", 1), v6("us3-cab10-ru20-idrac", "2001:db8::20", 1),
                                        v6("us3-cab10-ru22-idrac", "2001:db8::22", 2)])
    hosts = yaml.safe_load(files["us3-cab10-discovery.yml"])["all"]["children"]["us3"]["children"]["us3_cab10"]["hosts"]
    assert hosts["us3-cab10-ru20-idrac"]["ansible_host"] == "10.0.1.20" and hosts["us3-cab10-ru20-idrac"]["ipv6_addresses"] == ["2001:db8::20"]
    assert hosts["us3-cab10-ru22-idrac"]["ansible_host"] == "2001:db8::22" and hosts["us3-cab10-ru22-idrac"]["identifier_type"] == "duid"
    # a changed DHCPv6 address re-renders the cabinet
    again, _unplaced = renderer.render([host("us3-cab10-ru20-idrac", "10.0.1.20", 1), v6("us3-cab10-ru20-idrac", "2001:db8::21", 1)])
    assert "2001:db8::21" in again["us3-cab10-discovery.yml"] and "us3-cab10-ru22-idrac" not in again["us3-cab10-discovery.yml"]
