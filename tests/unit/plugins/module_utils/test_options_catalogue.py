"""The option catalogue (_options.py, the DNS backends' declarations) against everything that states an option again:
the doc fragments, the modules' own documentation, the listener daemon's flags and help, the EDA source's
documentation and checks, and the roles' argument specs and defaults. Any drift fails here."""

from __future__ import annotations

import ast
import glob
import os
import re

import pytest
import yaml

from ansible_collections.ddi.kea_dns.plugins.doc_fragments import dns, kea_db, naming, route_source, vault
from ansible_collections.ddi.kea_dns.plugins.module_utils import _options
from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon import config, routes
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns import registry
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import events

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 4))
CATALOGUE = _options.catalogue()
# The fragments and the catalogue groups they document, in full.
FRAGMENTS = {
    "kea_db": (kea_db.ModuleDocFragment.DOCUMENTATION, _options.KEA_DB),
    "vault": (vault.ModuleDocFragment.DOCUMENTATION, _options.VAULT),
    "naming": (naming.ModuleDocFragment.DOCUMENTATION, _options.NAMING),
    "dns": (dns.ModuleDocFragment.DOCUMENTATION, registry.DNS_OPTIONS),
    "route_source": (route_source.ModuleDocFragment.DOCUMENTATION, _options.ROUTE_SOURCE),
    **{f"dns.{name.upper()}": (getattr(dns.ModuleDocFragment, name.upper()), provider.options) for name, provider in registry.BACKENDS.items()},
}
# Role variables named otherwise than <role>_<option>.
ROLE_ALIASES = {"kea_db_events_schema": "events_schema", "kea_db_events_channel": "events_channel",
                "route_dns_target_address": "target", "route_dns_watch_namespaces": "namespaces"}
# The options a role's variables stand for: the catalogue's, or a program's own.
ROLE_OPTIONS = {"route_dns": {option.name: option for option in routes.OPTIONS}}
# Role defaults that differ from the catalogue's on purpose, and why.
ROLE_DEFAULTS = {
    "kea_db_events_db_user": "the outbox and triggers are installed by the owner of Kea's tables (postgres), not a login role",
    "kea_server_db_vault_path": "empty: Kea's own config takes kea_server_db_password unless a Vault path is given",
    "route_dns_rate_limit": "the manifests state seed 004's cap of 10 per second; the program's unset default is the backend's own",
}


def documented(spec: dict) -> tuple:
    """What a documentation entry says of an option: type, default, choices."""
    return spec.get("type", "str"), spec.get("default"), sorted(spec["choices"]) if spec.get("choices") else None


def declared(option: _options.Option) -> tuple:
    return option.type, option.default_value, sorted(option.choices) if option.choices else None


def test_every_option_is_declared_once_and_secrets_are_one_list():
    names = [option.name for option in (*_options.KEA_DB, *_options.VAULT, *_options.NAMING, *_options.OUTBOX, *_options.KEA_SOURCE,
                                        *registry.dns_options())]
    assert len(names) == len(set(names)) == len(CATALOGUE)
    assert _options.secret_options() == ("db_password", "vault_token", "vault_secret_id", "powerdns_api_key", "rfc2136_key_secret",
                                         "technitium_token", "solidserver_password")
    assert _options.env_only_options() == ("db_password", "vault_token", "vault_role_id", "vault_secret_id", "powerdns_api_key",
                                           "rfc2136_key_secret", "technitium_token", "solidserver_username", "solidserver_password")
    assert _options.env_only_options() == config.SECRET_OPTIONS
    assert set(events.SECRET_ARGUMENTS) == {name for name in _options.env_only_options() if name.startswith(("db_", "vault_"))}
    for provider in registry.BACKENDS.values():
        assert all(option.name.startswith(provider.name + "_") for option in provider.options), provider.name
        assert set(provider.vault_keys.values()) <= {option.name for option in provider.options}


@pytest.mark.parametrize("fragment", sorted(FRAGMENTS))
def test_doc_fragments_document_the_catalogue(fragment):
    text, group = FRAGMENTS[fragment]
    options = yaml.safe_load(text)["options"]
    assert sorted(options) == sorted(option.name for option in group)
    for option in group:
        assert documented(options[option.name]) == declared(option), option.name
        description = " ".join(options[option.name]["description"]) if isinstance(options[option.name]["description"], list) \
            else options[option.name]["description"]
        for variable in option.env:
            assert f"E({variable})" in description, (option.name, variable)


def _module_docs() -> dict[str, dict]:
    found = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))):
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
        for node in tree.body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION":
                found[os.path.basename(path)[:-3]] = yaml.safe_load(node.value.value).get("options", {})
    return found


@pytest.mark.parametrize(("module", "options"), sorted(_module_docs().items()))
def test_modules_that_state_a_catalogue_option_again_state_it_the_same(module, options):
    """A module's own documentation of a catalogue option (dns_sync's owner_id, kea_inventory_files' hostname_filter)
    says what the catalogue declares; its argument spec is made from the catalogue (ansible-test validate-modules
    holds the two together). dns_record's record options (name, ptr, ptr_zone) are its own, and so is its owner_id,
    which has no default: left out, the task is not one owner among several (dns_record's documented semantics)."""
    own = {"dns_record": {"name", "ptr", "ptr_zone", "owner_id"}, "dns_record_info": {"name"}}.get(module, set())
    for name, spec in options.items():
        if name in CATALOGUE and name not in own:
            assert documented(spec) == declared(CATALOGUE[name]), (module, name)


def test_the_daemon_has_every_catalogue_option_with_its_help_and_choices():
    flags = {action.dest: action for action in config.parser()._actions}  # pylint: disable=protected-access
    for option in config.OPTIONS:
        if option.env_only or option.type == "dict":
            assert option.name not in flags, option.name  # secrets only from the environment; mappings only in the file
            continue
        action = flags[option.name]
        assert action.help.startswith(option.help), option.name
        assert (sorted(action.choices) if action.choices else None) == (sorted(option.choices) if option.choices else None), option.name
    expected = set(CATALOGUE) - set(config.RENAMED) | {option.name for option in config.OWN}
    assert set(config.BY_NAME) == expected
    for name, option in config.BY_NAME.items():
        if name in CATALOGUE and name not in config.DAEMON_DEFAULTS:
            assert declared(option) == declared(CATALOGUE[name]), name
    assert set(config.SEED_FLAGS) <= set(config.BY_NAME)


def test_the_units_in_the_help_are_those_of_the_docs():
    """solidserver_rate_limit is calls per minute in the backend and its documentation; the daemon's help said second."""
    assert "per minute" in config.BY_NAME["solidserver_rate_limit"].help
    assert "per minute" in dns.ModuleDocFragment.SOLIDSERVER.split("solidserver_rate_limit:", 1)[1].split("type:", 1)[0]
    assert "basicauth" in config.BY_NAME["solidserver_auth_method"].choices


def test_the_eda_source_documents_its_arguments_as_checked():
    with open(os.path.join(ROOT, "extensions", "eda", "plugins", "event_source", "kea_events.py"), encoding="utf-8") as handle:
        source = handle.read()
    documentation = yaml.safe_load(re.search(r'DOCUMENTATION = r"""(.*?)"""', source, re.S).group(1))["options"]
    assert sorted(documentation) == sorted(events.OPTIONS)
    for name, option in events.OPTIONS.items():
        assert documented(documentation[name]) == declared(option), name
        for variable in option.env:
            assert variable in str(documentation[name]["description"]), (name, variable)


@pytest.mark.parametrize("role", sorted(os.listdir(os.path.join(ROOT, "roles"))))
def test_role_variables_of_catalogue_options_agree(role):
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    matched = 0
    known = ROLE_OPTIONS.get(role, CATALOGUE)
    for variable, spec in options.items():
        name = ROLE_ALIASES.get(variable, variable[len(role) + 1:])
        if name in known:
            matched += 1
            option = known[name]
            assert spec.get("type", "str") in (option.type, "raw"), variable
            if variable not in ROLE_DEFAULTS:
                # A role writes an unset string as "" (a template cannot tell it from None).
                unset = option.env_only or option.default_value is None
                assert spec.get("default") == option.default_value or (unset and spec.get("default") in (None, "")), variable
            assert (sorted(spec["choices"]) if spec.get("choices") else None) == (sorted(option.choices) if option.choices else None), variable
    defaults = options.get(f"{role}_config_defaults", {}).get("default") or {}
    for key, value in defaults.items():  # the daemon's config file keys the role writes
        if "{{" not in str(value):
            config.coerce(config.BY_NAME[key], value, "")
    assert matched or role == "dns_listener", role
