# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: option groups shared by modules and plugins.

Each group is one argspec builder here and one doc fragment of the same name
(``kea_db`` <-> ``plugins/doc_fragments/kea_db.py``, ``vault`` <->
``plugins/doc_fragments/vault.py``, ``naming`` <-> ``naming.py``), plus a
function that turns the options (any mapping) into the core's settings.
"""

from __future__ import annotations

import typing as t

from ansible.module_utils.common.parameters import env_fallback

from ansible_collections.ddi.kea_dns.plugins.module_utils._db import DbSettings
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import DnsBackend
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.knot import KnotBackend, KnotSettings
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.powerdns import PowerDnsBackend, PowerDnsSettings
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.rfc2136 import ALGORITHMS, Rfc2136Backend, Rfc2136Settings
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.technitium import TechnitiumBackend, TechnitiumSettings
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._vault import DEFAULT_DB_PATH, DEFAULT_MOUNT, VaultClient, VaultSettings

SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


def _env(*names: str) -> tuple:
    return (env_fallback, list(names))


def kea_db_argspec() -> dict:
    return {
        "db_host": {"type": "str", "default": "localhost", "fallback": _env("KEA_DB_HOST")},
        "db_port": {"type": "int", "default": 5432, "fallback": _env("KEA_DB_PORT")},
        "db_name": {"type": "str", "default": "kea", "fallback": _env("KEA_DB_NAME")},
        "db_user": {"type": "str", "default": "kea", "fallback": _env("KEA_DB_USER")},
        "db_password": {"type": "str", "no_log": True, "fallback": _env("KEA_DB_PASSWORD")},
        "db_sslmode": {"type": "str", "default": "prefer", "choices": SSL_MODES, "fallback": _env("KEA_DB_SSLMODE")},
        "db_sslrootcert": {"type": "path", "fallback": _env("KEA_DB_SSLROOTCERT")},
        "db_connect_timeout": {"type": "int", "default": 10},
        "db_vault_path": {"type": "str", "default": DEFAULT_DB_PATH},
    }


def vault_argspec() -> dict:
    return {
        "use_vault": {"type": "bool", "default": False},
        "vault_addr": {"type": "str", "fallback": _env("VAULT_ADDR")},
        "vault_auth_method": {"type": "str", "default": "token", "choices": ["token", "approle"], "fallback": _env("VAULT_AUTH_METHOD")},
        "vault_token": {"type": "str", "no_log": True, "fallback": _env("VAULT_TOKEN")},
        "vault_role_id": {"type": "str", "fallback": _env("VAULT_ROLE_ID")},
        "vault_secret_id": {"type": "str", "no_log": True, "fallback": _env("VAULT_SECRET_ID")},
        "vault_approle_mount": {"type": "str", "default": "approle"},
        "vault_mount": {"type": "str", "default": DEFAULT_MOUNT},
        "vault_namespace": {"type": "str", "fallback": _env("VAULT_NAMESPACE")},
        "vault_ca_cert": {"type": "path", "fallback": _env("VAULT_CACERT")},
        "vault_validate_certs": {"type": "bool", "default": True},
        "vault_timeout": {"type": "int", "default": 30},
    }


def naming_argspec() -> dict:
    return {"naming_pattern": {"type": "str"}}


def vault_settings(options: t.Mapping[str, t.Any]) -> VaultSettings:
    return VaultSettings(
        addr=options.get("vault_addr"),
        auth_method=options.get("vault_auth_method") or "token",
        token=options.get("vault_token"),
        role_id=options.get("vault_role_id"),
        secret_id=options.get("vault_secret_id"),
        approle_mount=options.get("vault_approle_mount") or "approle",
        mount=options.get("vault_mount") or DEFAULT_MOUNT,
        namespace=options.get("vault_namespace"),
        ca_cert=options.get("vault_ca_cert"),
        validate_certs=options.get("vault_validate_certs", True),
        timeout=options.get("vault_timeout") or 30,
    )


def db_settings(options: t.Mapping[str, t.Any], on_secret: t.Callable[[str], None] | None = None) -> DbSettings:
    """Database settings from the kea_db (and vault) options.

    With ``use_vault`` the user name and password come from the KV v2 secret at
    ``db_vault_path`` (keys ``username`` and ``password``) and override
    ``db_user``/``db_password``. ``on_secret`` is called with every secret read
    so that the caller can mask it (``module.no_log_values``).
    """
    user = options.get("db_user") or "kea"
    password = options.get("db_password")
    if options.get("use_vault"):
        credentials = VaultClient(vault_settings(options)).read(options.get("db_vault_path") or DEFAULT_DB_PATH)
        user, password = credentials["username"], credentials["password"]
    if password and on_secret is not None:
        on_secret(password)
    return DbSettings(
        host=options.get("db_host") or "localhost",
        port=int(options.get("db_port") or 5432),
        dbname=options.get("db_name") or "kea",
        user=user,
        password=password,
        sslmode=options.get("db_sslmode") or "prefer",
        sslrootcert=options.get("db_sslrootcert"),
        connect_timeout=int(options.get("db_connect_timeout") or 10),
    )


def dns_argspec() -> dict:
    """Options of the DNS backends (doc fragment ``dns`` and its per-backend variants): provider, timeout, and
    every backend's connection group, so that a new backend is added here once for all DNS modules."""
    return {
        "provider": {"type": "str", "required": True, "choices": ["powerdns", "rfc2136", "knot", "technitium"]},
        "dns_timeout": {"type": "float", "default": 10.0},
        **dns_powerdns_argspec(),
        **dns_rfc2136_argspec(),
        **dns_knot_argspec(),
        **dns_technitium_argspec(),
    }


def dns_powerdns_argspec() -> dict:
    return {
        "powerdns_api_url": {"type": "str", "default": "http://127.0.0.1:8081", "fallback": _env("PDNS_API_URL")},
        "powerdns_api_key": {"type": "str", "no_log": True, "fallback": _env("PDNS_API_KEY")},
        "powerdns_server_id": {"type": "str", "default": "localhost"},
        "powerdns_validate_certs": {"type": "bool", "default": True},
    }


def dns_rfc2136_argspec() -> dict:
    return {
        "rfc2136_server": {"type": "str", "default": "127.0.0.1", "fallback": _env("RFC2136_SERVER")},
        "rfc2136_port": {"type": "int", "default": 53, "fallback": _env("RFC2136_PORT")},
        "rfc2136_key_name": {"type": "str", "fallback": _env("RFC2136_KEY_NAME")},
        "rfc2136_key_secret": {"type": "str", "no_log": True, "fallback": _env("RFC2136_KEY_SECRET")},
        "rfc2136_key_algorithm": {"type": "str", "default": "hmac-sha256", "choices": list(ALGORITHMS),
                                  "fallback": _env("RFC2136_KEY_ALGORITHM")},
    }


def dns_knot_argspec() -> dict:
    return {"knot_socket": {"type": "path", "default": "/run/knot/knot.sock", "fallback": _env("KNOT_SOCKET")}}


def dns_technitium_argspec() -> dict:
    return {
        "technitium_api_url": {"type": "str", "default": "http://127.0.0.1:5380", "fallback": _env("TECHNITIUM_API_URL")},
        "technitium_token": {"type": "str", "no_log": True, "fallback": _env("TECHNITIUM_TOKEN")},
        "technitium_validate_certs": {"type": "bool", "default": True},
    }


def dns_backend(options: t.Mapping[str, t.Any]) -> DnsBackend:
    """The backend named by ``provider``, configured from its option group."""
    provider = options.get("provider")
    timeout = float(options.get("dns_timeout") or 10.0)
    if provider == "powerdns":
        return PowerDnsBackend(PowerDnsSettings(
            api_url=options.get("powerdns_api_url") or "http://127.0.0.1:8081", api_key=options.get("powerdns_api_key"),
            server_id=options.get("powerdns_server_id") or "localhost", timeout=timeout,
            validate_certs=options.get("powerdns_validate_certs", True)))
    if provider == "rfc2136":
        return Rfc2136Backend(Rfc2136Settings(
            server=options.get("rfc2136_server") or "127.0.0.1", port=int(options.get("rfc2136_port") or 53),
            key_name=options.get("rfc2136_key_name"), key_secret=options.get("rfc2136_key_secret"),
            key_algorithm=options.get("rfc2136_key_algorithm") or "hmac-sha256", timeout=timeout))
    if provider == "knot":
        return KnotBackend(KnotSettings(socket=options.get("knot_socket") or "/run/knot/knot.sock", timeout=timeout))
    if provider == "technitium":
        return TechnitiumBackend(TechnitiumSettings(
            api_url=options.get("technitium_api_url") or "http://127.0.0.1:5380", token=options.get("technitium_token"),
            timeout=timeout, validate_certs=options.get("technitium_validate_certs", True)))
    raise InvalidInputError("provider", provider, "expected powerdns, rfc2136, knot or technitium")
