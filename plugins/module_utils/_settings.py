# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: options (any mapping) -> the core's settings and clients. No Ansible imports.

Modules pass ``module.params`` (whose environment fallbacks ``_argspec.py`` builds from ``ENV``); the listener
daemon passes its configuration merged with ``options_from_env()``. So both read the same option names, the
same environment variables and the same Vault secrets.
"""

from __future__ import annotations

import os
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._db import DbSettings
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import DnsBackend
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.owner_txt import OwnerTxtBackend
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._vault import DEFAULT_DB_PATH, DEFAULT_DNS_PATH, DEFAULT_MOUNT, VaultClient, VaultSettings

# The environment variable(s) each option falls back to, for modules (argspec fallbacks) and the daemon alike.
ENV = {
    "db_host": ("KEA_DB_HOST",),
    "db_port": ("KEA_DB_PORT",),
    "db_name": ("KEA_DB_NAME",),
    "db_user": ("KEA_DB_USER",),
    "db_password": ("KEA_DB_PASSWORD",),
    "db_sslmode": ("KEA_DB_SSLMODE",),
    "db_sslrootcert": ("KEA_DB_SSLROOTCERT",),
    "vault_addr": ("VAULT_ADDR",),
    "vault_auth_method": ("VAULT_AUTH_METHOD",),
    "vault_token": ("VAULT_TOKEN",),
    "vault_role_id": ("VAULT_ROLE_ID",),
    "vault_secret_id": ("VAULT_SECRET_ID",),
    "vault_namespace": ("VAULT_NAMESPACE",),
    "vault_ca_cert": ("VAULT_CACERT",),
    "powerdns_api_url": ("PDNS_API_URL",),
    "powerdns_api_key": ("PDNS_API_KEY",),
    "rfc2136_server": ("RFC2136_SERVER",),
    "rfc2136_port": ("RFC2136_PORT",),
    "rfc2136_key_name": ("RFC2136_KEY_NAME",),
    "rfc2136_key_secret": ("RFC2136_KEY_SECRET",),
    "rfc2136_key_algorithm": ("RFC2136_KEY_ALGORITHM",),
    "knot_socket": ("KNOT_SOCKET",),
    "technitium_api_url": ("TECHNITIUM_API_URL",),
    "technitium_token": ("TECHNITIUM_TOKEN",),
    "solidserver_host": ("SOLIDSERVER_HOST",),
    "solidserver_username": ("SOLIDSERVER_USERNAME",),
    "solidserver_password": ("SOLIDSERVER_PASSWORD",),
    "solidserver_scope": ("SOLIDSERVER_SCOPE",),
    "solidserver_dns_server": ("SOLIDSERVER_DNS_SERVER",),
    "solidserver_ca_cert": ("SOLIDSERVER_CA_CERT",),
}


def options_from_env(environ: t.Mapping[str, str] | None = None) -> dict[str, str]:
    """The options set through the environment (the first variable of each that is set)."""
    environ = os.environ if environ is None else environ
    found = {}
    for option, names in ENV.items():
        for name in names:
            if environ.get(name):
                found[option] = environ[name]
                break
    return found


PROVIDERS = ["powerdns", "rfc2136", "knot", "technitium", "solidserver"]

# With use_vault, the keys read from the secret at dns_vault_path for each provider, and the option each one
# overrides. Knot's control socket has no credentials.
DNS_VAULT_KEYS = {
    "powerdns": {"api_key": "powerdns_api_key"},
    "rfc2136": {"key_secret": "rfc2136_key_secret"},
    "technitium": {"token": "technitium_token"},
    "solidserver": {"username": "solidserver_username", "password": "solidserver_password"},
}
DNS_VAULT_OPTIONAL_KEYS = {"rfc2136": {"key_name": "rfc2136_key_name"}}  # used when the secret has them
DNS_SECRETS = ("powerdns_api_key", "rfc2136_key_secret", "technitium_token", "solidserver_password")


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


def db_settings(options: t.Mapping[str, t.Any], on_secret: t.Callable[[str], None] | None = None,
                vault: VaultClient | None = None) -> DbSettings:
    """Database settings from the kea_db (and vault) options.

    With ``use_vault`` the user name and password come from the KV v2 secret at
    ``db_vault_path`` (keys ``username`` and ``password``) and override
    ``db_user``/``db_password``. ``on_secret`` is called with every secret read
    so that the caller can mask it (``module.no_log_values``). A long-running caller passes its logged-in
    ``vault`` client; otherwise one is made from the vault options.
    """
    user = options.get("db_user") or "kea"
    password = options.get("db_password")
    if options.get("use_vault"):
        credentials = (vault or VaultClient(vault_settings(options))).read(options.get("db_vault_path") or DEFAULT_DB_PATH)
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


def _dns_credentials(options: t.Mapping[str, t.Any], on_secret: t.Callable[[str], None] | None,
                     vault: VaultClient | None) -> dict[str, t.Any]:
    """The options, with the provider's credentials from Vault when ``use_vault`` is set; secrets go to ``on_secret``."""
    options = dict(options)
    provider = options.get("provider")
    if options.get("use_vault"):
        if provider not in DNS_VAULT_KEYS:
            raise InvalidInputError("use_vault", True, f"the {provider} backend has no credentials to read from Vault")
        keys = {**DNS_VAULT_KEYS[provider], **DNS_VAULT_OPTIONAL_KEYS.get(provider, {})}
        client = vault or VaultClient(vault_settings(options))
        secret = client.read(options.get("dns_vault_path") or DEFAULT_DNS_PATH, list(DNS_VAULT_KEYS[provider]),
                             optional=list(DNS_VAULT_OPTIONAL_KEYS.get(provider, {})))
        options.update({keys[key]: value for key, value in secret.items()})
    for name in DNS_SECRETS:
        if options.get(name) and on_secret is not None:
            on_secret(options[name])
    return options


def _solidserver_dns_server(options: t.Mapping[str, t.Any]) -> str:
    from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.solidserver import DEFAULT_SCOPE_SERVERS

    if options.get("solidserver_dns_server"):
        return options["solidserver_dns_server"]
    scope = options.get("solidserver_scope") or "internal"
    servers = options.get("solidserver_scope_servers") or DEFAULT_SCOPE_SERVERS
    if scope not in servers:
        raise InvalidInputError("solidserver_scope", scope, f"not a key of solidserver_scope_servers ({', '.join(sorted(servers))})")
    return servers[scope]


def dns_backend(options: t.Mapping[str, t.Any], on_secret: t.Callable[[str], None] | None = None,
                vault: VaultClient | None = None) -> DnsBackend:
    """The backend named by ``provider``, configured from its option group (and Vault with ``use_vault``), with TXT
    ownership markers when ``dns_owner_txt`` is set and the backend keeps no owner metadata of its own, or when the
    PowerDNS backend is told to use them (``powerdns_ownership: txt``)."""
    backend = _provider_backend(_dns_credentials(options, on_secret, vault))
    if (options.get("dns_owner_txt") and not backend.traits.ownership) or options.get("powerdns_ownership") == "txt":
        return OwnerTxtBackend(backend)
    return backend


def _provider_backend(options: t.Mapping[str, t.Any]) -> DnsBackend:
    """The chosen backend; each backend's file (and client library) is imported only when it is chosen, which keeps
    the listener daemon small (SOLIDserverRest alone costs about 30 MB)."""
    provider = options.get("provider")
    timeout = float(options.get("dns_timeout") or 10.0)
    if provider == "powerdns":
        from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.powerdns import PowerDnsBackend, PowerDnsSettings

        return PowerDnsBackend(PowerDnsSettings(
            api_url=options.get("powerdns_api_url") or "http://127.0.0.1:8081", api_key=options.get("powerdns_api_key"),
            server_id=options.get("powerdns_server_id") or "localhost", timeout=timeout,
            validate_certs=options.get("powerdns_validate_certs", True),
            comments=(options.get("powerdns_ownership") or "comment") == "comment"))
    if provider == "rfc2136":
        from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.rfc2136 import Rfc2136Backend, Rfc2136Settings

        return Rfc2136Backend(Rfc2136Settings(
            server=options.get("rfc2136_server") or "127.0.0.1", port=int(options.get("rfc2136_port") or 53),
            key_name=options.get("rfc2136_key_name"), key_secret=options.get("rfc2136_key_secret"),
            key_algorithm=options.get("rfc2136_key_algorithm") or "hmac-sha256", timeout=timeout))
    if provider == "knot":
        from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.knot import KnotBackend, KnotSettings

        return KnotBackend(KnotSettings(socket=options.get("knot_socket") or "/run/knot/knot.sock", timeout=timeout))
    if provider == "technitium":
        from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.technitium import TechnitiumBackend, TechnitiumSettings

        return TechnitiumBackend(TechnitiumSettings(
            api_url=options.get("technitium_api_url") or "http://127.0.0.1:5380", token=options.get("technitium_token"),
            timeout=timeout, validate_certs=options.get("technitium_validate_certs", True)))
    if provider == "solidserver":
        from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.solidserver import SolidServerBackend, SolidServerSettings

        return SolidServerBackend(SolidServerSettings(
            host=options.get("solidserver_host"), username=options.get("solidserver_username"),
            password=options.get("solidserver_password"), auth_method=options.get("solidserver_auth_method") or "native",
            dns_server=_solidserver_dns_server(options), validate_certs=options.get("solidserver_validate_certs", True),
            ca_cert=options.get("solidserver_ca_cert"), timeout=timeout,
            max_parallel=int(options.get("solidserver_max_parallel") or 8), rate_limit=int(options.get("solidserver_rate_limit") or 0)))
    raise InvalidInputError("provider", provider, f"expected one of {', '.join(PROVIDERS)}")
