"""The plugin variants of the option fragments declare the environment variables the core reads (the catalogue, _options.py)."""

from __future__ import annotations

import yaml

from ansible_collections.ddi.kea_dns.plugins.doc_fragments.kea_db import ModuleDocFragment as KeaDb
from ansible_collections.ddi.kea_dns.plugins.doc_fragments.vault import ModuleDocFragment as Vault
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import environment


def test_plugin_fragments_match_the_core_environment_variables():
    for fragment, prefix in ((KeaDb, "db_"), (Vault, "vault_")):
        plugin = yaml.safe_load(fragment.PLUGIN)["options"]
        expected = {option: list(names) for option, names in environment().items() if option.startswith(prefix)}
        assert {option: [entry["name"] for entry in spec["env"]] for option, spec in plugin.items()} == expected
        assert set(plugin) <= set(yaml.safe_load(fragment.DOCUMENTATION)["options"])
