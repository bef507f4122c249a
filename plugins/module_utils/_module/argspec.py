# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: option groups shared by modules and plugins.

Each group is one argspec builder here and one doc fragment of the same name
(``kea_db`` <-> ``plugins/doc_fragments/kea_db.py``, ``vault`` <->
``plugins/doc_fragments/vault.py``, ``naming`` <-> ``naming.py``, ``dns`` <-> ``dns.py``, ``archive`` <-> ``archive.py``).
The options become the core's settings in ``_kea/db.py``, ``_vault.py`` and ``_dns/registry.py`` (Ansible-free, shared with the daemon),
and ``_options.py`` holds the environment variables of each option.
"""

from __future__ import annotations

from ansible.module_utils.common.parameters import env_fallback

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.registry import PROVIDERS
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import ENV, SSL_MODES, TSIG_ALGORITHMS
from ansible_collections.ddi.kea_dns.plugins.module_utils._vault import DEFAULT_DB_PATH, DEFAULT_DNS_PATH, DEFAULT_MOUNT


def _env(option: str) -> tuple:
    return (env_fallback, list(ENV[option]))


def kea_db_argspec() -> dict:
    return {
        "db_host": {"type": "str", "default": "localhost", "fallback": _env("db_host")},
        "db_port": {"type": "int", "default": 5432, "fallback": _env("db_port")},
        "db_name": {"type": "str", "default": "kea", "fallback": _env("db_name")},
        "db_user": {"type": "str", "default": "kea", "fallback": _env("db_user")},
        "db_password": {"type": "str", "no_log": True, "fallback": _env("db_password")},
        "db_sslmode": {"type": "str", "default": "prefer", "choices": list(SSL_MODES), "fallback": _env("db_sslmode")},
        "db_sslrootcert": {"type": "path", "fallback": _env("db_sslrootcert")},
        "db_connect_timeout": {"type": "int", "default": 10},
        "db_vault_path": {"type": "str", "default": DEFAULT_DB_PATH},
    }


def vault_argspec() -> dict:
    return {
        "use_vault": {"type": "bool", "default": False},
        "vault_addr": {"type": "str", "fallback": _env("vault_addr")},
        "vault_auth_method": {"type": "str", "default": "token", "choices": ["token", "approle"], "fallback": _env("vault_auth_method")},
        "vault_token": {"type": "str", "no_log": True, "fallback": _env("vault_token")},
        "vault_role_id": {"type": "str", "fallback": _env("vault_role_id")},
        "vault_secret_id": {"type": "str", "no_log": True, "fallback": _env("vault_secret_id")},
        "vault_approle_mount": {"type": "str", "default": "approle"},
        "vault_mount": {"type": "str", "default": DEFAULT_MOUNT},
        "vault_namespace": {"type": "str", "fallback": _env("vault_namespace")},
        "vault_ca_cert": {"type": "path", "fallback": _env("vault_ca_cert")},
        "vault_validate_certs": {"type": "bool", "default": True},
        "vault_timeout": {"type": "int", "default": 30},
    }


def archive_argspec() -> dict:
    return {
        "backup_dir": {"type": "path"},
        "name": {"type": "str"},
        "keep": {"type": "int", "default": 0},
        "archive": {"type": "path"},
        "archive_format": {"type": "str", "default": "manifest", "choices": ["manifest", "plain"]},
    }


def naming_argspec() -> dict:
    return {"naming_pattern": {"type": "str"}}


def dns_argspec() -> dict:
    """Options of the DNS backends (doc fragment ``dns`` and its per-backend variants): provider, timeout, the Vault
    path, and every backend's connection group, so that a new backend is added here once for all DNS modules.
    The modules add ``vault_argspec()`` for the Vault connection itself."""
    return {
        "provider": {"type": "str", "required": True, "choices": PROVIDERS},
        "dns_timeout": {"type": "float", "default": 10.0},
        "dns_vault_path": {"type": "str", "default": DEFAULT_DNS_PATH},
        "dns_owner_txt": {"type": "bool", "default": False},
        **dns_powerdns_argspec(),
        **dns_rfc2136_argspec(),
        **dns_knot_argspec(),
        **dns_technitium_argspec(),
        **dns_solidserver_argspec(),
    }


def dns_powerdns_argspec() -> dict:
    return {
        "powerdns_api_url": {"type": "str", "default": "http://127.0.0.1:8081", "fallback": _env("powerdns_api_url")},
        "powerdns_api_key": {"type": "str", "no_log": True, "fallback": _env("powerdns_api_key")},
        "powerdns_server_id": {"type": "str", "default": "localhost"},
        "powerdns_validate_certs": {"type": "bool", "default": True},
        "powerdns_ownership": {"type": "str", "default": "comment", "choices": ["comment", "txt"]},
    }


def dns_rfc2136_argspec() -> dict:
    return {
        "rfc2136_server": {"type": "str", "default": "127.0.0.1", "fallback": _env("rfc2136_server")},
        "rfc2136_port": {"type": "int", "default": 53, "fallback": _env("rfc2136_port")},
        "rfc2136_key_name": {"type": "str", "fallback": _env("rfc2136_key_name")},
        "rfc2136_key_secret": {"type": "str", "no_log": True, "fallback": _env("rfc2136_key_secret")},
        "rfc2136_key_algorithm": {"type": "str", "default": "hmac-sha256", "choices": list(TSIG_ALGORITHMS),
                                  "fallback": _env("rfc2136_key_algorithm")},
    }


def dns_knot_argspec() -> dict:
    return {"knot_socket": {"type": "path", "default": "/run/knot/knot.sock", "fallback": _env("knot_socket")}}


def dns_technitium_argspec() -> dict:
    return {
        "technitium_api_url": {"type": "str", "default": "http://127.0.0.1:5380", "fallback": _env("technitium_api_url")},
        "technitium_token": {"type": "str", "no_log": True, "fallback": _env("technitium_token")},
        "technitium_validate_certs": {"type": "bool", "default": True},
    }


def dns_solidserver_argspec() -> dict:
    # Imported here: the modules that take no DNS options (kea_reservation, lease_backup, ...) import no DNS library.
    from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.solidserver import DEFAULT_SCOPE_SERVERS  # pylint: disable=import-outside-toplevel

    return {
        "solidserver_host": {"type": "str", "fallback": _env("solidserver_host")},
        "solidserver_username": {"type": "str", "fallback": _env("solidserver_username")},
        "solidserver_password": {"type": "str", "no_log": True, "fallback": _env("solidserver_password")},
        "solidserver_auth_method": {"type": "str", "default": "native", "choices": ["native", "basicauth"]},
        "solidserver_scope": {"type": "str", "default": "internal", "choices": ["internal", "external"], "fallback": _env("solidserver_scope")},
        "solidserver_scope_servers": {"type": "dict", "default": dict(DEFAULT_SCOPE_SERVERS)},
        "solidserver_dns_server": {"type": "str", "fallback": _env("solidserver_dns_server")},
        "solidserver_validate_certs": {"type": "bool", "default": True},
        "solidserver_ca_cert": {"type": "path", "fallback": _env("solidserver_ca_cert")},
        "solidserver_max_parallel": {"type": "int", "default": 8},
        "solidserver_rate_limit": {"type": "int", "default": 0},
    }
