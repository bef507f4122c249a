"""What only the SOLIDserver backend has: scopes, WHERE-filter safety, expanded AAAA, class-parameter ownership, bounded
parallel calls, partial failure reporting, automatic PTRs, HTTP 429, TLS and Vault credentials. Driven through the real
SOLIDserverRest library against tests/harness/solidserver.py (the emulator of the API contract)."""

from __future__ import annotations

import uuid

import pytest

from tests.harness.ansible import run_tasks
from tests.harness.procs import launch
from tests.harness.solidserver import SolidServerEmulator


def task(**args) -> dict:
    return {"ddi.kea_dns.dns_record": {"provider": "solidserver", "zone": "site.test", **args}}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def sds():
    server = launch(SolidServerEmulator(latency=0.02))
    yield server
    server.stop()


def test_scopes_expanded_aaaa_and_class_parameters(sds):
    name = unique("us3-cab10-ru20-idrac")
    fqdn = f"{name}.site.test"
    run = run_tasks([
        task(name=name, value="10.99.0.20"),
        task(name=name, value="10.99.0.21", solidserver_scope="external"),
        task(name=name, type="AAAA", value="2001:db8::20", ptr=True),
        task(name=name, type="AAAA", value="2001:db8::20", ptr=True),
        task(name=name, value="10.99.0.22", solidserver_dns_server="dns-primary.site.com"),
        task(name=name, value="10.99.0.20", solidserver_scope="external",
             solidserver_scope_servers={"internal": "dns-internal-smart.site.com", "external": "nosuch.site.com"}),
    ], env=sds.env())
    internal, external, aaaa, aaaa_again, override, unknown_server = run.results
    assert internal["changed"] and external["changed"] and aaaa["changed"] and override["changed"], run.output[-2000:]
    assert aaaa_again["changed"] is False
    rows = {(r["dns_name"], r["rr_type"]): r for r in sds.rows(fqdn)}
    assert rows[(sds.INTERNAL, "A")]["value1"] == "10.99.0.20"
    assert rows[(sds.EXTERNAL, "A")]["value1"] == "10.99.0.22"  # the explicit server name replaced the external record
    assert rows[(sds.INTERNAL, "AAAA")]["value1"] == "2001:0db8:0000:0000:0000:0000:0000:0020"  # stored expanded
    assert all(r["rr_class_parameters"] == "managed-by=ddi.kea_dns&owner=kea%2Fdefault" for r in rows.values())
    assert sds.query("0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "PTR") == [fqdn]
    assert unknown_server["failed"] and "no DNS server named nosuch.site.com" in unknown_server["msg"]


def test_where_filter_values_are_checked_before_any_call(sds):
    before = len(sds.state.requests)
    run = run_tasks([
        task(name="x' or '1'='1", value="10.99.0.9"),
        task(name="x", value="10.99.0.9", solidserver_dns_server="dns' or '1'='1"),
        task(name="x", zone="site.test' or dnszone_name like '%", value="10.99.0.9"),
    ], env=sds.env())
    name, server, zone = run.results
    assert name["failed"] and name["msg"].startswith("name: invalid value \"x' or '1'='1\""), name["msg"]
    assert server["failed"] and server["msg"].startswith("solidserver_dns_server: invalid value"), server["msg"]
    assert zone["failed"] and zone["msg"].startswith("zone: invalid value"), zone["msg"]
    assert not [path for _method, path in sds.state.requests[before:] if "%27+or" in path or "%27%20or" in path]


def test_bounded_parallel_calls_and_partial_failure(sds):
    prefix = unique("par")
    items = [{"name": f"{prefix}-{i}", "value": f"10.96.0.{i + 1}"} for i in range(60)]
    sds.state.reject_names.add(f"{prefix}-59.site.test")
    run = run_tasks([
        task(records=items[:40], solidserver_max_parallel=4),
        task(records=items, solidserver_max_parallel=1),
    ], env=sds.env())
    parallel, partial = run.results
    assert parallel["changed"] and parallel["summary"]["created"] == 40
    assert 2 <= sds.max_in_flight <= 4, sds.max_in_flight
    assert partial["failed"] and "refused by policy" in partial["msg"] and f"{prefix}-59.site.test" in partial["msg"], partial["msg"]
    assert len(partial["applied"]) == 19 and partial["changed"] is True  # one at a time: everything before the bad record
    assert f"create {prefix}-58.site.test A 10.96.0.59" in partial["applied"]
    assert "19 change(s) were applied before the failure" in partial["msg"]
    assert sds.query(f"{prefix}-58.site.test") == ["10.96.0.59"] and sds.query(f"{prefix}-59.site.test") == []


def test_automatic_ptr_rate_limit_answers_and_basic_auth(sds):
    sds.state.auto_ptr = True
    sds.state.throttle = 2
    name = unique("auto")
    run = run_tasks([
        task(name=name, value="10.99.0.30", ptr=True, solidserver_auth_method="basicauth"),
        task(name=name, value="10.99.0.30", ptr=True),
    ], env=sds.env())
    first, again = run.results
    assert first["changed"] is True, first.get("msg")
    assert sds.state.throttled == 2  # answered 429 twice; the library waited Retry-After and retried
    assert sds.query("30.0.99.10.in-addr.arpa", "PTR") == [f"{name}.site.test"]  # made by the appliance; "already exists" is fine
    assert again["changed"] is False


def test_tls_verification_and_vault_credentials(sds, openbao):
    openbao.put("teams/core-infrastructure/server/baremetal_dns", {"username": "ipmadmin", "password": sds.password})
    name = unique("vault")
    env = dict(sds.env(), SOLIDSERVER_PASSWORD="not-the-password-4711", VAULT_ADDR=openbao.addr,
               VAULT_TOKEN=openbao.token_with_policy("dns-read", 'path "secrets/data/teams/*" { capabilities = ["read"] }'))
    no_ca = {k: v for k, v in env.items() if k != "SOLIDSERVER_CA_CERT"}
    run = run_tasks([
        task(name=name, value="10.99.0.40"),
        task(name=name, value="10.99.0.40", use_vault=True),
    ], env=env, args=["-vvv"])
    wrong_password, from_vault = run.results
    assert wrong_password["failed"] and "rejected the credentials of user 'ipmadmin'" in wrong_password["msg"]
    assert from_vault["changed"] is True, from_vault.get("msg")
    assert sds.password not in run.output and "not-the-password-4711" not in run.output and env["VAULT_TOKEN"] not in run.output
    run = run_tasks([
        task(name=name, value="10.99.0.40", use_vault=True),
        task(name=name, value="10.99.0.40", use_vault=True, solidserver_validate_certs=False),
    ], env=no_ca)
    unverified, unchecked = run.results
    assert unverified["failed"] and "TLS certificate check failed" in unverified["msg"], unverified["msg"]
    assert unchecked["changed"] is False
