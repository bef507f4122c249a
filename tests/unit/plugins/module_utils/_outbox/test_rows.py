"""Unit tests of the outbox helpers (no server)."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import rows as outbox


def test_rows_name_every_hostname_and_address_they_touch():
    row = outbox.OutboxRow(7, "UPDATE", {"hostname": "US3-cab10-ru20-idrac", "ipv4_address": 174260274},
                           {"hostname": "us3-cab10-ru21-idrac", "ipv4_address": 174260275}, datetime.datetime.now(datetime.UTC))
    assert row.hostnames() == {"us3-cab10-ru20-idrac", "us3-cab10-ru21-idrac"}
    assert row.addresses() == {"10.99.0.50", "10.99.0.51"}
    deleted = outbox.OutboxRow(8, "DELETE", {"hostname": None, "ipv4_address": None}, None, row.created_at)
    assert deleted.hostnames() == set() and deleted.addresses() == set()


def test_lock_keys_are_stable_signed_64_bit_integers():
    key = outbox.lock_key("us3-cab10-ru20-idrac")
    assert key == outbox.lock_key("us3-cab10-ru20-idrac") and key != outbox.lock_key("us3-cab10-ru21-idrac")
    assert -(2**63) <= key < 2**63


def test_schema_names_are_checked_before_they_reach_sql():
    with pytest.raises(ValueError, match="not an SQL identifier"):
        outbox.backlog(None, "kea_dns; drop table hosts")
