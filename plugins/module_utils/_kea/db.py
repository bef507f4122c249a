# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: PostgreSQL connections to Kea's database (psycopg2).

One transaction per task: ``transaction()`` commits when the block ends and
rolls everything back when it raises. psycopg2 errors become the collection's
errors with a one-line cause; the password never appears in them.
"""

from __future__ import annotations

import contextlib
import typing as t
from dataclasses import dataclass, field

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import AuthenticationError, KeaDnsError, MissingLibraryError, NotFoundError, TransportError
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import KEA_DB, with_defaults
from ansible_collections.ddi.kea_dns.plugins.module_utils._vault import VaultClient, vault_settings

try:
    import psycopg2
    import psycopg2.errors
    import psycopg2.extras
except ImportError:  # pragma: no cover - reported by require_psycopg2()
    psycopg2 = None


def require_psycopg2() -> None:
    if psycopg2 is None:
        raise MissingLibraryError("psycopg2", "psycopg2-binary")


@dataclass(frozen=True)
class DbSettings:
    """How to reach Kea's PostgreSQL database."""

    host: str
    port: int
    dbname: str
    user: str
    password: str | None = field(repr=False)
    sslmode: str
    sslrootcert: str | None
    connect_timeout: int
    application_name: str = "ddi.kea_dns"

    def where(self) -> str:
        return f"PostgreSQL {self.host}:{self.port} database {self.dbname!r} as {self.user!r}"


def one_line(exc: Exception) -> str:
    """The first line of an error, without PostgreSQL's severity prefix (for messages and logs)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = lines[0] if lines else exc.__class__.__name__
    for prefix in ("FATAL:", "ERROR:"):
        if text.startswith(prefix):
            text = text[len(prefix):].strip()
    if " failed: " in text and text.startswith("connection to server"):
        text = text.split(" failed: ", 1)[1]
    return text


def connect(settings: DbSettings, readonly: bool = False) -> t.Any:
    """Open a connection (autocommit off). Raises AuthenticationError, NotFoundError or TransportError."""
    require_psycopg2()
    kwargs = {
        "host": settings.host,
        "port": settings.port,
        "dbname": settings.dbname,
        "user": settings.user,
        "sslmode": settings.sslmode,
        "connect_timeout": settings.connect_timeout,
        "application_name": settings.application_name,
        "keepalives": 1,  # TCP keepalives: a dead server or network is noticed in about a minute
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    if settings.password:
        kwargs["password"] = settings.password
    if settings.sslrootcert:
        kwargs["sslrootcert"] = settings.sslrootcert
    try:
        conn = psycopg2.connect(**kwargs)
    except psycopg2.OperationalError as exc:
        cause = one_line(exc)
        if "password authentication failed" in cause or "no password supplied" in cause or "authentication failed" in cause:
            raise AuthenticationError(f"{settings.where()}: {cause}") from None
        if "does not exist" in cause:
            raise NotFoundError(f"{settings.where()}: {cause}") from None
        raise TransportError(f"cannot connect to {settings.where()}: {cause}") from None
    if readonly:
        conn.set_session(readonly=True)
    return conn


def translate(exc: Exception, settings: DbSettings) -> KeaDnsError:
    """A psycopg2 error raised while working -> the collection's error."""
    if psycopg2 is not None and isinstance(exc, psycopg2.OperationalError):
        return TransportError(f"{settings.where()}: {one_line(exc)}")
    return KeaDnsError(f"{settings.where()}: {one_line(exc)}")


@contextlib.contextmanager
def transaction(settings: DbSettings, readonly: bool = False) -> t.Iterator[t.Any]:
    """Yield a cursor in one transaction: commit on success, roll back on any error."""
    conn = connect(settings, readonly=readonly)
    try:
        with conn.cursor() as cursor:
            yield cursor
        conn.commit()
    except KeaDnsError:
        conn.rollback()
        raise
    except psycopg2.Error as exc:
        conn.rollback()
        raise translate(exc, settings) from None
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def db_settings(options: t.Mapping[str, t.Any], on_secret: t.Callable[[str], None] | None = None,
                vault: VaultClient | None = None) -> DbSettings:
    """Database settings from the kea_db (and vault) options.

    With ``use_vault`` the user name and password come from the KV v2 secret at
    ``db_vault_path`` (keys ``username`` and ``password``) and override
    ``db_user``/``db_password``. ``on_secret`` is called with every secret read
    so that the caller can mask it (``module.no_log_values``). A long-running caller passes its logged-in
    ``vault`` client; otherwise one is made from the vault options.
    """
    given = with_defaults(options, KEA_DB)
    user, password = given["db_user"], given["db_password"]
    if options.get("use_vault"):
        credentials = (vault or VaultClient(vault_settings(options))).read(given["db_vault_path"])
        user, password = credentials["username"], credentials["password"]
    if password and on_secret is not None:
        on_secret(password)
    return DbSettings(
        host=given["db_host"],
        port=int(given["db_port"]),
        dbname=given["db_name"],
        user=user,
        password=password,
        sslmode=given["db_sslmode"],
        sslrootcert=given["db_sslrootcert"],
        connect_timeout=int(given["db_connect_timeout"]),
    )
