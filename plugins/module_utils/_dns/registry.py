# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the DNS backends by provider name: options (any mapping, credentials from Vault with
``use_vault``) -> the backend. No Ansible imports.

Each backend's file declares its options, the Vault keys of its credentials and its factory (``PROVIDER``); adding a
backend is that file and one line in ``BACKENDS``. The files import their client libraries only when a backend is
made, so that reading every backend's options costs nothing (SOLIDserverRest alone is about 30 MB).
"""

from __future__ import annotations

import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns import hosts_file, knot, powerdns, rfc2136, solidserver, technitium
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import DnsBackend, Provider
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.owner_txt import OwnerTxtBackend
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import DEFAULT_DNS_VAULT_PATH, Option, with_defaults
from ansible_collections.ddi.kea_dns.plugins.module_utils._vault import VaultClient, vault_settings

BACKENDS: dict[str, Provider] = {module.PROVIDER.name: module.PROVIDER for module in (powerdns, rfc2136, knot, technitium, solidserver, hosts_file)}
PROVIDERS = list(BACKENDS)

# The options every backend shares (doc fragment ``dns``).
DNS_OPTIONS = (
    Option("provider", help="DNS backend", choices=tuple(PROVIDERS)),
    Option("dns_timeout", "float", 10.0, "seconds to wait for the DNS backend"),
    Option("dns_vault_path", default=DEFAULT_DNS_VAULT_PATH, help="Vault path of the DNS credentials"),
    Option("dns_owner_txt", "bool", help="TXT ownership markers for backends that keep no owner metadata (default: on where "
                                         "records are managed by owner id)"),
)


def dns_options() -> tuple[Option, ...]:
    """The shared options and every backend's, in the order of ``BACKENDS``."""
    return DNS_OPTIONS + tuple(option for provider in BACKENDS.values() for option in provider.options)


def _provider(options: t.Mapping[str, t.Any]) -> Provider:
    name = options.get("provider")
    if name not in BACKENDS:
        raise InvalidInputError("provider", name, f"expected one of {', '.join(PROVIDERS)}")
    return BACKENDS[name]


def _with_credentials(options: t.Mapping[str, t.Any], provider: Provider, on_secret: t.Callable[[str], None] | None,
                      vault: VaultClient | None) -> dict[str, t.Any]:
    """The options, with the provider's credentials from Vault when ``use_vault`` is set; secrets go to ``on_secret``."""
    options = dict(options)
    if options.get("use_vault"):
        if not provider.vault_keys:
            raise InvalidInputError("use_vault", True, f"the {provider.name} backend has no credentials to read from Vault")
        keys = {**provider.vault_keys, **provider.optional_vault_keys}
        client = vault or VaultClient(vault_settings(options))
        secret = client.read(options.get("dns_vault_path") or DEFAULT_DNS_VAULT_PATH, list(provider.vault_keys),
                             optional=list(provider.optional_vault_keys))
        options.update({keys[key]: value for key, value in secret.items()})
    for option in provider.options:
        if option.secret and options.get(option.name) and on_secret is not None:
            on_secret(options[option.name])
    return options


def dns_backend(options: t.Mapping[str, t.Any], on_secret: t.Callable[[str], None] | None = None,
                vault: VaultClient | None = None, owned: bool = False) -> DnsBackend:
    """The backend named by ``provider``, made from its options (the catalogue's defaults where none is set) and
    Vault with ``use_vault``, with TXT ownership markers where it keeps no owner metadata of its own and
    ``dns_owner_txt`` is set (left unset: when the caller manages records by owner id, ``owned``)."""
    provider = _provider(options)
    given = with_defaults(_with_credentials(options, provider, on_secret, vault), DNS_OPTIONS + provider.options)
    backend = provider.make(given)
    owner_txt = owned if given["dns_owner_txt"] is None else given["dns_owner_txt"]
    if owner_txt and not backend.traits.ownership:
        return OwnerTxtBackend(backend)
    return backend
