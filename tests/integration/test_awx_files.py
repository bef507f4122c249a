"""The importable AWX / AAP files of extensions/awx: the inventory source works with ansible-inventory as AWX runs
it, and the EDA activation names the rulebook's variables and the example job templates."""

from __future__ import annotations

import json
import os
import re
import subprocess

import yaml

from tests.harness.ansible import REPO_ROOT, ansible_env, tool

AWX = os.path.join(REPO_ROOT, "extensions", "awx")
INSERT = ("INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) "
          "VALUES (decode(%s, 'hex'), 0, 1, (%s::inet - '0.0.0.0'::inet), %s)")


def test_inventory_source_as_awx_runs_it(kea_db):
    kea_db.kea_sql(INSERT, ("aabbccdd0901", "10.99.9.1", "us3-cab10-ru20-idrac"))
    kea_db.kea_sql(INSERT, ("aabbccdd0902", "10.99.9.2", "us3-cab10-ru01-switch"))
    env = ansible_env(dict(kea_db.env(), ANSIBLE_INVENTORY_UNPARSED_FAILED="true"))
    out = subprocess.run([tool("ansible-inventory"), "-i", os.path.join(AWX, "inventories", "bmc.kea_reservations.yml"), "--list", "--export"],
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    inventory = json.loads(out.stdout)
    assert inventory["us3_cab10"]["hosts"] == ["us3-cab10-ru20-idrac"] and inventory["subnet_1"]["hosts"] == ["us3-cab10-ru20-idrac"]
    assert "us3-cab10-ru01-switch" not in out.stdout and kea_db.kea_password not in out.stdout + out.stderr


def test_activation_matches_the_rulebook_and_the_job_templates():
    with open(os.path.join(AWX, "eda_activation.yml"), encoding="utf-8") as handle:
        activation = yaml.safe_load(handle)["activation"]
    with open(os.path.join(AWX, "job_templates.yml"), encoding="utf-8") as handle:
        templates = {t["name"] for t in yaml.safe_load(handle)["job_templates"]}
    with open(os.path.join(REPO_ROOT, "extensions", "eda", "rulebooks", activation["rulebook"]), encoding="utf-8") as handle:
        rulebook = handle.read()
    used = set(re.findall(r"\b(kea_dns_\w+)", rulebook))
    assert set(activation["extra_vars"]) <= used
    assert {activation["extra_vars"]["kea_dns_dns_job_template"], activation["extra_vars"]["kea_dns_inventory_job_template"]} <= templates
