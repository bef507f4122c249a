# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Options of HashiCorp Vault / OpenBao credentials; argspec: plugins/module_utils/_module/argspec.py vault_argspec()."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  use_vault:
    description:
      - Read credentials from a HashiCorp Vault (or OpenBao) KV version 2 secret instead of taking them from options.
      - Requires the Python library C(hvac) on the host that runs the task.
    type: bool
    default: false
  vault_addr:
    description:
      - Address of the Vault server, for example V(https://vault.example.com:8200). Falls back to E(VAULT_ADDR).
    type: str
  vault_auth_method:
    description:
      - How to log in to Vault. Falls back to E(VAULT_AUTH_METHOD).
    type: str
    default: token
    choices: [token, approle]
  vault_token:
    description:
      - Vault token for O(vault_auth_method=token). Falls back to E(VAULT_TOKEN).
      - Never logged; prefer the environment variable to a task argument.
    type: str
  vault_role_id:
    description:
      - AppRole role ID for O(vault_auth_method=approle). Falls back to E(VAULT_ROLE_ID).
    type: str
  vault_secret_id:
    description:
      - AppRole secret ID for O(vault_auth_method=approle). Falls back to E(VAULT_SECRET_ID). Never logged.
    type: str
  vault_approle_mount:
    description:
      - Mount point of the AppRole auth method.
    type: str
    default: approle
  vault_mount:
    description:
      - Mount point of the KV version 2 secrets engine.
    type: str
    default: secrets
  vault_namespace:
    description:
      - Vault Enterprise / OpenBao namespace. Falls back to E(VAULT_NAMESPACE).
    type: str
  vault_ca_cert:
    description:
      - CA bundle used to verify the Vault server's certificate. Falls back to E(VAULT_CACERT).
    type: path
  vault_validate_certs:
    description:
      - Verify the Vault server's TLS certificate. Set to V(false) only for tests.
    type: bool
    default: true
  vault_timeout:
    description:
      - Seconds to wait for an answer from Vault.
    type: int
    default: 30
"""

    # For plugins (the kea_reservations inventory): the same options, read from the environment by Ansible's
    # configuration system. The variables are those of ENV in plugins/module_utils/_options.py.
    PLUGIN = r"""
options:
  vault_addr:
    env:
      - name: VAULT_ADDR
  vault_auth_method:
    env:
      - name: VAULT_AUTH_METHOD
  vault_token:
    env:
      - name: VAULT_TOKEN
  vault_role_id:
    env:
      - name: VAULT_ROLE_ID
  vault_secret_id:
    env:
      - name: VAULT_SECRET_ID
  vault_namespace:
    env:
      - name: VAULT_NAMESPACE
  vault_ca_cert:
    env:
      - name: VAULT_CACERT
"""
