# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: credentials from HashiCorp Vault / OpenBao (hvac, KV v2).

Token auth (``VAULT_TOKEN``) or AppRole. Errors say which address, mount,
path or key failed and why, and never contain the token or a secret value.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import (
    AuthenticationError,
    InvalidInputError,
    MissingLibraryError,
    NotFoundError,
    TransportError,
)
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import VAULT, with_defaults


def _hvac() -> t.Any:
    """hvac, imported when a Vault client is made (so that consumers without Vault do not carry it in memory)."""
    try:
        import hvac
        import hvac.exceptions
    except ImportError:
        raise MissingLibraryError("hvac", "hvac") from None
    return hvac


@dataclass(frozen=True)
class VaultSettings:
    addr: str | None
    auth_method: str
    token: str | None = field(repr=False)
    role_id: str | None
    secret_id: str | None = field(repr=False)
    approle_mount: str
    mount: str
    namespace: str | None
    ca_cert: str | None
    validate_certs: bool
    timeout: int


class VaultClient:
    """A logged-in client; ``read()`` returns the requested keys of a KV v2 secret."""

    def __init__(self, settings: VaultSettings) -> None:
        hvac = _hvac()
        if not settings.addr:
            raise InvalidInputError("vault_addr", settings.addr, "the Vault address is required (option vault_addr or VAULT_ADDR)")
        self.settings = settings
        verify: bool | str = settings.ca_cert if settings.ca_cert else settings.validate_certs
        self._client = hvac.Client(url=settings.addr, namespace=settings.namespace, verify=verify, timeout=settings.timeout)
        self._login()

    def _call(self, what: str, function: t.Callable, *args: t.Any, **kwargs: t.Any) -> t.Any:
        import requests.exceptions

        hvac = _hvac()
        where = f"Vault at {self.settings.addr}"
        try:
            return function(*args, **kwargs)
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
            raise AuthenticationError(f"{where} denied {what} (permission denied): check the token or AppRole and its policy") from None
        except hvac.exceptions.InvalidPath:
            raise NotFoundError(f"{where}: {what}: no such secret") from None
        except hvac.exceptions.InvalidRequest as exc:
            raise AuthenticationError(f"{where} rejected {what}: {_first(exc)}") from None
        except hvac.exceptions.VaultError as exc:
            raise TransportError(f"{where} failed {what}: {_first(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise TransportError(f"{where} is unreachable ({what}): {exc.__class__.__name__}") from None

    def _login(self) -> None:
        settings = self.settings
        if settings.auth_method == "approle":
            if not settings.role_id or not settings.secret_id:
                raise InvalidInputError("vault_role_id", settings.role_id, "AppRole login needs vault_role_id and vault_secret_id")
            self._call("the AppRole login", self._client.auth.approle.login,
                       role_id=settings.role_id, secret_id=settings.secret_id, mount_point=settings.approle_mount)
        elif settings.auth_method == "token":
            if not settings.token:
                raise InvalidInputError("vault_token", None, "token auth needs a token (option vault_token or VAULT_TOKEN)")
            self._client.token = settings.token
        else:
            raise InvalidInputError("vault_auth_method", settings.auth_method, "expected token or approle")

    def read(self, path: str, keys: t.Sequence[str] = ("username", "password"), optional: t.Sequence[str] = ()) -> dict[str, str]:
        """``keys`` (each required) and those of ``optional`` the secret holds."""
        what = f"reading mount {self.settings.mount!r} path {path!r}"
        response = self._call(what, self._client.secrets.kv.v2.read_secret_version,
                              path=path, mount_point=self.settings.mount, raise_on_deleted_version=True)
        data = (response or {}).get("data", {}).get("data") or {}
        missing = [key for key in keys if key not in data]
        if missing:
            raise NotFoundError(f"Vault secret {self.settings.mount}/{path} has no key {', '.join(repr(k) for k in missing)}")
        return {key: str(data[key]) for key in [*keys, *optional] if key in data}

    def renew(self) -> None:
        """Renew the current token (for long-running consumers)."""
        self._call("renewing the token", self._client.auth.token.renew_self)


def _first(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def vault_settings(options: t.Mapping[str, t.Any]) -> VaultSettings:
    """The Vault options (the catalogue's defaults where none is set) as settings."""
    given = with_defaults(options, VAULT)
    return VaultSettings(
        addr=given["vault_addr"],
        auth_method=given["vault_auth_method"],
        token=given["vault_token"],
        role_id=given["vault_role_id"],
        secret_id=given["vault_secret_id"],
        approle_mount=given["vault_approle_mount"],
        mount=given["vault_mount"],
        namespace=given["vault_namespace"],
        ca_cert=given["vault_ca_cert"],
        validate_certs=given["vault_validate_certs"],
        timeout=int(given["vault_timeout"]),
    )
