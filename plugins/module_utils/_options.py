# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the options' environment variables, the same for every door. No Ansible imports.

Modules read them through their argument specs' fallbacks (``_module/argspec.py``), the listener daemon and the EDA
source through ``options_from_env()``, so all read the same option names and the same variables.
"""

from __future__ import annotations

import os
import typing as t

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

# Choices that more than one door checks (the modules' argument specs, the daemon's options, the backends).
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")  # libpq sslmode
TSIG_ALGORITHMS = ("hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5")


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
