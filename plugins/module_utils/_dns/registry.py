# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the DNS backends by provider name: options (any mapping, credentials from Vault with
``use_vault``) -> the backend. No Ansible imports. Each backend's file (and client library) is imported only when it
is chosen.
"""

from __future__ import annotations

import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import DnsBackend
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.owner_txt import OwnerTxtBackend
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._vault import DEFAULT_DNS_PATH, VaultClient, vault_settings

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
