"""Unit tests of reservations -> inventory hosts (the core shared by the inventory plugin and the listener's files)."""

from __future__ import annotations

import json

from ansible_collections.ddi.kea_dns.plugins.module_utils._inventory.hosts import build, host_vars
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Lease, Reservation, ReservationKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.naming import HostnameParser


def reservation(hostname: str | None, ip: str | None, number: int, subnet: int = 1, kind: int = 0, context: dict | None = None) -> Reservation:
    return Reservation(key=ReservationKey(subnet, kind, number.to_bytes(6, "big")), ip=ip, hostname=hostname, user_context=context)


def test_host_vars_of_a_bmc_with_a_lease():
    lease = Lease(state="default", expire=1795255200, valid_lifetime=3600)  # 2026-11-21T10:00:00Z
    found = host_vars(reservation("us3-cab10-ru20-idrac", "10.0.0.20", 1, context={"asset": "X1"}),
                      HostnameParser().parse("us3-cab10-ru20-idrac"), "oob.example.com", lease)
    assert found == {"ansible_host": "10.0.0.20", "subnet_id": 1, "identifier_type": "hw-address", "mac": "00:00:00:00:00:01",
                     "site": "us3", "cabinet": "cab10", "rack_unit": 20, "bmc_type": "idrac", "fqdn": "us3-cab10-ru20-idrac.oob.example.com",
                     "user_context": {"asset": "X1"}, "lease_state": "default", "lease_last_seen": "2026-11-21T09:00:00Z",
                     "lease_expire": "2026-11-21T10:00:00Z"}


def test_other_identifier_types_and_names_that_are_no_dns_names():
    found = host_vars(reservation("bad_name!", "10.0.0.1", 2, kind=3), None, None)
    assert found == {"ansible_host": "10.0.0.1", "subnet_id": 1, "identifier_type": "client-id", "identifier": "00:00:00:00:00:02"}


def test_build_groups_unparsed_duplicates_and_skipped():
    rows = [(reservation("us3-cab10-ru20-idrac", "10.0.0.20", 1), None),
            (reservation("US3-CAB10-RU21-ILO5.", "10.0.0.21", 2), None),
            (reservation("printer-3", "10.0.0.3", 3), None),
            (reservation("us3-cab10-ru20-idrac", "10.0.1.20", 4, subnet=2), None),
            (reservation(None, "10.0.0.9", 5), None),
            (reservation("us3-cab11-ru1-xcc", None, 6), None)]
    data = build(rows, HostnameParser(), None)
    assert [(name, groups) for name, _vars, groups in data["hosts"]] == [
        ("us3-cab10-ru20-idrac", ["us3", "us3_cab10", "idrac"]), ("us3-cab10-ru21-ilo5", ["us3", "us3_cab10", "ilo5"]),
        ("printer-3", None)]
    assert data["hosts"][0][1]["ansible_host"] == "10.0.0.20"  # the first reservation of a duplicated name is kept
    assert (data["unparsed"], data["duplicates"], data["skipped"]) == (["printer-3"], ["us3-cab10-ru20-idrac"], 2)
    assert json.loads(json.dumps(data)) == data  # plain data: the plugin caches it as it is
