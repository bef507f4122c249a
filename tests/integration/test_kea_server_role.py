"""Role ddi.kea_dns.kea_server: converge and idempotence against real PostgreSQL (kea-admin), configs tested by the
real kea-dhcp4 -t and kea-dhcp6 -t, and, as root, the rendered configs run by the real kea-dhcp4 and kea-dhcp6 in a
network namespace: a real DHCP client (busybox udhcpc) gets its reserved address and hostname, and a real DHCPv6 client
(ISC dhclient -6) gets its reserved address, whose AAAA record the listener daemon has put in a real Knot."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import uuid

import pytest

from tests.harness.ansible import REPO_ROOT, ansible_env, run_tasks, tool
from tests.harness.netns import UDHCPC_SCRIPT, VethPair, can_run
from tests.harness.pipeline import REVERSE6, ZONE, daemon, listener_target
from tests.harness.procs import stop_pid, wait_for

SUBNET6 = {"id": 10, "subnet": "2001:db8::/64", "pools": ["2001:db8::100 - 2001:db8::1ff"],
           "pd_pools": [{"prefix": "2001:db8:8000::", "prefix_len": 48, "delegated_len": 56}],
           "option_data": [{"name": "dns-servers", "data": "2001:db8::53"}]}


@pytest.fixture
def empty_db(pg_cluster):
    """An empty database owned by the kea role: the role must run kea-admin db-init on it."""
    name = f"kea_role_{uuid.uuid4().hex[:8]}"
    pg_cluster.admin_sql(f"CREATE DATABASE {name} OWNER {pg_cluster.kea_user}")
    yield name
    pg_cluster.admin_sql(f"DROP DATABASE {name} WITH (FORCE)")


def role_vars(pg, dbname: str, config_dir: str, **extra) -> dict:
    return {"kea_server_install_packages": False, "kea_server_manage_services": False, "kea_server_config_dir": config_dir,
            "kea_server_config_group": "root", "kea_server_control_socket": os.path.join(config_dir, "kea4-ctrl-socket"),
            "kea_server_interfaces": ["lo"], "kea_server_db_host": "127.0.0.1", "kea_server_db_port": pg.port, "kea_server_db_name": dbname,
            "kea_server_db_user": pg.kea_user, "kea_server_db_password": pg.kea_password,
            "kea_server_subnets": [{"id": 1, "subnet": "10.99.0.0/24", "pools": ["10.99.0.100 - 10.99.0.200"],
                                    "option_data": [{"name": "routers", "data": "10.99.0.1"}]}],
            **extra}


def read_config(path) -> dict:
    """A rendered Kea config as JSON, its <?include?> of the password file read as an empty password."""
    with open(path, encoding="utf-8") as handle:
        return json.loads(re.sub(r'<\?include "[^"]+"\?>', '"password": ""', handle.read()))


def converge(work: str, variables: dict, *args: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    """ansible-playbook with the role on localhost; returns the process and the recap's counters."""
    playbook = os.path.join(work, "converge.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        json.dump([{"name": "Converge", "hosts": "localhost", "connection": "local", "gather_facts": False,
                    "roles": [{"role": "ddi.kea_dns.kea_server"}]}], handle)
    extra = os.path.join(work, "vars.json")
    with open(extra, "w", encoding="utf-8") as handle:
        json.dump(variables, handle)
    proc = subprocess.run([tool("ansible-playbook"), "-i", "localhost,", playbook, "-e", f"@{extra}", *args], env=ansible_env(env),
                          capture_output=True, text=True, timeout=300, check=False)
    recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout)
    counters = dict(zip(("ok", "changed", "unreachable", "failed"), map(int, recap.groups()), strict=True)) if recap else {}
    return proc, counters


def test_converge_initialises_the_schema_and_is_idempotent(pg_cluster, empty_db, tmp_path):
    variables = role_vars(pg_cluster, empty_db, str(tmp_path / "etc"))
    os.makedirs(tmp_path / "etc")
    proc, first = converge(str(tmp_path), variables, "-vvv")
    assert proc.returncode == 0 and first["changed"] >= 4, proc.stdout[-4000:]
    assert pg_cluster.admin_sql("SELECT version, minor FROM schema_version", dbname=empty_db) == [(13, 0)]
    config_text = (tmp_path / "etc" / "kea-dhcp4.conf").read_text()
    assert pg_cluster.kea_password not in config_text and pg_cluster.kea_password not in proc.stdout + proc.stderr
    assert '<?include "' + str(tmp_path / "etc" / "kea-db-password.json") + '"?>' in config_text
    assert stat.S_IMODE(os.stat(tmp_path / "etc" / "kea-db-password.json").st_mode) == 0o640
    assert "libdhcp_lease_cmds.so" in config_text and '"subnet": "10.99.0.0/24"' in config_text
    assert subprocess.run(["kea-ctrl-agent", "-t", str(tmp_path / "etc" / "kea-ctrl-agent.conf")], capture_output=True, check=False).returncode == 0

    proc, again = converge(str(tmp_path), variables)
    assert proc.returncode == 0 and again["changed"] == 0, proc.stdout[-4000:]

    # A database with a newer schema than this Kea's is refused, and nothing is written.
    pg_cluster.admin_sql("UPDATE schema_version SET version = 99", dbname=empty_db)
    proc, newer = converge(str(tmp_path), dict(variables, kea_server_valid_lifetime=3600))
    assert newer["failed"] == 1 and "has Kea schema 99.0, newer than the 13.0 of Kea 2.2.0" in proc.stdout, proc.stdout[-3000:]
    assert (tmp_path / "etc" / "kea-dhcp4.conf").read_text() == config_text


def test_database_credentials_from_vault(pg_cluster, empty_db, openbao, tmp_path):
    os.makedirs(tmp_path / "etc")
    openbao.put("teams/core-infrastructure/server/kea_db", {"username": pg_cluster.kea_user, "password": pg_cluster.kea_password})
    token = openbao.token_with_policy("kea-server-read", 'path "secrets/data/teams/core-infrastructure/server/kea_db" { capabilities = ["read"] }')
    variables = role_vars(pg_cluster, empty_db, str(tmp_path / "etc"), kea_server_db_password="", kea_server_db_user="",
                          kea_server_db_vault_path="teams/core-infrastructure/server/kea_db")
    proc, counters = converge(str(tmp_path), variables, "-vvv", env={"VAULT_ADDR": openbao.addr, "VAULT_TOKEN": token})
    assert proc.returncode == 0 and counters["changed"] >= 4, proc.stdout[-4000:]
    assert pg_cluster.admin_sql("SELECT version, minor FROM schema_version", dbname=empty_db) == [(13, 0)]
    assert json.loads("{" + (tmp_path / "etc" / "kea-db-password.json").read_text() + "}") == {"password": pg_cluster.kea_password}
    assert pg_cluster.kea_password not in proc.stdout + proc.stderr and token not in proc.stdout + proc.stderr


def test_bad_variables_and_a_bad_config_leave_the_live_config(pg_cluster, empty_db, tmp_path):
    os.makedirs(tmp_path / "etc")
    variables = role_vars(pg_cluster, empty_db, str(tmp_path / "etc"))
    proc, _counters = converge(str(tmp_path), variables)
    assert proc.returncode == 0, proc.stdout[-3000:]
    live = (tmp_path / "etc" / "kea-dhcp4.conf").read_text()
    overlapping = dict(variables, kea_server_subnets=variables["kea_server_subnets"] + [{"id": 2, "subnet": "10.99.0.0/24"}])
    proc, counters = converge(str(tmp_path), overlapping)
    assert counters["failed"] == 1 and "subnet with the prefix of '10.99.0.0/24' already exists" in proc.stdout, proc.stdout[-3000:]
    assert (tmp_path / "etc" / "kea-dhcp4.conf").read_text() == live
    duplicate_id = dict(variables, kea_server_subnets=variables["kea_server_subnets"] + [{"id": 1, "subnet": "10.98.0.0/24"}])
    proc, counters = converge(str(tmp_path), duplicate_id)
    assert counters["failed"] == 1 and "every subnet of kea_server_subnets needs a unique id" in proc.stdout, proc.stdout[-3000:]
    assert (tmp_path / "etc" / "kea-dhcp4.conf").read_text() == live


REASON = can_run()


@pytest.mark.skipif(REASON is not None, reason=f"DHCP end to end: {REASON}")
def test_a_real_dhcp_client_gets_the_reserved_address_and_hostname(pg_cluster, empty_db, tmp_path):
    os.makedirs(tmp_path / "etc")
    script = tmp_path / "udhcpc.sh"
    script.write_text(UDHCPC_SCRIPT)
    script.chmod(0o755)
    with VethPair() as net:
        # Kea in the server namespace reaches PostgreSQL through its Unix socket (loopback differs per namespace).
        variables = role_vars(pg_cluster, empty_db, str(tmp_path / "etc"), kea_server_interfaces=[net.server_if],
                              kea_server_validate_netns=net.server, kea_server_db_host=pg_cluster.sock)
        variables["kea_server_subnets"][0]["interface"] = net.server_if
        proc, _counters = converge(str(tmp_path), variables)
        assert proc.returncode == 0, proc.stdout[-4000:]
        env = dict(os.environ, KEA_PIDFILE_DIR=str(tmp_path), KEA_LOCKFILE_DIR=str(tmp_path))
        with open(tmp_path / "kea-dhcp4.log", "wb") as log:
            kea = subprocess.Popen(net.in_server("kea-dhcp4", "-c", str(tmp_path / "etc" / "kea-dhcp4.conf")), stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            wait_for(lambda: os.path.exists(variables["kea_server_control_socket"]), 15, "kea-dhcp4")
            db_env = dict(pg_cluster.env(), KEA_DB_NAME=empty_db)
            reserve = {"ddi.kea_dns.kea_reservation": {"mac": net.client_mac, "subnet_id": 1, "ip": "10.99.0.50", "hostname": "us3-cab10-ru20-idrac"}}
            assert run_tasks([reserve], env=db_env).results[0]["changed"] is True
            lease = net.dhcp_client(str(script))
            assert lease == {"ip": "10.99.0.50", "hostname": "us3-cab10-ru20-idrac"}, (lease, (tmp_path / "kea-dhcp4.log").read_text()[-2000:])

            # A config error is caught by kea-dhcp4 -t: the live file stays and the running server keeps serving.
            live = (tmp_path / "etc" / "kea-dhcp4.conf").read_text()
            broken = dict(variables, kea_server_subnets=variables["kea_server_subnets"] + [{"id": 2, "subnet": "10.99.0.0/24"}])
            proc, counters = converge(str(tmp_path), broken)
            assert counters["failed"] == 1 and "already exists" in proc.stdout, proc.stdout[-3000:]
            assert (tmp_path / "etc" / "kea-dhcp4.conf").read_text() == live and kea.poll() is None

            moved = dict(reserve["ddi.kea_dns.kea_reservation"], ip="10.99.0.51")
            assert run_tasks([{"ddi.kea_dns.kea_reservation": moved}], env=db_env).results[0]["changed"] is True
            lease = net.dhcp_client(str(script))
            assert lease == {"ip": "10.99.0.51", "hostname": "us3-cab10-ru20-idrac"}, lease
        finally:
            stop_pid(kea.pid)
            kea.wait(timeout=10)


def test_dual_stack_with_hot_standby_renders_both_servers_each_tested_by_its_kea(pg_cluster, empty_db, tmp_path):
    etc = tmp_path / "etc"
    os.makedirs(etc)
    peers = [{"name": "dhcp1", "url": "http://10.99.0.2:8000/", "role": "primary"}, {"name": "dhcp2", "url": "http://10.99.0.3:8000/", "role": "standby"}]
    variables = role_vars(pg_cluster, empty_db, str(etc), kea_server_control_socket6=str(etc / "kea6-ctrl-socket"),
                          kea_server_ha_mode="hot-standby", kea_server_ha_this_server="dhcp1", kea_server_ha_peers=peers)
    variables["kea_server_subnets"].append(dict(SUBNET6, id=1))  # the same id as the DHCPv4 subnet: ids are per family
    proc, first = converge(str(tmp_path), variables)
    assert proc.returncode == 0 and first["changed"] >= 4, proc.stdout[-4000:]
    dhcp4, dhcp6 = (read_config(etc / f"kea-dhcp{family}.conf") for family in (4, 6))
    assert [s["subnet"] for s in dhcp4["Dhcp4"]["subnet4"]] == ["10.99.0.0/24"], dhcp4
    server = dhcp6["Dhcp6"]
    assert [(s["id"], s["subnet"], s["pd-pools"]) for s in server["subnet6"]] == \
        [(1, "2001:db8::/64", [{"prefix": "2001:db8:8000::", "prefix-len": 48, "delegated-len": 56}])], server
    assert server["host-reservation-identifiers"] == ["hw-address", "duid"] and server["preferred-lifetime"] == 54000
    assert server["control-socket"]["socket-name"] == str(etc / "kea6-ctrl-socket")
    assert server["lease-database"]["type"] == server["hosts-database"]["type"] == "postgresql"
    ha = [hook for hook in server["hooks-libraries"] if hook["library"].endswith("libdhcp_ha.so")]
    assert ha and ha[0]["parameters"]["high-availability"][0]["peers"][1] == {**peers[1], "auto-failover": True}, server["hooks-libraries"]
    assert any(hook["library"].endswith("libdhcp_lease_cmds.so") for hook in server["hooks-libraries"])
    agent = json.loads((etc / "kea-ctrl-agent.conf").read_text())["Control-agent"]["control-sockets"]
    assert set(agent) == {"dhcp4", "dhcp6"} and agent["dhcp6"]["socket-name"] == str(etc / "kea6-ctrl-socket")
    assert pg_cluster.kea_password not in (etc / "kea-dhcp6.conf").read_text()
    proc, again = converge(str(tmp_path), variables)
    assert proc.returncode == 0 and again["changed"] == 0, proc.stdout[-4000:]

    # kea-dhcp6 -t refuses a bad DHCPv6 subnet (a delegated length shorter than its pool's prefix): the live files stay.
    live = {family: (etc / f"kea-dhcp{family}.conf").read_text() for family in (4, 6)}
    bad_pd = dict(variables, kea_server_subnets=[variables["kea_server_subnets"][0], dict(SUBNET6, id=1, pd_pools=[
        {"prefix": "2001:db8:8000::", "prefix_len": 48, "delegated_len": 40}])])
    proc, counters = converge(str(tmp_path), bad_pd)
    assert counters["failed"] == 1 and "kea-dhcp6" in proc.stdout and "delegated" in proc.stdout.lower(), proc.stdout[-3000:]
    assert {family: (etc / f"kea-dhcp{family}.conf").read_text() for family in (4, 6)} == live
    # Two DHCPv6 subnets with one id are refused before anything is rendered.
    duplicate = dict(variables, kea_server_subnets=[*variables["kea_server_subnets"], dict(SUBNET6, id=1, subnet="2001:db8:1::/64", pools=[], pd_pools=[])])
    proc, counters = converge(str(tmp_path), duplicate)
    assert counters["failed"] == 1 and "unique id within its family" in proc.stdout, proc.stdout[-3000:]
    assert (etc / "kea-dhcp6.conf").read_text() == live[6]


@pytest.mark.skipif(REASON is not None, reason=f"DHCPv6 end to end: {REASON}")
def test_a_real_dhcpv6_client_gets_the_reserved_address_and_its_name_answers_aaaa(request, pipeline_db, listeners, tmp_path):
    """kea-dhcp6 from the role's DHCPv6-only config serves a reservation written by kea_reservation (family 6, DUID);
    the listener daemon, fed by the kea_db_events triggers, puts its AAAA and PTR records in Knot."""
    etc = tmp_path / "etc"
    os.makedirs(etc)
    knot = listener_target(request, "knot")
    listener = daemon(pipeline_db, knot, ptr=True)
    listeners.append(listener.start())
    with VethPair() as net:
        subnet = {"id": 10, "subnet": "2001:db8::/64", "pools": ["2001:db8::100 - 2001:db8::1ff"], "interface": net.server_if}
        variables = role_vars(pipeline_db, pipeline_db.kea_db, str(etc), kea_server_interfaces=[net.server_if], kea_server_subnets=[subnet],
                              kea_server_control_socket6=str(etc / "kea6-ctrl-socket"), kea_server_data_dir=str(tmp_path),
                              kea_server_validate_netns=net.server, kea_server_db_host=pipeline_db.sock)
        proc, _counters = converge(str(tmp_path), variables)
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert not (etc / "kea-dhcp4.conf").exists()  # a DHCPv6-only server
        env = dict(os.environ, KEA_PIDFILE_DIR=str(tmp_path), KEA_LOCKFILE_DIR=str(tmp_path))
        with open(tmp_path / "kea-dhcp6.log", "wb") as log:
            kea = subprocess.Popen(net.in_server("kea-dhcp6", "-c", str(etc / "kea-dhcp6.conf")), stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            wait_for(lambda: os.path.exists(etc / "kea6-ctrl-socket"), 15, "kea-dhcp6")
            db_env = dict(pipeline_db.env())
            name = f"us3-cab10-ru20-idrac.{ZONE}"
            reserve = {"family": 6, "duid": "00:03:00:01:" + net.client_mac, "subnet_id": 10, "ipv6_addresses": ["2001:db8::50"],
                       "hostname": "us3-cab10-ru20-idrac"}
            assert run_tasks([{"ddi.kea_dns.kea_reservation": reserve}], env=db_env).results[0]["changed"] is True
            lease = net.dhcp6_client(str(tmp_path / "client"))
            assert lease == {"ip6": "2001:db8::50"}, (lease, (tmp_path / "kea-dhcp6.log").read_text()[-2000:])
            wait_for(lambda: knot.server.query(name, "AAAA") == ["2001:db8::50"], 10, "the AAAA record")
            assert knot.server.query("0.5.0.0." + "0.0.0.0." * 3 + REVERSE6, "PTR") == [name]

            moved = dict(reserve, ipv6_addresses=["2001:db8::51"])
            assert run_tasks([{"ddi.kea_dns.kea_reservation": moved}], env=db_env).results[0]["changed"] is True
            lease = net.dhcp6_client(str(tmp_path / "client"))
            assert lease == {"ip6": "2001:db8::51"}, (lease, (tmp_path / "kea-dhcp6.log").read_text()[-2000:])
            wait_for(lambda: knot.server.query(name, "AAAA") == ["2001:db8::51"], 10, "the moved AAAA record")
        finally:
            stop_pid(kea.pid)
            kea.wait(timeout=10)


def test_site_playbook_parses():
    proc = subprocess.run([tool("ansible-playbook"), "--syntax-check", "-i", "localhost,", os.path.join(REPO_ROOT, "playbooks", "site.yml")],
                          env=ansible_env(), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
