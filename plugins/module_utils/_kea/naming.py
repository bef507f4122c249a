# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: BMC hostname -> site / cabinet / rack unit / BMC type.

The pattern is a Python regular expression with the named groups ``site`` and
``cabinet`` (required) and ``rack_unit`` and ``bmc_type`` (optional). It is
matched against the first label of the lower-cased hostname, so
``us3-cab10-ru20-idrac`` and ``us3-cab10-ru20-idrac.site.com`` parse alike.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError

BMC_TYPES = ("ilo", "idrac", "bmc", "xcc", "imm", "irmc", "ipmi", "cimc")

DEFAULT_PATTERN = (
    r"^(?P<site>[a-z][a-z0-9]*)-(?P<cabinet>cab[0-9]+)-ru(?P<rack_unit>[0-9]+)"
    r"-(?P<bmc_type>(?:" + "|".join(BMC_TYPES) + r")[0-9]*)$"
)

# Ansible group names: letters, digits and underscores, not starting with a digit.
GROUP_INVALID_RE = re.compile(r"[^A-Za-z0-9_]")

REQUIRED_GROUPS = ("site", "cabinet")
OPTIONAL_GROUPS = ("rack_unit", "bmc_type")


@dataclass(frozen=True)
class Location:
    """Where a BMC sits, as read from its hostname."""

    site: str
    cabinet: str
    rack_unit: int | None = None
    bmc_type: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def groups(self) -> dict[str, str]:
        """The inventory groups of this BMC: site (``us3``), site-cabinet (``us3_cab10``), BMC type (``idrac``)."""
        found = {"site": group_name(self.site), "cabinet": group_name(self.site, self.cabinet)}
        if self.bmc_type:
            found["bmc_type"] = group_name(self.bmc_type)
        return found


def group_name(*parts: str) -> str:
    """Parts joined with underscores, made a valid Ansible group name."""
    name = GROUP_INVALID_RE.sub("_", "_".join(parts))
    return "_" + name if name[:1].isdigit() else name


class HostnameParser:
    """Parses hostnames with one compiled, validated pattern."""

    def __init__(self, pattern: str | None = None, field: str = "naming_pattern") -> None:
        self.pattern = pattern or DEFAULT_PATTERN
        try:
            self._regex = re.compile(self.pattern)
        except re.error as exc:
            raise InvalidInputError(field, self.pattern, f"not a valid regular expression: {exc}") from None
        missing = [group for group in REQUIRED_GROUPS if group not in self._regex.groupindex]
        if missing:
            raise InvalidInputError(field, self.pattern, f"the pattern needs the named group(s) {', '.join(missing)}")

    def parse(self, hostname: str | None) -> Location | None:
        """Return the location, or None when the hostname does not follow the pattern."""
        if not hostname:
            return None
        match = self._regex.match(hostname.lower().split(".", 1)[0])
        if match is None:
            return None
        groups = match.groupdict()
        rack_unit = groups.get("rack_unit")
        return Location(
            site=groups["site"],
            cabinet=groups["cabinet"],
            rack_unit=int(rack_unit) if rack_unit and rack_unit.isdigit() else None,
            bmc_type=groups.get("bmc_type") or None,
        )

    def parse_dict(self, hostname: str | None) -> dict:
        """Like parse(), as a dict whose values are None when the hostname does not match."""
        location = self.parse(hostname)
        if location is None:
            return dict.fromkeys(REQUIRED_GROUPS + OPTIONAL_GROUPS)
        return location.to_dict()
