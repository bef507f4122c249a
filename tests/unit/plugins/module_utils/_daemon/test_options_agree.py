"""The daemon's options and the modules' argument specs of the same name agree: type, choices, default, units."""

from __future__ import annotations

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon import config
from ansible_collections.ddi.kea_dns.plugins.module_utils._module import argspec

MODULE_OPTIONS = {**argspec.kea_db_argspec(), **argspec.vault_argspec(), **argspec.dns_argspec(), **argspec.naming_argspec()}
SHARED = sorted(set(MODULE_OPTIONS) & set(config.BY_NAME))
TYPES = {str: ("str", "path"), int: ("int",), float: ("float",), bool: ("bool",), dict: ("dict",), list: ("list",)}
# Where the daemon's default differs on purpose, and why.
DIFFERENT_DEFAULTS = {
    "provider": "the modules require it; the daemon keeps the replaced daemon's backend (SOLIDserver)",
    "dns_owner_txt": "the daemon turns TXT markers on for backends that keep no owner metadata (None); modules take False",
}


def test_there_are_shared_options():
    assert len(SHARED) > 30, SHARED


@pytest.mark.parametrize("name", SHARED)
def test_type_choices_and_default_agree(name):
    daemon, module = config.BY_NAME[name], MODULE_OPTIONS[name]
    assert module.get("type", "str") in TYPES[daemon.kind], (name, daemon.kind, module.get("type"))
    if module.get("choices") is not None:
        assert daemon.choices is not None and sorted(daemon.choices) == sorted(module["choices"]), (name, daemon.choices, module["choices"])
    if daemon.default is not None and name not in DIFFERENT_DEFAULTS:
        assert daemon.default == module.get("default"), (name, daemon.default, module.get("default"))


def test_the_units_in_the_help_are_those_of_the_docs():
    """solidserver_rate_limit is calls per minute in the backend and its documentation; the daemon's help said second."""
    from ansible_collections.ddi.kea_dns.plugins.doc_fragments.dns import ModuleDocFragment  # pylint: disable=import-outside-toplevel

    assert "per minute" in config.BY_NAME["solidserver_rate_limit"].help
    assert "per minute" in ModuleDocFragment.SOLIDSERVER.split("solidserver_rate_limit:", 1)[1].split("type:", 1)[0]
