"""Credentials: Vault (a real OpenBao server), environment, failures; no secret in any output, also with -vvv."""

from __future__ import annotations

import pytest

from tests.harness.ansible import run_tasks
from tests.harness.procs import free_port

DB_PATH = "teams/core-infrastructure/server/kea_db"
READ_POLICY = 'path "secrets/data/teams/core-infrastructure/*" { capabilities = ["read"] }'
TASK = {"ddi.kea_dns.kea_reservation": {"mac": "aa:bb:cc:00:00:01", "subnet_id": 1, "ip": "10.99.0.10",
                                        "hostname": "us3-cab10-ru10-ilo", "use_vault": True}}


def db_location(pg) -> dict[str, str]:
    return {k: v for k, v in pg.env().items() if k in ("KEA_DB_HOST", "KEA_DB_PORT", "KEA_DB_NAME")}


@pytest.fixture
def vault(openbao, kea_db):
    openbao.put(DB_PATH, {"username": kea_db.kea_user, "password": kea_db.kea_password})
    return openbao


def assert_no_secret(output: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in output


def test_vault_token_from_environment(vault, kea_db):
    token = vault.token_with_policy("kea-read", READ_POLICY)
    env = dict(db_location(kea_db), VAULT_ADDR=vault.addr, VAULT_TOKEN=token)
    run = run_tasks([TASK, {"ddi.kea_dns.kea_reservation_info": {"use_vault": True, "subnet_ids": [1]}}], env=env, args=["-vvv"])
    assert run[0]["changed"] is True, run[0].get("msg")
    assert [r["hostname"] for r in run[1]["reservations"]] == ["us3-cab10-ru10-ilo"]
    assert_no_secret(run.output, token, kea_db.kea_password, vault.root_token)


def test_vault_approle(vault, kea_db):
    role_id, secret_id = vault.approle("kea-approle", READ_POLICY)
    env = dict(db_location(kea_db), VAULT_ADDR=vault.addr, VAULT_ROLE_ID=role_id, VAULT_SECRET_ID=secret_id)
    task = {"ddi.kea_dns.kea_reservation": dict(TASK["ddi.kea_dns.kea_reservation"], vault_auth_method="approle")}
    run = run_tasks([task], env=env, args=["-vvv"])
    assert run[0]["changed"] is True, run[0].get("msg")
    assert_no_secret(run.output, secret_id, kea_db.kea_password)


def test_vault_failures_are_one_clear_line(vault, kea_db):
    no_access = vault.token_with_policy("nothing", 'path "secrets/data/elsewhere" { capabilities = ["read"] }')
    vault.put("teams/core-infrastructure/server/no_password", {"username": "kea"})
    env = dict(db_location(kea_db), VAULT_ADDR=vault.addr, VAULT_TOKEN=no_access)
    args = TASK["ddi.kea_dns.kea_reservation"]
    run = run_tasks([
        TASK,
        {"ddi.kea_dns.kea_reservation": dict(args, vault_token=vault.root_token, db_vault_path="teams/missing")},
        {"ddi.kea_dns.kea_reservation": dict(args, vault_token=vault.root_token,
                                             db_vault_path="teams/core-infrastructure/server/no_password")},
        {"ddi.kea_dns.kea_reservation": dict(args, vault_addr=f"http://127.0.0.1:{free_port()}")},
        {"ddi.kea_dns.kea_reservation": dict(args, vault_auth_method="approle", vault_role_id="x", vault_secret_id="wrong-secret")},
    ], env=env, args=["-vvv"])
    denied, missing_path, missing_key, unreachable, bad_approle = run.results
    assert denied["failed"] and "denied" in denied["msg"] and "teams/core-infrastructure/server/kea_db" in denied["msg"]
    assert missing_path["failed"] and "no such secret" in missing_path["msg"] and "teams/missing" in missing_path["msg"]
    assert missing_key["failed"] and "has no key 'password'" in missing_key["msg"]
    assert unreachable["failed"] and "unreachable" in unreachable["msg"]
    assert bad_approle["failed"] and "AppRole login" in bad_approle["msg"]
    for result in run.results:
        assert "\n" not in result["msg"] and "Traceback" not in result["msg"]
    assert_no_secret(run.output, no_access, vault.root_token, "wrong-secret", kea_db.kea_password)
    assert kea_db.kea_sql("SELECT count(*) FROM hosts") == [(0,)]


def test_database_failures_are_one_clear_line(kea_db):
    args = dict(TASK["ddi.kea_dns.kea_reservation"], use_vault=False)
    wrong = "not-the-password-" + kea_db.kea_password[:4]
    env = dict(kea_db.env(), KEA_DB_PASSWORD=wrong)
    run = run_tasks([
        {"ddi.kea_dns.kea_reservation": args},
        {"ddi.kea_dns.kea_reservation": dict(args, db_port=free_port())},
        {"ddi.kea_dns.kea_reservation": dict(args, db_password=kea_db.kea_password, db_name="postgres")},
        {"ddi.kea_dns.kea_reservation": dict(args, db_password=kea_db.kea_password, db_name="nosuchdb")},
    ], env=env, args=["-vvv"])
    bad_password, unreachable, no_schema, no_db = run.results
    assert bad_password["failed"] and "password authentication failed" in bad_password["msg"]
    assert unreachable["failed"] and "cannot connect" in unreachable["msg"] and "Connection refused" in unreachable["msg"]
    assert no_schema["failed"] and "no Kea schema" in no_schema["msg"] and "kea-admin db-init" in no_schema["msg"]
    assert no_db["failed"] and "nosuchdb" in no_db["msg"] and "does not exist" in no_db["msg"]
    for result in run.results:
        assert "\n" not in result["msg"]
    assert_no_secret(run.output, wrong, kea_db.kea_password)
