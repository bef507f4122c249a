"""Unit tests of the pipeline's database definition (no server)."""

from __future__ import annotations

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import schema


@pytest.mark.parametrize(("field", "value"), [("schema", "kea_dns; drop table hosts"), ("channel", "Kea"), ("listener_role", "a-b"),
                                              ("hosts_table", "hosts")])
def test_identifiers_are_checked_before_they_reach_sql(field, value):
    with pytest.raises(InvalidInputError) as caught:
        schema.EventsSettings(**{field: value})
    assert caught.value.field == field and caught.value.value == value


def test_plan_is_empty_when_installed_and_complete():
    settings = schema.EventsSettings()
    installed = {"schema": True, "fingerprint": schema.fingerprint(settings), "triggers": sorted(schema.ALL_TRIGGERS), "listener_role": True}
    assert schema.install_plan(installed, settings) == []
    missing_trigger = dict(installed, triggers=sorted(schema.ALL_TRIGGERS)[1:])
    assert any(s.startswith("CREATE TRIGGER") for s in schema.install_plan(missing_trigger, settings))
    other_channel = schema.EventsSettings(channel="other_events")
    assert any("pg_notify('other_events'" in s for s in schema.install_plan(installed, other_channel))
    dropped_role = dict(installed, listener_role=False)
    assert schema.install_plan(dropped_role, settings)[0] == "CREATE ROLE kea_dns_listener LOGIN"
    assert any(s.startswith("GRANT SELECT ON public.hosts") for s in schema.install_plan(dropped_role, settings))


def test_remove_plan_and_fingerprint_depend_on_settings():
    nothing = {"schema": False, "fingerprint": None, "triggers": [], "listener_role": False}
    assert schema.remove_plan(nothing, schema.EventsSettings()) == []
    assert schema.fingerprint(schema.EventsSettings()) != schema.fingerprint(schema.EventsSettings(listener_role=None))


def test_password_verifier_comparison_refuses_other_formats():
    assert schema.password_matches(None, "x") is False
    assert schema.password_matches("md5abcdef", "x") is False
