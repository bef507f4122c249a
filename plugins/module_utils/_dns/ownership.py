# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: who owns a managed record. No Ansible, no DNS library.

Every record a source writes carries a mark: the collection's name, the source's owner id (``kea/default``, a second
Kea site ``kea/site2``, later ``k8s/<cluster>``) and a reference to what it came from (the reservation:
``subnet-1/hw-address/aa:bb:cc:dd:ee:ff``). A source changes and deletes only records whose owner id is its own;
records of another owner, or with no mark, are conflicts and are left alone.

The mark is written where each backend can keep it: the value of a TXT marker (``owner_txt.py``, for Knot, RFC 2136
and PowerDNS in ``txt`` mode, one value per owned type: ``managed-by ddi.kea_dns A owner=kea/default ref=...``), an
RRset comment (PowerDNS), a record comment (Technitium) or class parameters (SOLIDserver,
``managed-by=ddi.kea_dns&owner=...&ref=...``). Marks written before owner ids existed (``managed-by ddi.kea_dns``,
with the type for TXT markers) read as DEFAULT_OWNER, so an upgrade loses and re-creates nothing.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import DEFAULT_OWNER

OWNER_MARK = "managed-by ddi.kea_dns"
OWNER_PARAMETER = ("managed-by", "ddi.kea_dns")  # SOLIDserver class parameter
# Lower-case letters, digits and . _ / - : no spaces, quotes, '=' or '&', which the marks use as separators.
OWNER_ID_RE = re.compile(r"^[a-z0-9](?:[a-z0-9._/-]{0,62}[a-z0-9])?$")


@dataclass(frozen=True)
class Mark:
    owner: str
    ref: str | None = None
    rtype: str | None = None  # the type a TXT marker value is for


def check_owner_id(value: object, field: str = "owner_id") -> str:
    if not isinstance(value, str) or not OWNER_ID_RE.fullmatch(value):
        raise InvalidInputError(field, value, "expected 1 to 64 lower-case letters, digits and . _ / - (for example kea/default or "
                                              "kea/site2), starting and ending with a letter or digit")
    return value


def ref_of(origin: t.Any) -> str | None:
    """The reference a mark carries for ``origin`` (an object with ``ref()``, such as a reservation's key)."""
    if origin is None:
        return None
    return origin.ref() if hasattr(origin, "ref") else str(origin)


def format_mark(owner: str, origin: t.Any = None, rtype: str | None = None) -> str:
    ref = ref_of(origin)
    return " ".join([OWNER_MARK, *([rtype] if rtype else []), f"owner={owner}", *([f"ref={ref}"] if ref else [])])


def parse_mark(text: object) -> Mark | None:
    """The mark in ``text``; None when it is no mark of the collection."""
    if not isinstance(text, str) or not (text == OWNER_MARK or text.startswith(OWNER_MARK + " ")):
        return None
    rtype, fields = None, {}
    for token in text[len(OWNER_MARK):].split():
        if "=" in token:
            name, _sep, value = token.partition("=")
            fields[name] = value
        elif rtype is None:
            rtype = token
    return Mark(fields.get("owner") or DEFAULT_OWNER, fields.get("ref") or None, rtype)


def mark_parameters(owner: str, origin: t.Any = None) -> list[tuple[str, str]]:
    """The mark as SOLIDserver class parameters."""
    ref = ref_of(origin)
    return [OWNER_PARAMETER, ("owner", owner), *([("ref", ref)] if ref else [])]


def parse_parameters(pairs: t.Iterable[tuple[str, str]]) -> Mark | None:
    found = dict(pairs)
    if found.get(OWNER_PARAMETER[0]) != OWNER_PARAMETER[1]:
        return None
    return Mark(found.get("owner") or DEFAULT_OWNER, found.get("ref") or None)
