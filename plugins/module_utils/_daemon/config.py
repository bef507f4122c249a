# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the listener daemon's options (command line, config file, environment).

The daemon's own options are declared in ``OWN``; the others are the option catalogue's (``_options.py``, and each
DNS backend's in its file), the same the modules and the EDA source take. The command-line flags, the config file's
keys and the checks come from ``OPTIONS``, the two together. The replaced daemon's flags (``--db-host`` ... ``--lease-file``) keep their names and defaults, so
its systemd unit can point at this daemon. Precedence: command line, then the config file (YAML, keys are the
option names with underscores), then the environment variables the modules also read (the catalogue's, ``_options.py``), then the
defaults. Secrets are never options: they come from the environment or from systemd credentials
(``$CREDENTIALS_DIRECTORY/<VARIABLE>``), or from Vault with ``use_vault``; a config file that holds one is refused.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.ownership import check_owner_id
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.registry import dns_options
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import KEA_DB, KEA_SOURCE, NAMING, OUTBOX, TYPES, VAULT, Option, options_from_env
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox.schema import IDENTIFIER_RE

# The replaced daemon's flags, kept with their names and defaults (db_host ... use_vault come from the catalogue).
SEED_FLAGS = ("db_host", "db_port", "db_name", "db_user", "use_vault", "enable_dns", "dns_zone", "dns_scope", "use_database_events",
              "poll_interval", "once", "output_dir", "log_level", "lease_file")
# The daemon's own options; the others are the catalogue's (_options.py, the DNS backends' in their files).
OWN = (
    Option("enable_dns", "bool", False, "keep DNS records of the reservations"),
    Option("dns_zone", help="DNS zone of the records (required with enable_dns)"),
    Option("dns_scope", default="internal", help="SOLIDserver scope (internal or external DNS server); the modules' solidserver_scope"),
    Option("use_database_events", "bool", False, "wake up on NOTIFY (LISTEN) instead of polling the outbox"),
    Option("once", "bool", False, "reconcile, drain the outbox, write the inventory files, and exit"),
    Option("output_dir", default="/var/lib/kea/discovery", help="directory of the <site>-<cabinet>-discovery.yml files"),
    Option("log_level", default="INFO", help="log level", choices=("DEBUG", "INFO", "WARNING", "ERROR")),
    Option("lease_file", help="legacy mode: read this Kea memfile lease file instead of the database"),
    Option("dry_run", "bool", False, "log the DNS changes and inventory files without making them"),
    Option("report", help="run once and print the reconcile's drift report on stdout (with --dry-run: what would change); "
           "exit 0 in sync, 3 drift, 1 failure, 2 bad options", choices=("json", "text")),
    Option("metrics_address", default="127.0.0.1:9717", help="host:port of /metrics, /healthz and /readyz (empty: off)"),
    Option("log_format", default="text", help="log format", choices=("text", "json")),
    Option("inventory", "bool", True, "write the site-cabinet inventory files"),
    Option("dns_ttl", "int", 600, "TTL of the records"),
    Option("batch_size", "int", help="outbox rows per batch (default: 1000 on knot and powerdns, 200 on the others)"),
    Option("reconcile_interval", "float", 3600.0, "seconds between full reconciles after the start-up one (0: never)"),
    Option("outbox_retention", "float", 168.0, "hours to keep done and skipped outbox rows"),
    Option("vault_renew_interval", "float", 3600.0, "seconds between Vault token renewals"),
)
# The catalogue's options the daemon takes otherwise: its seed flag dns_scope stands for solidserver_scope, and the
# replaced daemon's backend (SOLIDserver) is the default provider.
RENAMED = {"solidserver_scope": "dns_scope"}
DAEMON_DEFAULTS = {"provider": "solidserver"}


def _options() -> tuple[Option, ...]:
    shared = [dataclasses.replace(option, default=DAEMON_DEFAULTS.get(option.name, option.default))
              for option in (*KEA_DB, *VAULT, *NAMING, *OUTBOX, *KEA_SOURCE, *dns_options()) if option.name not in RENAMED]
    return (*OWN, *shared)


OPTIONS = _options()
BY_NAME = {option.name: option for option in OPTIONS}
# Options that hold secrets, and the login names paired with them: environment / systemd credentials / Vault only,
# and masked in the daemon's logs.
SECRET_OPTIONS = tuple(option.name for option in OPTIONS if option.env_only)


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
        if option.env_only or option.type == "dict":
            continue  # secrets: environment only; a mapping: config file only
        if option.type == "bool":
            cli.add_argument(flag, action=argparse.BooleanOptionalAction, help=option.help)
        elif option.type == "list":
            cli.add_argument(flag, action="append", metavar="GLOB", help=option.help + " (repeat the flag)")
        else:
            cli.add_argument(flag, type=TYPES[option.type], choices=option.choices, help=option.help)
    return cli


def _credentials(environ: t.Mapping[str, str]) -> dict[str, str]:
    """systemd credentials named like the environment variables (``LoadCredential=KEA_DB_PASSWORD:/path``)."""
    directory = environ.get("CREDENTIALS_DIRECTORY")
    found: dict[str, str] = {}
    if not directory:
        return found
    for option in OPTIONS:
        for name in option.env:
            path = os.path.join(directory, name)
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as handle:
                    found[name] = handle.read().strip()
    return found


def coerce(option: Option, value: t.Any, where: str) -> t.Any:
    if value is None:
        return None
    try:
        if option.type == "bool":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("1", "true", "yes", "on"):
                return True
            if str(value).lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if option.type == "list":
            if isinstance(value, str):
                return [part.strip() for part in value.split(",") if part.strip()]
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise ValueError
            return list(value)
        if option.type == "dict":
            if not isinstance(value, dict):
                raise ValueError
            return {str(k): str(v) for k, v in value.items()}
        coerced = TYPES[option.type](value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{where}{option.name}", value, f"expected {TYPES[option.type].__name__}") from None
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
        try:
            import yaml  # for a config file only: the route program imports this module too, and reads none (1 MB resident)
        except ImportError:  # pragma: no cover - the daemon's requirements include PyYAML
            raise InvalidInputError("config", path, "reading a config file needs PyYAML") from None
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
            options[option.name] = option.default_value
    options.update({name: from_env[name] for name in SECRET_OPTIONS if name in from_env})
    if options["report"]:
        options["once"] = True  # a report is of one reconcile
    check(options)
    return options, check_only


def check(options: t.Mapping[str, t.Any]) -> None:
    """Cross-option checks (each names the option, its value and the cause)."""
    if options["enable_dns"] and not options["dns_zone"]:
        raise InvalidInputError("dns_zone", None, "enable_dns needs dns_zone (the zone of the records)")
    if options["report"] and not options["enable_dns"]:
        raise InvalidInputError("report", options["report"], "a drift report needs enable_dns (it compares DNS with the reservations)")
    if options["lease_file"] and options["report"]:
        raise InvalidInputError("report", options["report"], "the drift report reads the database, not a lease file (lease_file)")
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
