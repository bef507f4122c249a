# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The BMC naming option; argspec: plugins/module_utils/_module/argspec.py naming_argspec()."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  naming_pattern:
    description:
      - Python regular expression that reads site, cabinet, rack unit and BMC type from a hostname.
      - It must define the named groups C(site) and C(cabinet); C(rack_unit) and C(bmc_type) are optional.
      - It is matched against the first label of the lower-cased hostname.
      - The default reads V(us3-cab10-ru20-idrac) as site V(us3), cabinet V(cab10), rack unit V(20) and BMC type V(idrac);
        BMC types are C(ilo), C(idrac), C(bmc), C(xcc), C(imm), C(irmc), C(ipmi) and C(cimc), optionally followed by digits (V(ilo5)).
      - The exact default pattern is shown in the collection's docs/naming.md.
    type: str
"""
