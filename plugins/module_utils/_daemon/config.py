# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the listener daemon's options (command line, config file, environment).

Every option is declared once in ``OPTIONS``; the command-line flags, the config file's keys and the checks come
from that table. The replaced daemon's flags (``--db-host`` ... ``--lease-file``) keep their names and defaults, so
its systemd unit can point at this daemon. Precedence: command line, then the config file (YAML, keys are the
option names with underscores), then the environment variables the modules also read (``_options.ENV``), then the
defaults. Secrets are never options: they come from the environment or from systemd credentials
(``$CREDENTIALS_DIRECTORY/<VARIABLE>``), or from Vault with ``use_vault``; a config file that holds one is refused.
"""

from __future__ import annotations

import argparse
import os
import typing as t
from dataclasses import dataclass

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.ownership import DEFAULT_OWNER, check_owner_id
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.registry import PROVIDERS
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import ENV, SSL_MODES, TSIG_ALGORITHMS, options_from_env
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox.schema import IDENTIFIER_RE

try:
    import yaml
except ImportError:  # pragma: no cover - the daemon's requirements include PyYAML
    yaml = None

# Options that hold secrets: environment / systemd credentials / Vault only.
SECRET_OPTIONS = ("db_password", "vault_token", "vault_role_id", "vault_secret_id", "powerdns_api_key", "rfc2136_key_secret",
                  "technitium_token", "solidserver_username", "solidserver_password")


@dataclass(frozen=True)
class Option:
    name: str
    kind: type
    default: t.Any
    help: str
    choices: tuple[str, ...] | None = None
    seed: bool = False  # a flag of the replaced daemon


OPTIONS = (
    # The replaced daemon's flags.
    Option("db_host", str, "localhost", "PostgreSQL host", seed=True),
    Option("db_port", int, 5432, "PostgreSQL port", seed=True),
    Option("db_name", str, "kea", "database name", seed=True),
    Option("db_user", str, "kea", "database user (with use_vault: from the Vault secret)", seed=True),
    Option("use_vault", bool, False, "read the database and DNS credentials from Vault", seed=True),
    Option("enable_dns", bool, False, "keep DNS records of the reservations", seed=True),
    Option("dns_zone", str, None, "DNS zone of the records (required with enable_dns)", seed=True),
    Option("dns_scope", str, "internal", "SOLIDserver scope (internal or external DNS server)", seed=True),
    Option("use_database_events", bool, False, "wake up on NOTIFY (LISTEN) instead of polling the outbox", seed=True),
    Option("poll_interval", float, 10.0, "seconds between polls (outbox without events; lease file mode)", seed=True),
    Option("once", bool, False, "reconcile, drain the outbox, write the inventory files, and exit", seed=True),
    Option("output_dir", str, "/var/lib/kea/discovery", "directory of the <site>-<cabinet>-discovery.yml files", seed=True),
    Option("log_level", str, "INFO", "log level", ("DEBUG", "INFO", "WARNING", "ERROR"), seed=True),
    Option("lease_file", str, None, "legacy mode: read this Kea memfile lease file instead of the database", seed=True),
    # New options.
    Option("provider", str, "solidserver", "DNS backend", tuple(PROVIDERS)),
    Option("dry_run", bool, False, "log the DNS changes and inventory files without making them"),
    Option("metrics_address", str, "127.0.0.1:9717", "host:port of /metrics, /healthz and /readyz (empty: off)"),
    Option("log_format", str, "text", "log format", ("text", "json")),
    Option("inventory", bool, True, "write the site-cabinet inventory files"),
    Option("naming_pattern", str, None, "hostname regex with the groups site and cabinet (default: the collection's)"),
    Option("hostname_filter", list, ["*-ilo", "*-idrac", "*-bmc"], "globs of the hostnames to manage (first label)"),
    Option("ptr", bool, False, "also keep the PTR records of the addresses"),
    Option("ptr_zone", str, None, "reverse zone of the PTR records (default: the backend's longest match)"),
    Option("dns_ttl", int, 600, "TTL of the records"),
    Option("owner_id", str, DEFAULT_OWNER, "owner id of the records this daemon writes and deletes (another owner's are left "
                                           "alone); two sources writing one zone need different ids, e.g. kea/site2"),
    Option("dns_owner_txt", bool, None, "TXT ownership markers (default: on for backends that store no owner metadata)"),
    Option("dns_timeout", float, 10.0, "seconds to wait for the DNS backend"),
    Option("batch_size", int, None, "outbox rows per batch (default: 1000 on knot and powerdns, 200 on the others)"),
    Option("events_schema", str, "kea_dns", "schema of the outbox (role kea_db_events)"),
    Option("events_channel", str, "kea_lease_events", "NOTIFY channel"),
    Option("reconcile_interval", float, 3600.0, "seconds between full reconciles after the start-up one (0: never)"),
    Option("retry_max_interval", float, 30.0, "longest wait between retries after a database or DNS failure"),
    Option("outbox_retention", float, 168.0, "hours to keep done and skipped outbox rows"),
    Option("db_sslmode", str, "prefer", "libpq sslmode", SSL_MODES),
    Option("db_sslrootcert", str, None, "CA bundle for the database"),
    Option("db_connect_timeout", int, 10, "seconds to wait for a database connection"),
    Option("vault_addr", str, None, "Vault address (or VAULT_ADDR)"),
    Option("vault_auth_method", str, "token", "Vault login", ("token", "approle")),
    Option("vault_mount", str, None, "KV v2 mount (default: secrets)"),
    Option("vault_approle_mount", str, None, "AppRole mount (default: approle)"),
    Option("vault_namespace", str, None, "Vault namespace"),
    Option("vault_ca_cert", str, None, "CA bundle for Vault"),
    Option("vault_renew_interval", float, 3600.0, "seconds between Vault token renewals"),
    Option("db_vault_path", str, None, "Vault path of the database credentials"),
    Option("dns_vault_path", str, None, "Vault path of the DNS credentials"),
    Option("powerdns_api_url", str, None, "PowerDNS API URL"),
    Option("powerdns_server_id", str, None, "PowerDNS server id"),
    Option("powerdns_validate_certs", bool, True, "verify the PowerDNS API certificate"),
    Option("powerdns_ownership", str, None, "how PowerDNS records are marked as owned: comment (default) or txt",
           choices=("comment", "txt")),
    Option("rfc2136_server", str, None, "RFC 2136 server address"),
    Option("rfc2136_port", int, None, "RFC 2136 server port"),
    Option("rfc2136_key_name", str, None, "TSIG key name"),
    Option("rfc2136_key_algorithm", str, None, "TSIG algorithm (default: hmac-sha256)", TSIG_ALGORITHMS),
    Option("knot_socket", str, None, "Knot control socket"),
    Option("technitium_api_url", str, None, "Technitium API URL"),
    Option("technitium_validate_certs", bool, True, "verify the Technitium API certificate"),
    Option("solidserver_host", str, None, "SOLIDserver host"),
    Option("solidserver_auth_method", str, None, "SOLIDserver login: native (default) or basicauth", ("native", "basicauth")),
    Option("solidserver_dns_server", str, None, "SOLIDserver DNS server name (overrides dns_scope)"),
    Option("solidserver_scope_servers", dict, None, "dns_scope -> SOLIDserver DNS server name"),
    Option("solidserver_ca_cert", str, None, "CA bundle for SOLIDserver"),
    Option("solidserver_validate_certs", bool, True, "verify the SOLIDserver certificate"),
    Option("solidserver_max_parallel", int, None, "parallel SOLIDserver calls"),
    Option("solidserver_rate_limit", int, None, "SOLIDserver calls per minute (0: no limit)"),
)
BY_NAME = {option.name: option for option in OPTIONS}


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="kea_lease_monitor_vault.py",
        description="Keep DNS records and site-cabinet inventory files in step with Kea's reservations (ddi.kea_dns).",
        epilog="Secrets come from the environment (KEA_DB_PASSWORD, VAULT_TOKEN, PDNS_API_KEY, ...), from systemd "
               "credentials, or from Vault (--use-vault); never from the command line.",
        argument_default=argparse.SUPPRESS)
    cli.add_argument("--config", help="YAML file of options (keys: the long flags with underscores)")
    cli.add_argument("--check-config", action="store_true", help="check the options and exit (0: valid, 2: not)")
    for option in OPTIONS:
        flag = "--" + option.name.replace("_", "-")
        if option.kind is bool:
            cli.add_argument(flag, action=argparse.BooleanOptionalAction, help=option.help)
        elif option.kind is list:
            cli.add_argument(flag, action="append", metavar="GLOB", help=option.help + " (repeat the flag)")
        elif option.kind is dict:
            continue  # config file only
        else:
            cli.add_argument(flag, type=option.kind, choices=option.choices, help=option.help)
    return cli


def _credentials(environ: t.Mapping[str, str]) -> dict[str, str]:
    """systemd credentials named like the environment variables (``LoadCredential=KEA_DB_PASSWORD:/path``)."""
    directory = environ.get("CREDENTIALS_DIRECTORY")
    found: dict[str, str] = {}
    if not directory:
        return found
    for names in ENV.values():
        for name in names:
            path = os.path.join(directory, name)
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as handle:
                    found[name] = handle.read().strip()
    return found


def coerce(option: Option, value: t.Any, where: str) -> t.Any:
    if value is None:
        return None
    try:
        if option.kind is bool:
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("1", "true", "yes", "on"):
                return True
            if str(value).lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if option.kind is list:
            if isinstance(value, str):
                return [part.strip() for part in value.split(",") if part.strip()]
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise ValueError
            return list(value)
        if option.kind is dict:
            if not isinstance(value, dict):
                raise ValueError
            return {str(k): str(v) for k, v in value.items()}
        coerced = option.kind(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{where}{option.name}", value, f"expected {option.kind.__name__}") from None
    if option.choices and coerced not in option.choices:
        raise InvalidInputError(f"{where}{option.name}", value, f"expected one of {', '.join(option.choices)}")
    return coerced


def load(argv: t.Sequence[str] | None = None, environ: t.Mapping[str, str] | None = None) -> tuple[dict[str, t.Any], bool]:
    """The merged, checked options and whether only a check was asked; InvalidInputError names what is wrong."""
    environ = dict(os.environ if environ is None else environ)
    given = vars(parser().parse_args(argv))
    check_only = bool(given.pop("check_config", False))
    from_file: dict[str, t.Any] = {}
    path = given.pop("config", None)
    if path:
        if yaml is None:
            raise InvalidInputError("config", path, "reading a config file needs PyYAML")
        try:
            with open(path, encoding="utf-8") as handle:
                from_file = yaml.safe_load(handle) or {}
        except OSError as exc:
            raise InvalidInputError("config", path, exc.strerror or str(exc)) from None
        except yaml.YAMLError as exc:
            raise InvalidInputError("config", path, f"not valid YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(from_file, dict):
            raise InvalidInputError("config", path, "expected a mapping of options")
        for key in from_file:
            if key in SECRET_OPTIONS:
                raise InvalidInputError(f"config {path}: {key}", "(hidden)",
                                        "secrets go in the environment, systemd credentials or Vault, not in the config file")
            if key not in BY_NAME:
                raise InvalidInputError(f"config {path}: {key}", from_file[key], "unknown option")
    from_env = options_from_env({**environ, **_credentials(environ)})
    options: dict[str, t.Any] = {}
    for option in OPTIONS:
        if option.name in given:
            options[option.name] = coerce(option, given[option.name], "--")
        elif option.name in from_file:
            options[option.name] = coerce(option, from_file[option.name], "")
        elif option.name in from_env:
            options[option.name] = coerce(option, from_env[option.name], "environment ")
        else:
            options[option.name] = option.default
    options.update({name: from_env[name] for name in SECRET_OPTIONS if name in from_env})
    check(options)
    return options, check_only


def check(options: t.Mapping[str, t.Any]) -> None:
    """Cross-option checks (each names the option, its value and the cause)."""
    if options["enable_dns"] and not options["dns_zone"]:
        raise InvalidInputError("dns_zone", None, "enable_dns needs dns_zone (the zone of the records)")
    check_outbox_options(options)
    if options["dns_timeout"] <= 0:
        raise InvalidInputError("dns_timeout", options["dns_timeout"], "must be greater than 0")
    if not 0 <= options["dns_ttl"] <= 2147483647:
        raise InvalidInputError("dns_ttl", options["dns_ttl"], "TTL ranges from 0 to 2147483647")
    check_owner_id(options["owner_id"])
    if not options["hostname_filter"]:
        raise InvalidInputError("hostname_filter", options["hostname_filter"], "needs at least one glob ('*' selects every hostname)")
    if options["metrics_address"]:
        metrics_address(options["metrics_address"])


def check_outbox_options(options: t.Mapping[str, t.Any]) -> None:
    """The checks of the options every outbox consumer has (the daemon and the EDA source kea_events)."""
    for name in ("events_schema", "events_channel"):
        if not IDENTIFIER_RE.fullmatch(options[name]):
            raise InvalidInputError(name, options[name], "expected a lower-case SQL identifier")
    for name in ("poll_interval", "retry_max_interval"):
        if options[name] <= 0:
            raise InvalidInputError(name, options[name], "must be greater than 0")
    if options["batch_size"] is not None and not 1 <= options["batch_size"] <= 10000:
        raise InvalidInputError("batch_size", options["batch_size"], "ranges from 1 to 10000")


def metrics_address(value: str) -> tuple[str, int]:
    host, separator, port = value.rpartition(":")
    if not separator or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InvalidInputError("metrics_address", value, "expected host:port, e.g. 127.0.0.1:9717")
    return host.strip("[]"), int(port)
