# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the option catalogue, the one declaration of every shared option. No Ansible imports.

Each option is declared once, with its type, default, choices, environment variables and whether it is a secret;
the groups below hold the options of the database, Vault, the outbox consumers and the Kea source, and each DNS
backend declares its own in its file (``_dns/<backend>.py``, gathered by ``_dns/registry.py``). From the catalogue
come the modules' argument specs (``_module/argspec.py``), the listener daemon's flags and config keys
(``_daemon/config.py``), the EDA source's argument checks (``_outbox/events.py``), the environment variables every
door reads (``options_from_env``) and the defaults of the core's settings (``with_defaults``). The doc fragments,
the daemon's help, the EDA source's documentation and the role argument specs are checked against it by
``tests/unit/plugins/module_utils/test_options_catalogue.py``.
"""

from __future__ import annotations

import os
import typing as t
from dataclasses import dataclass

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")  # libpq sslmode
TYPES = {"str": str, "path": str, "int": int, "float": float, "bool": bool, "list": list, "dict": dict}


@dataclass(frozen=True)
class Option:
    name: str
    type: str = "str"  # as in Ansible argument specs: str, path, int, float, bool, list (of str), dict
    default: t.Any = None  # None: no default (a dict default is given as a tuple of pairs, to stay hashable)
    help: str = ""  # one line: the daemon's --help
    choices: tuple[str, ...] | None = None
    env: tuple[str, ...] = ()  # environment variables it falls back to, the first one set wins
    secret: bool = False  # never logged (no_log), never on a command line or in the daemon's config file
    credential: bool = False  # the login name paired with a secret: shown, but like a secret never on a command line

    @property
    def env_only(self) -> bool:
        """Given to the long-running doors (daemon, EDA source) through the environment, systemd credentials or Vault."""
        return self.secret or self.credential

    @property
    def default_value(self) -> t.Any:
        """The default as the option's type (a fresh list or dict each time)."""
        if self.type == "dict" and self.default is not None:
            return dict(self.default)
        if self.type == "list" and self.default is not None:
            return list(self.default)
        return self.default

    def argspec(self) -> dict[str, t.Any]:
        """The Ansible argument spec entry (without the environment fallback, which needs Ansible)."""
        spec: dict[str, t.Any] = {"type": self.type}
        if self.default is not None:
            spec["default"] = self.default_value
        if self.choices:
            spec["choices"] = list(self.choices)
        if self.type == "list":
            spec["elements"] = "str"
        if self.secret:
            spec["no_log"] = True
        return spec


DEFAULT_DB_VAULT_PATH = "teams/core-infrastructure/server/kea_db"
DEFAULT_DNS_VAULT_PATH = "teams/core-infrastructure/server/baremetal_dns"
DEFAULT_HOSTNAME_FILTER = ("*-ilo", "*-idrac", "*-bmc")
DEFAULT_OWNER = "kea/default"

KEA_DB = (
    Option("db_host", default="localhost", help="PostgreSQL host", env=("KEA_DB_HOST",)),
    Option("db_port", "int", 5432, "PostgreSQL port", env=("KEA_DB_PORT",)),
    Option("db_name", default="kea", help="database name", env=("KEA_DB_NAME",)),
    Option("db_user", default="kea", help="database user (with use_vault: from the Vault secret)", env=("KEA_DB_USER",)),
    Option("db_password", help="database password", env=("KEA_DB_PASSWORD",), secret=True),
    Option("db_sslmode", default="prefer", help="libpq sslmode", choices=SSL_MODES, env=("KEA_DB_SSLMODE",)),
    Option("db_sslrootcert", "path", help="CA bundle for the database", env=("KEA_DB_SSLROOTCERT",)),
    Option("db_connect_timeout", "int", 10, "seconds to wait for a database connection"),
    Option("db_vault_path", default=DEFAULT_DB_VAULT_PATH, help="Vault path of the database credentials"),
)
VAULT = (
    Option("use_vault", "bool", False, "read the database and DNS credentials from Vault"),
    Option("vault_addr", help="Vault address", env=("VAULT_ADDR",)),
    Option("vault_auth_method", default="token", help="Vault login", choices=("token", "approle"), env=("VAULT_AUTH_METHOD",)),
    Option("vault_token", help="Vault token", env=("VAULT_TOKEN",), secret=True),
    Option("vault_role_id", help="AppRole role id", env=("VAULT_ROLE_ID",), credential=True),
    Option("vault_secret_id", help="AppRole secret id", env=("VAULT_SECRET_ID",), secret=True),
    Option("vault_approle_mount", default="approle", help="AppRole mount"),
    Option("vault_mount", default="secrets", help="KV v2 mount"),
    Option("vault_namespace", help="Vault namespace", env=("VAULT_NAMESPACE",)),
    Option("vault_ca_cert", "path", help="CA bundle for Vault", env=("VAULT_CACERT",)),
    Option("vault_validate_certs", "bool", True, "verify Vault's certificate"),
    Option("vault_timeout", "int", 30, "seconds to wait for Vault"),
)
NAMING = (Option("naming_pattern", help="hostname regex with the groups site and cabinet (default: the collection's)"),)
# What every consumer of the outbox has (the listener daemon, the EDA source kea_events, the dns_sync module).
OUTBOX = (
    Option("events_schema", default="kea_dns", help="schema of the outbox (role kea_db_events)"),
    Option("events_channel", default="kea_lease_events", help="NOTIFY channel"),
    Option("poll_interval", "float", 10.0, "seconds between polls (outbox without events; lease file mode)"),
    Option("retry_max_interval", "float", 30.0, "longest wait between retries after a database or DNS failure"),
)
# How Kea reservations become records (_sources/kea.py); the daemon's zone and TTL keep the replaced daemon's names.
KEA_SOURCE = (
    Option("hostname_filter", "list", DEFAULT_HOSTNAME_FILTER, "globs of the hostnames to manage (first label)"),
    Option("ptr", "bool", False, "also keep the PTR records of the addresses"),
    Option("ptr_zone", help="reverse zone of the PTR records (default: the backend's longest match)"),
    Option("owner_id", default=DEFAULT_OWNER,
           help="owner id of the records written and deleted (another owner's are left alone); two sources writing one zone "
                "need different ids, e.g. kea/site2"),
    Option("take_over", "bool", False, "replace (and mark as this owner's) a record in the way that has no owner mark"),
)
# How Kubernetes routes become records (_sources/routes.py): the route program's and the route_records module's own
# (not in catalogue(): owner_id has another default than the Kea source's). Seed 004's variables come first in env.
DEFAULT_ROUTE_KINDS = ("Ingress", "IngressRoute", "HTTPRoute")
ROUTE_SOURCE = (
    Option("kubeconfig", "path", help="kubeconfig file (empty: the in-cluster service account)", env=("KUBECONFIG",)),
    Option("namespaces", "list", (), "namespaces to read (empty: all)", env=("WATCH_NAMESPACE",)),
    Option("kinds", "list", DEFAULT_ROUTE_KINDS, "kinds to read: Ingress, IngressRoute, HTTPRoute", env=("ROUTE_KINDS",)),
    Option("traefik_legacy", "bool", False, "also read IngressRoutes of the legacy group traefik.containo.us"),
    Option("zones", "list", (), "zones of the records: a route's name is kept when it lies in one (empty: every name)", env=("DNS_ZONE",)),
    Option("target", help="address(es) of the routes' names before any status (the ingress load balancer), comma-separated",
           env=("DNS_IP_ADDRESS",)),
    Option("ttl", "int", 300, "TTL of the records (a route's TTL annotation overrides it)", env=("DNS_TTL_DEFAULT",)),
    Option("tls_hosts", "bool", False, "Ingress spec.tls[].hosts are names too"),
    Option("ingress_classes", "list", (), "IngressClasses to serve (empty: all)"),
    Option("wildcards", "bool", False, "publish *.example.com names"),
    Option("owner_id", default="k8s/default", help="owner id of the records (one per cluster, e.g. k8s/prod)", env=("ROUTE_OWNER_ID",)),
)
ARCHIVE = (
    Option("backup_dir", "path", help="directory of the archives"),
    Option("name", help="archive name"),
    Option("keep", "int", 0, "archives to keep (0: all)"),
    Option("archive", "path", help="archive to restore"),
    Option("archive_format", default="manifest", help="archive format", choices=("manifest", "plain")),
)


def catalogue() -> dict[str, Option]:
    """Every option shared by several doors, by name, the DNS backends' included (ARCHIVE is the backup modules' own)."""
    from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.registry import dns_options  # pylint: disable=import-outside-toplevel

    return {option.name: option for option in (*KEA_DB, *VAULT, *NAMING, *OUTBOX, *KEA_SOURCE, *dns_options())}


def secret_options() -> tuple[str, ...]:
    """The one list of secret options (no_log, masked in logs)."""
    return tuple(name for name, option in catalogue().items() if option.secret)


def env_only_options() -> tuple[str, ...]:
    """The secrets and the login names paired with them: never a command-line flag or a key of the daemon's config file."""
    return tuple(name for name, option in catalogue().items() if option.env_only)


def environment() -> dict[str, tuple[str, ...]]:
    """The environment variables of each option that has some."""
    return {name: option.env for name, option in catalogue().items() if option.env}


def options_from_env(environ: t.Mapping[str, str] | None = None, options: t.Iterable[Option] | None = None) -> dict[str, str]:
    """The options (of the catalogue, or ``options``) set through the environment (the first variable of each that is set)."""
    environ = os.environ if environ is None else environ
    found = {}
    for option in catalogue().values() if options is None else options:
        for name in option.env:
            if environ.get(name):
                found[option.name] = environ[name]
                break
    return found


def with_defaults(options: t.Mapping[str, t.Any], group: t.Iterable[Option]) -> dict[str, t.Any]:
    """The options of ``group``: the given value, or the catalogue's default where none is given (None)."""
    return {option.name: option.default_value if options.get(option.name) is None else options[option.name] for option in group}
