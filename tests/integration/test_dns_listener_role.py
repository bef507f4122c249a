"""Role ddi.kea_dns.dns_listener: install into a venv, render config/env/unit, then run the daemon from those files.

There is no systemd here, so the role runs with dns_listener_manage_service=false and the test starts the program the
role installed with the config it rendered and the environment file it wrote, as the unit would.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess

from tests.harness.ansible import ansible_env, tool
from tests.harness.listener import LISTENER_PASSWORD, ListenerProcess, read_env_file, read_unit
from tests.harness.pipeline import INSERT, ZONE, kea_write
from tests.harness.procs import free_port, wait_for

PLAY = "play.json"


def run_role(tmp_path, variables: dict) -> subprocess.CompletedProcess:
    play = [{"name": "Listener", "hosts": "localhost", "gather_facts": False, "vars": variables,
             "roles": [{"role": "ddi.kea_dns.dns_listener"}]}]
    (tmp_path / PLAY).write_text(json.dumps(play))
    (tmp_path / "inventory.ini").write_text("localhost ansible_connection=local\n")
    return subprocess.run([tool("ansible-playbook"), "-i", str(tmp_path / "inventory.ini"), str(tmp_path / PLAY), "-v"],
                          env=ansible_env(), capture_output=True, text=True, check=False)


def recap_changed(output: str) -> int:
    return int(re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)", output).group(1))


def test_role_installs_the_daemon_which_runs_from_the_rendered_files(pipeline_db, knot_server, tmp_path):
    root = tmp_path / "target"
    (root / "systemd").mkdir(parents=True)  # exists on every systemd host
    port = free_port()
    variables = {
        "dns_listener_install_dir": str(root / "opt"), "dns_listener_config_dir": str(root / "etc"),
        "dns_listener_output_dir": str(root / "discovery"), "dns_listener_unit_dir": str(root / "systemd"),
        "dns_listener_manage_service": False, "dns_listener_create_user": False, "dns_listener_user": "root",
        "dns_listener_group": "root",
        "dns_listener_config": {"db_host": "127.0.0.1", "db_port": pipeline_db.port, "db_user": "kea_dns_listener", "enable_dns": True,
                                "dns_zone": ZONE, "provider": "knot", "knot_socket": knot_server.socket,
                                "metrics_address": f"127.0.0.1:{port}"},
        "dns_listener_environment": {"KEA_DB_PASSWORD": LISTENER_PASSWORD},
    }
    first = run_role(tmp_path, variables)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    again = run_role(tmp_path, variables)
    assert again.returncode == 0 and recap_changed(again.stdout) == 0, again.stdout[-3000:]
    assert LISTENER_PASSWORD not in first.stdout + again.stdout

    config, env_file = root / "etc" / "config.yml", root / "etc" / "listener.env"
    unit = (root / "systemd" / "kea-lease-monitor.service").read_text()
    for path in (config, env_file):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert LISTENER_PASSWORD not in config.read_text() and LISTENER_PASSWORD not in unit
    exec_start, unit_env_file = read_unit(str(root / "systemd" / "kea-lease-monitor.service"))
    assert exec_start == [str(root / "opt" / "venv" / "bin" / "python"), str(root / "opt" / "kea_lease_monitor_vault.py"),
                          "--config", str(config)]
    assert "Restart=always" in unit and "NoNewPrivileges=yes" in unit and unit_env_file == str(env_file)

    # Start it as the unit would: the installed interpreter and program, the rendered config and environment file.
    listener = ListenerProcess({}, read_env_file(str(env_file)), python=exec_start[0], program=exec_start[1], config=str(config),
                               base=str(tmp_path / "run"), metrics_port=port)
    os.makedirs(listener.base, exist_ok=True)
    try:
        listener.start()
        kea_write(pipeline_db, [(INSERT, ("aabbccdd0a01", "10.99.0.91", "us3-cab30-ru1-idrac"))])
        wait_for(lambda: knot_server.query(f"us3-cab30-ru1-idrac.{ZONE}") == ["10.99.0.91"], 10, "the record")
        wait_for((root / "discovery" / "us3-cab30-discovery.yml").exists, 10, "the inventory file")
        kea_write(pipeline_db, [("DELETE FROM hosts", ())])
        wait_for(lambda: knot_server.query(f"us3-cab30-ru1-idrac.{ZONE}") == [], 10, "the deletion")
        assert "plugins/module_utils" not in listener.log()  # no traceback
    finally:
        listener.stop()

    variables["dns_listener_state"] = "absent"
    removed = run_role(tmp_path, variables)
    assert removed.returncode == 0, removed.stdout[-3000:]
    assert not (root / "opt").exists() and not config.exists() and not (root / "systemd" / "kea-lease-monitor.service").exists()
    assert (root / "discovery").is_dir()


def test_role_refuses_secrets_in_the_config(tmp_path):
    result = run_role(tmp_path, {"dns_listener_config": {"db_password": "hunter2-role"}, "dns_listener_manage_service": False,
                                 "dns_listener_install_dir": str(tmp_path / "opt")})
    assert result.returncode != 0 and "db_password" in result.stdout and not (tmp_path / "opt").exists()
