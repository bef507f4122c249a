"""ddi.kea_dns.dns_record and dns_record_info against real PowerDNS and BIND (RFC 2136), checked with real DNS queries."""

from __future__ import annotations

import re
import socket
import threading
import uuid

import pytest

from tests.harness.ansible import run_tasks
from tests.harness.procs import launch

OWNERSHIP = ("powerdns", "technitium", "solidserver")  # backends that store owner metadata with records


def record(provider: str, **args) -> dict:
    return {"ddi.kea_dns.dns_record": {"provider": provider, "zone": "site.test", **args}}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_check_apply_reapply_diff_ptr_absent(dns_server):
    provider, server = dns_server
    name = unique("us3-cab10-ru20-idrac")
    fqdn = f"{name}.site.test"
    run = run_tasks([
        dict(record(provider, name=name, value="10.99.0.50", ptr=True), check_mode=True),
        record(provider, name=name, value="10.99.0.50", ptr=True),
        record(provider, name=name, value="10.99.0.50", ptr=True),
    ], env=server.env)
    check, apply, again = run.results
    assert check["changed"] is True and check["summary"]["created"] == 2, check
    assert apply["changed"] is True and {c["type"] for c in apply["changes"]} == {"A", "PTR"}
    assert again["changed"] is False and again["summary"]["unchanged"] == 2
    assert server.query(fqdn) == ["10.99.0.50"]
    assert server.query("50.0.99.10.in-addr.arpa", "PTR") == [fqdn]
    if provider in OWNERSHIP:
        assert all(c["owned"] for c in apply["changes"])

    run = run_tasks([
        dict(record(provider, name=name, value="10.99.0.51", ptr=True), diff=True),
        record(provider, name=name, value="10.99.0.51", ptr=True, state="absent"),
        record(provider, name=name, value="10.99.0.51", ptr=True, state="absent"),
    ], env=server.env)
    moved, absent, absent_again = run.results
    assert moved["diff"]["before"][f"{fqdn} A"]["values"] == ["10.99.0.50"]
    assert moved["diff"]["after"][f"{fqdn} A"]["values"] == ["10.99.0.51"]
    assert moved["summary"]["created"] == 1 and moved["summary"]["updated"] == 1  # new PTR .51, A moved
    assert absent["changed"] is True and absent_again["changed"] is False
    assert server.query(fqdn) == []
    assert server.query("51.0.99.10.in-addr.arpa", "PTR") == []
    assert server.query("50.0.99.10.in-addr.arpa", "PTR") == [fqdn]  # the old PTR is not the task's to remove
    run_tasks([record(provider, name="50.0.99.10.in-addr.arpa.", zone="99.10.in-addr.arpa", type="PTR", state="absent")], env=server.env)


def test_other_types_and_on_existing(dns_server):
    provider, server = dns_server
    name = unique("multi")
    run = run_tasks([
        record(provider, name=name, type="AAAA", value="2001:db8:0:0::1"),
        record(provider, name=f"{name}-alias", type="CNAME", value=f"{name}.site.test."),
        record(provider, name=name, type="TXT", values=['managed "here"', "second"]),
        record(provider, name=name, type="AAAA", value="2001:db8::2", on_existing="fail"),
        record(provider, name=name, type="AAAA", value="2001:db8::2", on_existing="keep"),
    ], env=server.env)
    aaaa, cname, txt, fail, keep = run.results
    assert aaaa["changed"] and cname["changed"] and txt["changed"]
    assert fail["failed"] and "already holds 2001:db8::1" in fail["msg"]
    assert keep["changed"] is False
    assert server.query(f"{name}.site.test", "AAAA") == ["2001:db8::1"]
    assert server.query(f"{name}-alias.site.test", "CNAME") == [f"{name}.site.test"]
    assert server.query(f"{name}.site.test", "TXT") == ['"managed \\"here\\""', '"second"']


def test_batch_of_1000_in_one_task(dns_server):
    provider, server = dns_server
    prefix = unique("b")
    items = [{"name": f"{prefix}-{i}", "value": f"10.98.{i // 250}.{i % 250 + 1}"} for i in range(1000)]
    task = {"ddi.kea_dns.dns_record": {"provider": provider, "zone": "site.test", "records": "{{ items }}"}}
    run = run_tasks([task, task, {"ddi.kea_dns.dns_record_info": {"provider": provider, "zone": "site.test"}}],
                    env=server.env, variables={"items": items})
    apply, again, listing = run.results
    assert apply["summary"]["created"] == 1000, apply.get("msg")
    assert again["changed"] is False and again["summary"]["unchanged"] == 1000
    listed = {r["name"]: r["values"] for r in listing["records"] if r["name"].startswith(prefix)}
    assert len(listed) == 1000 and listed[f"{prefix}-999.site.test"] == ["10.98.3.250"]
    for i in (0, 499, 999):
        assert server.query(f"{prefix}-{i}.site.test") == [items[i]["value"]]


@pytest.mark.parametrize(("args", "field", "shown"), [
    ({"name": "bad'name", "value": "10.99.0.9"}, "name", "bad'name"),
    ({"name": "bad name", "value": "10.99.0.9"}, "name", "bad name"),
    ({"name": "a" * 64, "value": "10.99.0.9"}, "name", "a" * 20),
    ({"name": "v6", "value": "2001:db8::1"}, "value", "2001:db8::1"),
    ({"name": "v4", "type": "AAAA", "value": "10.99.0.9"}, "value", "10.99.0.9"),
])
def test_bad_input_names_field_and_value(dns_server, args, field, shown):
    provider, server = dns_server
    run = run_tasks([record(provider, **args)], env=server.env)
    assert run[0]["failed"] is True and run[0]["msg"].startswith(f"{field}: invalid value"), run[0]["msg"]
    assert shown in run[0]["msg"]


def test_absolute_name_outside_the_zone_fails_inside_works(dns_server):
    """Issue 17: zone site.test with name 6.2.0.192.in-addr.arpa. wrote 6.2.0.192.in-addr.arpa.site.test; a trailing dot is absolute."""
    provider, server = dns_server
    name = unique("abs")
    run = run_tasks([
        record(provider, name="6.2.0.192.in-addr.arpa.", type="PTR", value=f"{name}.site.test."),
        record(provider, records=[{"name": f"{name}-ok", "value": "10.99.0.8"}, {"name": f"{name}.99.10.in-addr.arpa.", "value": "10.99.0.8"}]),
        record(provider, name=f"{name}.site.test.", value="10.99.0.8"),
        record(provider, name=f"{name}.site.test.", value="10.99.0.8"),
        record(provider, name=name, value="10.99.0.8"),
        {"ddi.kea_dns.dns_record_info": {"provider": provider, "zone": "site.test", "name": f"{name}.site.test.", "type": "A"}},
        {"ddi.kea_dns.dns_record_info": {"provider": provider, "zone": "site.test", "name": "6.2.0.192.in-addr.arpa.", "type": "PTR"}},
    ], env=server.env)
    outside, batch, inside, again, relative, info, info_outside = run.results
    assert [r["values"] for r in info["records"]] == [["10.99.0.8"]], info
    assert info_outside["failed"] is True and "is not in zone site.test" in info_outside["msg"], info_outside
    assert outside["failed"] is True
    assert outside["msg"].startswith("name: invalid value '6.2.0.192.in-addr.arpa.': the absolute name 6.2.0.192.in-addr.arpa. "
                                     "(trailing dot) is not in zone site.test"), outside["msg"]
    assert batch["failed"] is True
    assert batch["msg"].startswith(f"records[1].name: invalid value '{name}.99.10.in-addr.arpa.': the absolute name "
                                   f"{name}.99.10.in-addr.arpa. (trailing dot) is not in zone site.test"), batch["msg"]
    assert server.query("6.2.0.192.in-addr.arpa.site.test", "PTR") == []
    assert server.query(f"{name}.99.10.in-addr.arpa.site.test") == [] and server.query(f"{name}-ok.site.test") == []
    assert inside["changed"] is True and [c["name"] for c in inside["changes"]] == [f"{name}.site.test"], inside
    assert again["changed"] is False and relative["changed"] is False  # the same RRset, absolute or relative
    assert server.query(f"{name}.site.test") == ["10.99.0.8"]
    run_tasks([record(provider, name=f"{name}.site.test.", state="absent")], env=server.env)
    assert server.query(f"{name}.site.test") == []


def test_batch_with_bad_item_writes_nothing(dns_server):
    provider, server = dns_server
    prefix = unique("atomic")
    items = [{"name": f"{prefix}-{i}", "value": f"10.97.0.{i + 1}"} for i in range(10)] + [{"name": f"{prefix}-x", "value": "not-ip"}]
    run = run_tasks([{"ddi.kea_dns.dns_record": {"provider": provider, "zone": "site.test", "records": items}}], env=server.env)
    assert run[0]["failed"] and run[0]["msg"].startswith("records[10].value: invalid value 'not-ip'")
    assert server.query(f"{prefix}-0.site.test") == []


def test_unknown_zone_wrong_credentials_and_timeout(dns_server, tmp_path):
    provider, server = dns_server
    if provider == "knot":
        silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        silent.bind(str(tmp_path / "silent.sock"))
        wrong = {"knot_socket": str(tmp_path / "missing.sock")}
        silent_args = {"knot_socket": str(tmp_path / "silent.sock")}
    else:
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        if provider == "powerdns":
            wrong = {"powerdns_api_key": "wrong-key-1234"}
            silent_args = {"powerdns_api_url": f"http://127.0.0.1:{port}"}
        elif provider == "technitium":
            wrong = {"technitium_token": "wrong-key-1234"}
            silent_args = {"technitium_api_url": f"http://127.0.0.1:{port}"}
        elif provider == "solidserver":
            wrong = {"solidserver_password": "wrong-key-1234"}
            silent_args = {"solidserver_host": f"127.0.0.1:{port}"}
        else:
            wrong = {"rfc2136_key_secret": "d3Jvbmcta2V5LTEyMzQ="}
            silent_args = {"rfc2136_port": port}
    silent.listen(5)
    threading.Thread(target=lambda: [silent.accept() for _count in range(5)], daemon=True).start()
    run = run_tasks([
        record(provider, name="x", zone="nosuch.test", value="10.99.0.9"),
        record(provider, name="x", value="10.99.0.9", **wrong),
        record(provider, name="x", value="10.99.0.9", dns_timeout=1, **silent_args),
    ], env=server.env, args=["-vvv"])
    silent.close()
    unknown_zone, bad_auth, timeout = run.results
    assert unknown_zone["failed"] and "nosuch.test" in unknown_zone["msg"], unknown_zone["msg"]
    expected = {"powerdns": "API key", "rfc2136": "TSIG", "knot": "cannot connect", "technitium": "API token",
                "solidserver": "rejected the credentials"}[provider]
    assert bad_auth["failed"] and expected in bad_auth["msg"], bad_auth["msg"]
    assert timeout["failed"] and re.search(r"did not answer .*within 1(\.0)? s", timeout["msg"]), timeout["msg"]
    assert "wrong-key-1234" not in run.output and "d3Jvbmcta2V5LTEyMzQ=" not in run.output
    if server.secret:
        assert server.secret not in run.output


def test_info_by_name_and_axfr_refused(dns_server):
    provider, server = dns_server
    name = unique("info")
    run = run_tasks([
        record(provider, name=name, value="10.99.0.77"),
        {"ddi.kea_dns.dns_record_info": {"provider": provider, "zone": "site.test", "name": name}},
    ], env=server.env)
    assert run[1]["records"] == [{"zone": "site.test", "name": f"{name}.site.test", "type": "A", "values": ["10.99.0.77"],
                                  "ttl": 600, "owned": provider in OWNERSHIP, "owner": "kea/default" if provider in OWNERSHIP else None}]
    assert server.query(f"{name}.site.test") == ["10.99.0.77"]


def test_rfc2136_listing_refused_without_axfr():
    from tests.harness.dns_servers import Bind  # pylint: disable=import-outside-toplevel

    server = launch(Bind(allow_transfer=False))
    try:
        items = [{"name": f"noaxfr-{i}", "value": f"10.97.1.{i + 1}"} for i in range(60)]  # large: tries AXFR, reads one by one
        run = run_tasks([{"ddi.kea_dns.dns_record": {"provider": "rfc2136", "zone": "site.test", "records": items}},
                         {"ddi.kea_dns.dns_record": {"provider": "rfc2136", "zone": "site.test", "records": items}},
                         {"ddi.kea_dns.dns_record_info": {"provider": "rfc2136", "zone": "site.test"}}], env=server.env())
        assert run[0]["summary"]["created"] == 60 and run[1]["changed"] is False, run[0].get("msg")
        assert run[2]["failed"] and "refused the zone transfer (AXFR)" in run[2]["msg"], run[2]["msg"]
    finally:
        server.stop()


def test_technitium_token_never_in_a_url_and_v14_servers(technitium_emulator):
    from tests.harness.technitium import TechnitiumEmulator  # pylint: disable=import-outside-toplevel

    name = unique("tok")
    run = run_tasks([record("technitium", name=name, value="10.99.0.60", ptr=True),
                     record("technitium", name=name, value="10.99.0.60", ptr=True, state="absent")], env=technitium_emulator.env())
    assert run[0]["changed"] and run[1]["changed"]
    assert technitium_emulator.state.urls and not [u for u in technitium_emulator.state.urls if technitium_emulator.state.token in u]
    old = launch(TechnitiumEmulator(version=14))
    try:
        run = run_tasks([record("technitium", name=name, value="10.99.0.61")], env=old.env())
        assert run[0]["changed"] is True, run[0].get("msg")
        assert old.query(f"{name}.site.test") == ["10.99.0.61"]
    finally:
        old.stop()


def test_owner_txt_markers_where_the_backend_keeps_no_metadata(dns_server):
    provider, server = dns_server
    if provider in OWNERSHIP:
        pytest.skip("the backend stores owner metadata itself")
    name = unique("own")
    fqdn = f"{name}.site.test"
    octet = 100 + int(name[-2:], 16) % 100  # targets share servers (Knot): each run its own address and PTR
    address, reverse = f"10.99.0.{octet}", f"{octet}.0.99.10.in-addr.arpa"
    run = run_tasks([
        record(provider, name=name, value=address, ptr=True, dns_owner_txt=True),
        record(provider, name=name, type="TXT", value="hello", dns_owner_txt=True),
        record(provider, name=name, value=address, ptr=True, dns_owner_txt=True),
        {"ddi.kea_dns.dns_record_info": {"provider": provider, "zone": "site.test", "name": name, "dns_owner_txt": True}},
        {"ddi.kea_dns.dns_record_info": {"provider": provider, "zone": "site.test", "name": name}},
    ], env=server.env)
    a_record, txt, again, info, info_plain = run.results
    assert a_record["summary"]["created"] == 2 and txt["summary"]["created"] == 1, a_record.get("msg")
    assert again["changed"] is False
    assert server.query(f"_kea-dns.{fqdn}", "TXT") == ['"managed-by ddi.kea_dns A owner=kea/default"', '"managed-by ddi.kea_dns TXT owner=kea/default"']
    assert server.query(f"_kea-dns.{reverse}", "TXT") == ['"managed-by ddi.kea_dns PTR owner=kea/default"']
    assert [(r["type"], r["owned"]) for r in info["records"]] == [("A", True), ("TXT", True)]
    assert [(r["type"], r["owned"]) for r in info_plain["records"]] == [("A", False), ("TXT", False)]
    run = run_tasks([
        record(provider, name=name, type="TXT", state="absent", dns_owner_txt=True),
        record(provider, name=name, state="absent", dns_owner_txt=True),
    ], env=server.env)
    assert all(r["changed"] for r in run.results)
    assert server.query(f"_kea-dns.{fqdn}", "TXT") == [] and server.query(fqdn) == []
    run_tasks([record(provider, name=reverse, zone="99.10.in-addr.arpa", type="PTR", state="absent", dns_owner_txt=True)], env=server.env)
    assert server.query(f"_kea-dns.{reverse}", "TXT") == []


def test_rfc2136_tsig_key_from_vault(bind_server, openbao):
    openbao.put("teams/core-infrastructure/server/baremetal_dns", {"key_secret": bind_server.key_secret, "key_name": bind_server.key_name})
    env = dict(bind_server.env(), RFC2136_KEY_SECRET="d3Jvbmcta2V5LTEyMzQ=", RFC2136_KEY_NAME="wrong-key", VAULT_ADDR=openbao.addr,
               VAULT_TOKEN=openbao.token_with_policy("tsig-read", 'path "secrets/data/teams/*" { capabilities = ["read"] }'))
    name = unique("vault-tsig")
    run = run_tasks([record("rfc2136", name=name, value="10.99.0.90", use_vault=True)], env=env, args=["-vvv"])
    assert run[0]["changed"] is True, run[0].get("msg")
    assert bind_server.query(f"{name}.site.test") == ["10.99.0.90"]
    assert bind_server.key_secret not in run.output


def test_a_record_where_a_cname_is_fails_naming_the_record_and_the_servers_answer(dns_server):
    """No backend may answer "done" for a record the server did not add. RFC 2136 servers drop such an update without
    an error (RFC 2136 3.4.2.2); the prerequisite the rfc2136 backend sends makes them refuse it."""
    provider, server = dns_server
    name = unique("us3-cab10-ru30-idrac")
    run = run_tasks([record(provider, name=name, type="CNAME", value="elsewhere.site.test.", owner_id="ops/manual"),
                     dict(record(provider, name=name, value="10.99.0.30"), ignore_errors=True),
                     record(provider, name=name, type="CNAME", value="elsewhere.site.test.", owner_id="ops/manual", state="absent")],
                    env=server.env)
    cname, refused, _removed = run.results
    assert cname["changed"] and refused["failed"], run.output[-3000:]
    assert f"{name}.site.test" in refused["msg"] and "refused" in refused["msg"].lower(), refused["msg"]  # the record and the server's answer
    assert server.query(f"{name}.site.test", "A") == []
