"""Inventory plugin ddi.kea_dns.kea_reservations: real ansible-inventory / ansible processes against real PostgreSQL
(Kea schema) and OpenBao.

The golden files under tests/integration/golden/ are the expected ``ansible-inventory --list`` (JSON) and ``--graph``
output for the reservations below. After a deliberate change of the output, rewrite them with
KEA_DNS_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess

import pytest
import yaml

from tests.harness.ansible import REPO_ROOT, ansible_env, plain, tool
from tests.harness.golden import golden
from tests.harness.procs import free_port

DB_PATH = "teams/core-infrastructure/server/kea_db"
READ_POLICY = 'path "secrets/data/teams/core-infrastructure/*" { capabilities = ["read"] }'

# (identifier hex, identifier type, subnet, IPv4, hostname, user_context)
RESERVATIONS = [
    ("aabbcc000001", 0, 1, "10.99.0.20", "us3-cab10-ru20-idrac", '{"note": "{{ lookup(\'pipe\', \'touch %(canary)s\') }}"}'),
    ("aabbcc000002", 0, 1, "10.99.0.21", "us3-cab10-ru21-ilo5", None),
    ("aabbcc000003", 0, 1, "10.99.0.30", "us3-cab11-ru1-xcc", '{"managed-by": "ddi.kea_dns"}'),
    ("0a0b0c0d", 2, 2, "10.98.0.40", "us4-cab1-ru40-idrac", None),  # circuit-id: an "identifier", not a "mac"
    ("aabbcc000005", 0, 2, "10.98.0.5", "Us3-Cab12-RU05-IDRAC.oob.example.com.", None),  # case, absolute name
    ("aabbcc000006", 0, 2, "10.98.0.6", "us3-cab10-ru20-idrac", None),  # the same hostname again, in subnet 2
    ("aabbcc000007", 0, 1, "10.99.0.7", "printer-3", None),  # not a BMC name
    ("aabbcc000008", 0, 1, "10.99.0.8", None, None),  # no hostname: not a host
    ("aabbcc000009", 0, 3, "10.97.0.9", "us5-cab1-ru1-bmc", None),
]
# (IPv4, state, expire): Kea states 0 = default (leased), 1 = declined
LEASES = [("10.99.0.20", 0, "2026-11-21 10:00:00+00"), ("10.99.0.21", 1, "2026-11-20 08:30:00+00")]

FULL = """plugin: ddi.kea_dns.kea_reservations
leases: true
dns_zone: oob.example.com
unparsed_group: unparsed
compose:
  redfish_url: "'https://' ~ ansible_host ~ '/redfish/v1'"
groups:
  leased: lease_state is defined and lease_state == 'default'
keyed_groups:
  - key: subnet_id | string
    prefix: subnet
"""


@pytest.fixture
def reservations(kea_db, tmp_path):
    canary = tmp_path / "templated"
    for identifier, kind, subnet, ip, hostname, context in RESERVATIONS:
        kea_db.kea_sql(
            "INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname, user_context) "
            "VALUES (decode(%s, 'hex'), %s, %s, (%s::inet - '0.0.0.0'::inet), %s, %s)",
            (identifier, kind, subnet, ip, hostname, context % {"canary": canary} if context else None))
    for ip, state, expire in LEASES:
        kea_db.kea_sql(
            "INSERT INTO lease4 (address, hwaddr, valid_lifetime, expire, subnet_id, state) "
            "SELECT ipv4_address, dhcp_identifier, 3600, %s, dhcp4_subnet_id, %s FROM hosts WHERE ipv4_address = (%s::inet - '0.0.0.0'::inet)",
            (expire, state, ip))
    return canary


def source(tmp_path, text: str, name: str = "bmc") -> str:
    path = tmp_path / f"{name}.kea_reservations.yml"
    path.write_text(text)
    return str(path)


def inventory(path: str, env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """ansible-inventory as AWX runs it: a source that cannot be parsed fails the command."""
    done = subprocess.run([tool("ansible-inventory"), "-i", path, *args], env=ansible_env(dict(env, ANSIBLE_INVENTORY_UNPARSED_FAILED="true")),
                          capture_output=True, text=True, check=False)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def canonical_list(stdout: str, canary: str) -> str:
    """--list output with the test's temporary path replaced and lists of hosts in a stable order."""
    data = json.loads(stdout.replace(str(canary), "CANARY"))
    for group in data.values():
        if isinstance(group, dict) and "hosts" in group:
            group["hosts"].sort()
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def test_list_and_graph_match_golden_files(reservations, kea_db, tmp_path):
    path = source(tmp_path, FULL)
    listed = inventory(path, kea_db.env(), "--list")
    assert "Failed to parse" not in listed.stderr, listed.stderr
    actual = canonical_list(listed.stdout, reservations)
    assert json.loads(actual) == json.loads(golden("kea_reservations_list.json", actual))
    graph = inventory(path, kea_db.env(), "--graph")
    assert graph.stdout == golden("kea_reservations_graph.txt", graph.stdout)
    # Naming violations and duplicates are reported, once, as warnings naming them.
    assert "1 hostname(s) do not follow naming_pattern (they are in group unparsed): printer-3" in listed.stderr
    assert "reserved more than once, kept from the lowest subnet id: us3-cab10-ru20-idrac" in listed.stderr


def test_defaults_filters_and_naming_report(reservations, kea_db, tmp_path):
    plain = json.loads(inventory(source(tmp_path, "plugin: ddi.kea_dns.kea_reservations\n"), kea_db.env(), "--list").stdout)
    hostvars = plain["_meta"]["hostvars"]
    assert "printer-3" not in hostvars  # not a BMC name and no unparsed_group: not a host
    assert sorted(plain["us3"]["children"]) == ["us3_cab10", "us3_cab11", "us3_cab12"]
    assert hostvars["us3-cab12-ru05-idrac.oob.example.com"]["fqdn"] == {"__ansible_unsafe": "us3-cab12-ru05-idrac.oob.example.com"}
    assert not any(key.startswith("lease_") for host in hostvars.values() for key in host)  # leases not joined
    # subnet_ids and hostname_regex are filters of the query: only subnet 2's iDRACs
    filtered = source(tmp_path, "plugin: ddi.kea_dns.kea_reservations\nsubnet_ids: [2]\nhostname_regex: '-idrac(\\.|$)'\n", "filtered")
    listed = inventory(filtered, kea_db.env(), "--list")
    assert sorted(json.loads(listed.stdout)["_meta"]["hostvars"]) == ["us3-cab10-ru20-idrac", "us3-cab12-ru05-idrac.oob.example.com", "us4-cab1-ru40-idrac"]
    assert "naming_pattern" not in listed.stderr  # printer-3 was filtered out by the database
    # strict: a naming violation fails the source, naming the hostnames
    strict = inventory(source(tmp_path, "plugin: ddi.kea_dns.kea_reservations\nstrict: true\n", "strict"), kea_db.env(), "--list", check=False)
    assert strict.returncode != 0
    assert "ddi.kea_dns.kea_reservations: 1 hostname(s) do not follow naming_pattern (they are not in the inventory): printer-3" in strict.stderr
    assert "Traceback" not in strict.stderr


def test_values_from_the_database_are_never_templated(reservations, kea_db, tmp_path):
    path = source(tmp_path, "plugin: ddi.kea_dns.kea_reservations\n")
    done = subprocess.run([tool("ansible"), "-i", path, "us3-cab10-ru20-idrac", "-c", "local", "-m", "ansible.builtin.debug",
                           "-a", "msg={{ user_context.note }}"], env=ansible_env(kea_db.env()), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{{{{ lookup('pipe', 'touch {reservations}') }}}}" in done.stdout
    assert not reservations.exists()


def test_cache(reservations, kea_db, tmp_path):
    cache = tmp_path / "cache"
    config = ("plugin: ddi.kea_dns.kea_reservations\ncache: true\ncache_plugin: ansible.builtin.jsonfile\n"
              f"cache_connection: {cache}\ncache_timeout: 3600\n")
    path = source(tmp_path, config)

    def hosts(*args: str, text: str | None = None) -> list[str]:
        if text is not None:
            source(tmp_path, text)
        return sorted(json.loads(inventory(path, kea_db.env(), "--list", *args).stdout)["_meta"]["hostvars"])

    first = hosts()
    assert "us3-cab11-ru1-xcc" in first and os.listdir(cache)
    kea_db.kea_sql("DELETE FROM hosts WHERE hostname = 'us3-cab11-ru1-xcc'")
    assert hosts() == first  # served from the cache: the database was not read
    assert "us3-cab11-ru1-xcc" not in hosts("--flush-cache")  # --flush-cache reads the database and refills the cache
    kea_db.kea_sql("DELETE FROM hosts WHERE hostname = 'us5-cab1-ru1-bmc'")
    # options that shape the data make the cached copy stale: a new filter reads the database
    assert hosts(text=config + "subnet_ids: [1, 3]\n") == ["us3-cab10-ru20-idrac", "us3-cab10-ru21-ilo5"]
    # constructed options are applied to cached hosts on every run
    source(tmp_path, config + "subnet_ids: [1, 3]\nkeyed_groups:\n  - key: bmc_type\n    prefix: type\n")
    listed = json.loads(inventory(path, kea_db.env(), "--list").stdout)
    assert listed["type_ilo5"]["hosts"] == ["us3-cab10-ru21-ilo5"]
    # a cached copy is served without connecting: a wrong password does not matter
    refused = dict(kea_db.env(), KEA_DB_PASSWORD="wrong-secret-value")
    assert sorted(json.loads(inventory(path, refused, "--list").stdout)["_meta"]["hostvars"]) == ["us3-cab10-ru20-idrac", "us3-cab10-ru21-ilo5"]


def test_credentials_from_vault(reservations, kea_db, openbao, tmp_path):
    openbao.put(DB_PATH, {"username": kea_db.kea_user, "password": kea_db.kea_password})
    token = openbao.token_with_policy("kea-inventory", READ_POLICY)
    env = {k: v for k, v in kea_db.env().items() if k in ("KEA_DB_HOST", "KEA_DB_PORT", "KEA_DB_NAME")}
    path = source(tmp_path, f"plugin: ddi.kea_dns.kea_reservations\nuse_vault: true\ndb_vault_path: {DB_PATH}\n")
    output = tmp_path / "list.json"
    listed = inventory(path, dict(env, VAULT_ADDR=openbao.addr, VAULT_TOKEN=token), "--list", "-vvv", "--output", str(output))
    assert "us3-cab10-ru20-idrac" in json.loads(output.read_text())["_meta"]["hostvars"]
    for secret in (token, kea_db.kea_password, openbao.root_token):
        assert secret not in listed.stdout + listed.stderr + output.read_text()
    denied = inventory(path, dict(env, VAULT_ADDR=openbao.addr, VAULT_TOKEN="not-a-token"), "--list", check=False)
    assert denied.returncode != 0 and "Traceback" not in denied.stderr
    assert "ddi.kea_dns.kea_reservations: " in denied.stderr and "not-a-token" not in denied.stderr


@pytest.mark.parametrize(("config", "env_change", "cause"), [
    ("", {"KEA_DB_PORT": "free"}, "Connection refused"),
    ("", {"KEA_DB_PASSWORD": "wrong-secret-value"}, 'password authentication failed for user "kea"'),
    ("hostname_regex: '(['\n", {}, "hostname_regex: invalid value '(['"),
    ("naming_pattern: '^(?P<site>[a-z]+)$'\n", {}, "naming_pattern: invalid value '^(?P<site>[a-z]+)$': the pattern needs the named group(s) cabinet"),
    ("naming_pattern: '(?P<site>'\n", {}, "naming_pattern: invalid value '(?P<site>': not a valid regular expression"),
    ("hostname_regx: x\n", {}, "unknown option 'hostname_regx' in the configuration file (did you mean hostname_regex?)"),
    ("subnet_ids: [-1]\n", {}, "subnet_ids: invalid value -1"),
    ("dns_zone: 'a..b'\n", {}, "dns_zone: invalid value 'a..b'"),
], ids=["db-unreachable", "wrong-password", "invalid-regex", "pattern-without-cabinet", "invalid-pattern", "unknown-option",
        "bad-subnet", "bad-zone"])
def test_bad_input_is_one_clear_line(reservations, kea_db, tmp_path, config, env_change, cause):
    env = dict(kea_db.env(), **{k: str(free_port()) if v == "free" else v for k, v in env_change.items()})
    path = source(tmp_path, "plugin: ddi.kea_dns.kea_reservations\n" + config)
    failed = inventory(path, env, "--list", check=False)
    assert failed.returncode != 0
    lines = [line for line in failed.stderr.splitlines() if "ddi.kea_dns.kea_reservations" in line and cause in line]
    assert lines, failed.stderr
    assert "Traceback" not in failed.stderr
    assert kea_db.kea_password not in failed.stdout + failed.stderr and "wrong-secret-value" not in failed.stdout + failed.stderr


def test_documentation_examples_are_valid_sources(reservations, kea_db, tmp_path):
    with open(os.path.join(REPO_ROOT, "plugins", "inventory", "kea_reservations.py"), encoding="utf-8") as handle:
        texts = {node.targets[0].id: node.value.value for node in ast.parse(handle.read()).body
                 if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Constant)}
    page = subprocess.run([tool("ansible-doc"), "-t", "inventory", "ddi.kea_dns.kea_reservations", "--json"], env=ansible_env(),
                          capture_output=True, text=True, check=True)
    documented = set(json.loads(page.stdout)["ddi.kea_dns.kea_reservations"]["doc"]["options"])  # with the fragments'
    examples = [block for block in texts["EXAMPLES"].split("\n---\n") if block.strip()]
    assert len(examples) == 2
    for example in examples:
        assert yaml.safe_load(example)["plugin"] == "ddi.kea_dns.kea_reservations"
    # the first example runs as it is, with the connection in the environment
    listed = json.loads(inventory(source(tmp_path, examples[0], "example"), kea_db.env(), "--list").stdout)
    assert listed["_meta"]["hostvars"]["us3-cab10-ru20-idrac"]["fqdn"] == {"__ansible_unsafe": "us3-cab10-ru20-idrac.oob.example.com"}
    assert "printer-3" not in listed["_meta"]["hostvars"]
    # the second one's options exist (an unknown one would fail the source)
    assert set(yaml.safe_load(examples[1])) - {"plugin"} <= documented


def test_dhcpv6_reservations_add_their_addresses_and_hosts(kea_db, tmp_path):
    """A hostname's DHCPv6 addresses join its host; a hostname with DHCPv6 reservations only is a host of its own;
    prefer_ipv6 makes the first IPv6 address ansible_host; subnet_ids (DHCPv4 subnets) adds no DHCPv6-only host."""
    kea_db.kea_sql("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) "
                   "VALUES (decode('aabbcc000001', 'hex'), 0, 1, ('10.99.0.20'::inet - '0.0.0.0'::inet), 'us3-cab10-ru20-idrac')")
    for duid, hostname, address in (("00030001aabbcc000001", "us3-cab10-ru20-idrac", "2001:db8::20"),
                                    ("00030001aabbcc000002", "us3-cab10-ru22-idrac", "2001:db8::22")):
        kea_db.kea_sql("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp6_subnet_id, hostname) VALUES (decode(%s, 'hex'), 1, 10, %s); "
                       "INSERT INTO ipv6_reservations (address, prefix_len, type, host_id) SELECT %s, 128, 0, host_id FROM hosts "
                       "WHERE hostname = %s AND dhcp6_subnet_id IS NOT NULL", (duid, hostname, address, hostname))
    listed = plain(json.loads(inventory(source(tmp_path, "plugin: ddi.kea_dns.kea_reservations\n"), kea_db.env(), "--list").stdout))
    hostvars = listed["_meta"]["hostvars"]
    both, only_v6 = hostvars["us3-cab10-ru20-idrac"], hostvars["us3-cab10-ru22-idrac"]
    assert (both["ansible_host"], both["ipv6_addresses"], both["ipv6_address"]) == ("10.99.0.20", ["2001:db8::20"], "2001:db8::20")
    assert both["mac"] == "aa:bb:cc:00:00:01"
    assert (only_v6["ansible_host"], only_v6["ipv6_address"]) == ("2001:db8::22", "2001:db8::22")
    assert (only_v6["identifier_type"], only_v6["subnet_id"]) == ("duid", 10)
    assert sorted(listed["us3_cab10"]["hosts"]) == ["us3-cab10-ru20-idrac", "us3-cab10-ru22-idrac"]
    preferred = plain(json.loads(inventory(source(tmp_path, "plugin: ddi.kea_dns.kea_reservations\nprefer_ipv6: true\n", "v6"), kea_db.env(),
                                           "--list").stdout))
    assert preferred["_meta"]["hostvars"]["us3-cab10-ru20-idrac"]["ansible_host"] == "2001:db8::20"
    filtered = plain(json.loads(inventory(source(tmp_path, "plugin: ddi.kea_dns.kea_reservations\nsubnet_ids: [1]\n", "s1"), kea_db.env(),
                                          "--list").stdout))
    assert sorted(filtered["_meta"]["hostvars"]) == ["us3-cab10-ru20-idrac"]
    assert filtered["_meta"]["hostvars"]["us3-cab10-ru20-idrac"]["ipv6_address"] == "2001:db8::20"
