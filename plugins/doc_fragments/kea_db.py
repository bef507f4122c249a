# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Options of Kea's PostgreSQL database; argspec: plugins/module_utils/_module/argspec.py kea_db_argspec()."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  db_host:
    description:
      - Host name, IP address or Unix socket directory of Kea's PostgreSQL server.
      - Falls back to the environment variable E(KEA_DB_HOST).
    type: str
    default: localhost
  db_port:
    description:
      - TCP port of the PostgreSQL server. Falls back to E(KEA_DB_PORT).
    type: int
    default: 5432
  db_name:
    description:
      - Name of the database that holds Kea's schema (created by C(kea-admin db-init pgsql)). Falls back to E(KEA_DB_NAME).
    type: str
    default: kea
  db_user:
    description:
      - Database user. Falls back to E(KEA_DB_USER).
      - Ignored when O(use_vault=true); the user name then comes from Vault.
    type: str
    default: kea
  db_password:
    description:
      - Password of O(db_user). Falls back to E(KEA_DB_PASSWORD).
      - Ignored when O(use_vault=true); the password then comes from Vault.
    type: str
  db_sslmode:
    description:
      - libpq C(sslmode) of the connection. Falls back to E(KEA_DB_SSLMODE).
    type: str
    default: prefer
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
  db_sslrootcert:
    description:
      - CA certificate file used to verify the server with O(db_sslmode=verify-ca) or O(db_sslmode=verify-full).
      - Falls back to E(KEA_DB_SSLROOTCERT).
    type: path
  db_connect_timeout:
    description:
      - Seconds to wait for the database connection before the task fails.
    type: int
    default: 10
  db_vault_path:
    description:
      - Path of the KV v2 secret, below O(vault_mount), that holds the keys C(username) and C(password) of the database user.
      - Used only when O(use_vault=true).
    type: str
    default: teams/core-infrastructure/server/kea_db
requirements:
  - psycopg2 (C(pip install psycopg2-binary)) on the host that runs the task
"""

    # For plugins (the kea_reservations inventory): the same options, read from the environment by Ansible's
    # configuration system. The variables are those of ENV in plugins/module_utils/_options.py.
    PLUGIN = r"""
options:
  db_host:
    env:
      - name: KEA_DB_HOST
  db_port:
    env:
      - name: KEA_DB_PORT
  db_name:
    env:
      - name: KEA_DB_NAME
  db_user:
    env:
      - name: KEA_DB_USER
  db_password:
    env:
      - name: KEA_DB_PASSWORD
  db_sslmode:
    env:
      - name: KEA_DB_SSLMODE
  db_sslrootcert:
    env:
      - name: KEA_DB_SSLROOTCERT
"""
