"""The kea_db_events runner with the database faked: check mode plans the DDL and runs none, apply runs it in the
task's transaction, a re-run changes nothing, a password is set only when it differs, and absent removes it all."""

from __future__ import annotations

import contextlib

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._module import kea_db_events as runner
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import schema
from ansible_collections.ddi.kea_dns.tests.unit.plugins.module_utils.fakes import FakeModule


class Catalog:
    """What the database holds, as the runner's statements change it."""

    def __init__(self) -> None:
        self.comment: str | None = None
        self.triggers: list[str] = []
        self.role = False
        self.password: str | None = None
        self.executed: list[str] = []

    def execute(self, statement, params=None) -> None:
        self.executed.append(statement)
        if statement.startswith("COMMENT ON SCHEMA"):
            self.comment = statement.split("'")[1]
        elif statement.startswith(("CREATE TRIGGER", "CREATE CONSTRAINT TRIGGER")):
            self.triggers = sorted(set(self.triggers) | {statement.split()[3 if "CONSTRAINT" in statement.split()[1] else 2]})
        elif statement.startswith("CREATE ROLE"):
            self.role = True
        elif statement.startswith("DROP SCHEMA"):
            self.comment, self.triggers = None, []
        elif statement.startswith("DROP ROLE"):
            self.role = False

    def state(self, cursor, settings) -> dict:
        return {"schema": self.comment is not None, "fingerprint": self.comment, "triggers": self.triggers,
                "listener_role": self.role if settings.listener_role else None}


@pytest.fixture
def catalog(monkeypatch):
    found = Catalog()

    @contextlib.contextmanager
    def transaction(settings, readonly=False):
        yield found

    monkeypatch.setattr(runner, "transaction", transaction)
    monkeypatch.setattr(schema, "state", found.state)
    monkeypatch.setattr(schema, "stored_password", lambda cursor, role: found.password)
    monkeypatch.setattr(schema, "password_matches", lambda stored, password: stored == password)
    monkeypatch.setattr(schema, "set_password", lambda cursor, role, password: setattr(found, "password", password))
    return found


def params(**extra) -> dict:
    return {"state": "present", "schema": "kea_dns", "channel": "kea_lease_events", "listener_role": "kea_dns_listener",
            "listener_password": "pw-1", "hosts_table": "public.hosts", "update_password": "on_create", "db_host": "localhost",
            "db_port": 5432, "db_name": "kea", "db_user": "postgres", "db_password": None, **extra}


def test_check_apply_rerun_password_and_absent(catalog):
    planned = runner.apply_events_schema(FakeModule(params(), check_mode=True, diff=True))
    assert planned["changed"] and planned["statements"] > 5 and catalog.executed == [] and catalog.password is None
    assert planned["diff"]["after"]["triggers"] == sorted(schema.ALL_TRIGGERS) and planned["diff"]["before"]["schema"] is False
    applied = runner.apply_events_schema(FakeModule(params()))
    assert applied["changed"] and applied["password_changed"] and applied["state"] == planned["state"]
    assert len(catalog.executed) == planned["statements"] and catalog.password == "pw-1"
    again = runner.apply_events_schema(FakeModule(params(listener_password="pw-2")))  # on_create: the password is kept
    assert again["changed"] is False and again["statements"] == 0 and catalog.password == "pw-1"
    always = runner.apply_events_schema(FakeModule(params(listener_password="pw-2", update_password="always")))
    assert always["changed"] and always["password_changed"] and always["statements"] == 0 and catalog.password == "pw-2"
    same = runner.apply_events_schema(FakeModule(params(listener_password="pw-2", update_password="always")))
    assert same["changed"] is False
    removed = runner.apply_events_schema(FakeModule(params(state="absent")))
    assert removed["changed"] and removed["state"] == {"schema": False, "fingerprint": None, "triggers": [], "listener_role": False}
