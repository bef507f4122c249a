"""extensions/awx/credential_types.yml: every injected variable is one the collection reads, every field an
injector uses exists, and every field that holds a secret is marked secret."""

from __future__ import annotations

import os
import re

import yaml

from ansible_collections.ddi.kea_dns.plugins.module_utils._options import environment

FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "extensions", "awx", "credential_types.yml")
SECRET_WORDS = ("password", "secret", "token", "key")


def test_credential_types_inject_what_the_collection_reads():
    with open(FILE, encoding="utf-8") as handle:
        types = yaml.safe_load(handle)["credential_types"]
    known = {name for names in environment().values() for name in names}
    assert {t["name"] for t in types} >= {"Kea database", "Vault AppRole (ddi.kea_dns)", "PowerDNS API", "RFC 2136 TSIG key",
                                          "Technitium API token", "SOLIDserver"}
    for credential_type in types:
        fields = {field["id"]: field for field in credential_type["inputs"]["fields"]}
        env = credential_type["injectors"]["env"]
        assert set(env) <= known, (credential_type["name"], set(env) - known)
        used = {name for value in env.values() for name in re.findall(r"{{ (\w+) }}", value)}
        assert used <= set(fields) and set(credential_type["inputs"]["required"]) <= set(fields), credential_type["name"]
        for field_id, field in fields.items():
            if field_id.endswith(SECRET_WORDS) and field_id != "key_name":
                assert field.get("secret") is True, (credential_type["name"], field_id)


def test_job_templates_name_playbooks_and_credential_types_that_exist():
    root = os.path.dirname(os.path.dirname(FILE))
    with open(os.path.join(root, "awx", "job_templates.yml"), encoding="utf-8") as handle:
        templates = yaml.safe_load(handle)["job_templates"]
    with open(FILE, encoding="utf-8") as handle:
        types = {t["name"] for t in yaml.safe_load(handle)["credential_types"]} | {"Machine"}
    playbooks = os.path.join(os.path.dirname(root), "playbooks")
    for template in templates:
        assert os.path.isfile(os.path.join(playbooks, template["collection_playbook"])), template["name"]
        assert set(template["credential_types"]) <= types, template["name"]
