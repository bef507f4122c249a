# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the modules' argument specs of the option groups, made from the option catalogue
(``_options.py``; the DNS backends' options from ``_dns/registry.py``), with Ansible's environment fallbacks.

Each group is one builder here and one doc fragment of the same name (``kea_db`` <-> ``plugins/doc_fragments/kea_db.py``,
``vault`` <-> ``vault.py``, ``naming`` <-> ``naming.py``, ``dns`` <-> ``dns.py``, ``archive`` <-> ``archive.py``,
``route_source`` <-> ``route_source.py``);
``tests/unit/plugins/module_utils/test_options_catalogue.py`` checks that the fragments document what the catalogue
declares. The DNS options are imported only by the modules that take them: ``kea_reservation`` and ``lease_backup``
import no DNS code.
"""

from __future__ import annotations

import typing as t

from ansible.module_utils.common.parameters import env_fallback

from ansible_collections.ddi.kea_dns.plugins.module_utils._options import ARCHIVE, KEA_DB, KEA_SOURCE, NAMING, OUTBOX, ROUTE_SOURCE, VAULT, Option


def argspec(options: t.Iterable[Option], *names: str) -> dict[str, dict[str, t.Any]]:
    """The argument specs of ``options`` (of ``names`` among them, when given)."""
    specs = {}
    for option in options:
        if names and option.name not in names:
            continue
        spec = option.argspec()
        if option.env:
            spec["fallback"] = (env_fallback, list(option.env))
        specs[option.name] = spec
    return specs


def kea_db_argspec() -> dict:
    return argspec(KEA_DB)


def vault_argspec() -> dict:
    return argspec(VAULT)


def archive_argspec() -> dict:
    return argspec(ARCHIVE)


def naming_argspec() -> dict:
    return argspec(NAMING)


def outbox_argspec(*names: str) -> dict:
    return argspec(OUTBOX, *names)


def kea_source_argspec(*names: str) -> dict:
    return argspec(KEA_SOURCE, *names)


def route_source_argspec() -> dict:
    return argspec(ROUTE_SOURCE)


def dns_provider_argspec(provider: str) -> dict:
    """One backend's options alone (knot_zone takes Knot's)."""
    from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.registry import BACKENDS  # pylint: disable=import-outside-toplevel

    return argspec(BACKENDS[provider].options)


def dns_argspec() -> dict:
    """Options of the DNS backends (doc fragment ``dns`` and its per-backend variants): provider, timeout, the Vault
    path, and every backend's connection group. The modules add ``vault_argspec()`` for the Vault connection itself."""
    from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.registry import dns_options  # pylint: disable=import-outside-toplevel

    specs = argspec(dns_options())
    specs["provider"]["required"] = True
    return specs
