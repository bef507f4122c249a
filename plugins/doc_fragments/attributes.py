# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Attributes shared by the collection's modules."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  idempotent:
    description: When run twice in a row outside check mode, with the same arguments, the second run indicates no change.
    support: full
"""

    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: This action does not modify state.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: N/A
    details: This action does not modify state.
  idempotent:
    description: When run twice in a row outside check mode, with the same arguments, the second run indicates no change.
    support: full
    details: This action does not modify state.
"""

    ACTIONGROUP_KEA = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/ddi.kea_dns.kea) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - ddi.kea_dns.kea
"""

    ACTIONGROUP_DNS = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/ddi.kea_dns.dns) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - ddi.kea_dns.dns
"""

    ACTIONGROUP_KNOT = r"""
options: {}
attributes:
  action_group:
    description:
      - Use C(group/ddi.kea_dns.knot) in C(module_defaults) to set defaults for this module, for example O(knot_socket).
      - It is not in C(group/ddi.kea_dns.dns), whose defaults (C(provider) and the other backends' options) it does not take.
    support: full
    membership:
      - ddi.kea_dns.knot
"""
