"""ddi.kea_dns.kea_reservation_info against a real PostgreSQL with Kea's schema."""

from __future__ import annotations

from tests.harness.ansible import run_tasks


def seed(pg) -> None:
    values = [
        ("aabbccddee01", 0, 1, "10.99.0.11", "us3-cab10-ru20-idrac"),
        ("aabbccddee02", 0, 1, "10.99.0.12", "us3-cab10-ru21-ilo5"),
        ("aabbccddee03", 0, 2, "10.98.0.13", "fr1-cab02-ru01-xcc.site.com"),
        ("aabbccddee04", 0, 2, "10.98.0.14", "not-a-bmc-name"),
        ("000102030405060708", 1, 2, "10.98.0.15", "duid-host"),
    ]
    for identifier, kind, subnet, ip, hostname in values:
        pg.kea_sql("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) "
                   "VALUES (decode(%s, 'hex'), %s, %s, %s::inet - '0.0.0.0'::inet, %s)", (identifier, kind, subnet, ip, hostname))


def info(**args) -> dict:
    return {"ddi.kea_dns.kea_reservation_info": args}


def test_filters_and_parsed_location(kea_db):
    seed(kea_db)
    run = run_tasks([
        info(),
        info(subnet_ids=[1]),
        info(hostname="US3-CAB10-RU20-IDRAC"),
        info(hostname_regex="-(idrac|xcc)"),
        info(mac="aa-bb-cc-dd-ee-02"),
        info(ip="10.98.0.13"),
        info(identifier="00:01:02:03:04:05:06:07:08", identifier_type="duid"),
        info(naming_pattern=r"^(?P<site>[a-z]+)-(?P<cabinet>[a-z]+)-"),
        info(hostname_regex="(unclosed"),
        info(naming_pattern="(?P<site>x)"),
        dict(info(subnet_ids=[2]), check_mode=True),
    ], env=kea_db.env())
    everything, subnet1, exact, regex, by_mac, by_ip, by_duid, custom, bad_regex, bad_pattern, in_check = run.results
    assert len(everything["reservations"]) == 5 and everything["changed"] is False
    assert [r["hostname"] for r in subnet1["reservations"]] == ["us3-cab10-ru20-idrac", "us3-cab10-ru21-ilo5"]
    first = exact["reservations"][0]
    assert (first["site"], first["cabinet"], first["rack_unit"], first["bmc_type"]) == ("us3", "cab10", 20, "idrac")
    assert first["identifier"] == "aa:bb:cc:dd:ee:01" and first["identifier_type"] == "hw-address" and first["managed"] is False
    assert sorted(r["hostname"] for r in regex["reservations"]) == ["fr1-cab02-ru01-xcc.site.com", "us3-cab10-ru20-idrac"]
    assert [r["bmc_type"] for r in by_mac["reservations"]] == ["ilo5"]
    assert by_ip["reservations"][0]["site"] == "fr1"
    assert by_duid["reservations"][0]["hostname"] == "duid-host"
    assert by_duid["reservations"][0]["site"] is None
    assert {r["hostname"]: r["cabinet"] for r in custom["reservations"]}["not-a-bmc-name"] == "a"
    assert bad_regex["failed"] and bad_regex["msg"].startswith("hostname_regex: invalid value '(unclosed'")
    assert bad_pattern["failed"] and "named group(s) cabinet" in bad_pattern["msg"]
    assert len(in_check["reservations"]) == 3
