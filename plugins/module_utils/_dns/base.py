# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the DNS record model and the contract every backend implements.

Names are absolute, lower-case and without the trailing dot (``us3-cab10-ru20-idrac.site.test``).
Values are canonical presentation text: A/AAAA as Python's ipaddress prints them, PTR/CNAME targets
as absolute names without the dot, TXT as the unquoted string. Backends convert to and from their
own wire forms in private functions of their own file.
"""

from __future__ import annotations

import abc
import ipaddress
import re
import typing as t
from dataclasses import dataclass, field

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, KeaDnsError, NotFoundError, TransportError
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import Option

RECORD_TYPES = ("A", "AAAA", "PTR", "CNAME", "TXT")
DEFAULT_TTL = 600
T = t.TypeVar("T")
# Letters, digits, hyphen and underscore (for _service names); no quotes, spaces or other characters that
# could end up in a backend's query language.
DNS_LABEL_RE = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


def parse_name(value: object, field: str = "name") -> str:
    """An absolute DNS name: lower-cased, trailing dot removed, labels checked."""
    if not isinstance(value, str) or not value.strip(". "):
        raise InvalidInputError(field, value, "expected a DNS name")
    name = value.lower().rstrip(".")
    if len(name) > 253:
        raise InvalidInputError(field, value, f"{len(name)} characters is longer than 253")
    for label in name.split("."):
        if not label:
            raise InvalidInputError(field, value, "empty label (double dot)")
        if len(label) > 63:
            raise InvalidInputError(field, value, f"label {label[:20]!r}... is longer than 63 characters")
        if not DNS_LABEL_RE.fullmatch(label):
            raise InvalidInputError(field, value, f"label {label!r} may hold only letters, digits, hyphens and underscores")
    return name


def absolute_name(name: str, zone: str, field: str = "name") -> str:
    """``name`` in ``zone`` -> absolute name.

    As everywhere in DNS, a trailing dot makes a name absolute: it is taken as it is and must lie in ``zone``
    (InvalidInputError naming the name and the zone when it does not; it is never moved into the zone, nor to
    another zone). Without the dot, a name is relative to ``zone`` unless it already ends in it; ``@`` (or an empty
    name) is the apex.
    """
    if name in ("@", ""):
        return zone
    candidate = parse_name(name, field)
    inside = candidate == zone or candidate.endswith("." + zone)
    if name.endswith("."):
        if not inside:
            raise InvalidInputError(field, name, f"the absolute name {candidate}. (trailing dot) is not in zone {zone}; give the zone "
                                                 f"that holds it as zone, or leave out the trailing dot for a name relative to {zone}")
        return candidate
    return candidate if inside else parse_name(f"{candidate}.{zone}", field)


def fqdn(hostname: str, zone: str | None) -> str:
    """The absolute name of a host: a short ``hostname`` is made absolute in ``zone``; without a zone the hostname
    is taken as it is. InvalidInputError when it is no valid DNS name."""
    if zone:
        return absolute_name(hostname.rstrip("."), zone, "hostname")
    return parse_name(hostname, "hostname")


def parse_value(rtype: str, value: object, field: str = "value") -> str:
    if not isinstance(value, str):
        value = str(value)
    try:
        if rtype == "A":
            return str(ipaddress.IPv4Address(value.strip()))
        if rtype == "AAAA":
            return str(ipaddress.IPv6Address(value.strip()))
    except ValueError:
        family = "IPv4" if rtype == "A" else "IPv6"
        raise InvalidInputError(field, value, f"not an {family} address, as a {rtype} record needs") from None
    if rtype in ("PTR", "CNAME"):
        return parse_name(value, field)
    if rtype == "TXT":
        if len(value) > 255 or any(ord(char) < 32 or char == "\x7f" for char in value):
            raise InvalidInputError(field, value, "TXT values are up to 255 printable characters")
        return value
    raise InvalidInputError("type", rtype, f"expected one of {', '.join(RECORD_TYPES)}")


def to_presentation(rtype: str, value: str) -> str:
    """A canonical value -> DNS presentation text (names absolute with the dot, TXT quoted and escaped)."""
    if rtype in ("PTR", "CNAME"):
        return value + "."
    if rtype == "TXT":
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def longest_zone(name: str, zones: t.Iterable[str], where: str) -> str:
    """The zone among ``zones`` that holds ``name`` (longest match); NotFoundError when none does."""
    matches = [zone for zone in zones if name == zone or name.endswith("." + zone)]
    if not matches:
        raise NotFoundError(f"no zone on {where} holds {name}")
    return max(matches, key=len)


def reverse_name(address: str) -> str:
    return ipaddress.ip_address(address).reverse_pointer


@dataclass(frozen=True, order=True, slots=True)
class RRsetKey:
    name: str
    type: str

    def label(self) -> str:
        return f"{self.name} {self.type}"


@dataclass(frozen=True, slots=True)
class RRset:
    """All records of one name and type in one zone (TTL is per RRset, as in DNS)."""

    zone: str
    key: RRsetKey
    values: tuple[str, ...]
    ttl: int = DEFAULT_TTL
    owner: str | None = field(default=None, compare=False)  # the owner id in the collection's mark; None: no mark
    origin: t.Any = field(default=None, compare=False, repr=False)  # what it came from (written into the mark as its ref)

    @property
    def owned(self) -> bool:
        """Marked by the collection (by any owner id: the planner compares ``owner`` with its own)."""
        return self.owner is not None

    def to_dict(self) -> dict:
        """The one output shape of dns_record, dns_record_info and their diffs."""
        return {"zone": self.zone, "name": self.key.name, "type": self.key.type, "values": list(self.values),
                "ttl": self.ttl, "owned": self.owned, "owner": self.owner}


@dataclass(frozen=True, slots=True)
class Change:
    """Replace ``before`` with ``after`` (create: before is None; delete: after is None)."""

    before: RRset | None
    after: RRset | None

    @property
    def key(self) -> RRsetKey:
        return (self.after or self.before).key  # type: ignore[union-attr]

    @property
    def zone(self) -> str:
        return (self.after or self.before).zone  # type: ignore[union-attr]

    @property
    def action(self) -> str:
        return "create" if self.before is None else "delete" if self.after is None else "update"

    def label(self) -> str:
        return f"{self.action} {self.key.label()}"


@dataclass(frozen=True)
class Traits:
    """What differs between backends, declared instead of branched on."""

    name: str
    native_batch: bool  # one atomic call for a batch in one zone
    ownership: bool  # stores owner metadata with records
    can_list_zone: bool
    record_types: tuple[str, ...] = RECORD_TYPES
    # Connections are dropped after each batch: the server serves one control client at a time (Knot) or closes idle
    # connections soon (DNS over TCP), so holding one between batches starves other clients or finds it dead later.
    release_after_batch: bool = False
    # Outbox rows the listener daemon takes per batch unless its batch_size says otherwise. Larger where every commit
    # costs in proportion to the zone (Knot, PowerDNS): a burst then pays that cost fewer times.
    batch_rows: int = 200
    # Changes per backend call in a reconcile. Larger where every commit costs in proportion to the zone (Knot);
    # PowerDNS refuses a request body over its webserver-max-bodysize (2 MB by default): see powerdns.py.
    reconcile_chunk: int = 1000
    # Requests per second the route program sends at most unless its rate_limit says otherwise (seed 004: 10 to Technitium).
    rate_limit: float = 100.0


class DnsBackend(abc.ABC):
    """The contract. Methods raise the collection's errors (_errors.py), never library exceptions."""

    traits: t.ClassVar[Traits]

    @abc.abstractmethod
    def find_zone(self, name: str) -> str:
        """The zone that holds ``name`` (longest match); NotFoundError when no zone does."""

    @abc.abstractmethod
    def get(self, zone: str, keys: t.Collection[RRsetKey]) -> dict[RRsetKey, RRset]:
        """The current RRsets of ``keys`` in ``zone``; absent keys are left out."""

    @abc.abstractmethod
    def list_zone(self, zone: str) -> list[RRset]:
        """Every RRset of the record types the collection manages in ``zone``."""

    @abc.abstractmethod
    def apply(self, zone: str, changes: t.Sequence[Change]) -> None:
        """Apply all changes of one zone, atomically where ``traits.native_batch``."""

    def zones(self) -> list[str] | None:
        """Every zone of the server, lower-case and relative to the root; None where the protocol cannot list them
        (RFC 2136)."""
        return None

    def probe(self, zone: str) -> None:
        """One cheap read that reaches the server (the apex TXT RRset of ``zone``); raises like every call."""
        self.get(zone, [RRsetKey(zone, "TXT")])

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. The backend stays usable: the next call connects again."""


@dataclass(frozen=True)
class Provider:
    """What a backend's file declares as ``PROVIDER`` (and ``_dns/registry.py`` lists): the provider name, its options
    (prefixed with the name), the keys of its credentials in the Vault secret (key -> option; ``optional_vault_keys``
    are used when the secret has them), and the factory that makes the backend from the options, every one of them
    given (the catalogue's default where none was set)."""

    name: str
    options: tuple[Option, ...]
    make: t.Callable[[t.Mapping[str, t.Any]], DnsBackend]
    vault_keys: t.Mapping[str, str] = field(default_factory=dict)
    optional_vault_keys: t.Mapping[str, str] = field(default_factory=dict)


def is_transport_failure(exc: BaseException) -> bool:
    """A failure of the connection rather than of the request (also when part of a batch was applied before it)."""
    return isinstance(exc, TransportError) or isinstance(getattr(exc, "cause", None), TransportError)


def run_batch(backend: DnsBackend, function: t.Callable[..., T], *args: t.Any) -> T:
    """Run ``function(*args)``, the reads and writes of one batch, on ``backend``. A connection found dead (a server
    restarted, or an idle connection it closed) is dropped and the whole batch runs once more on a new one, so the
    plan is made again from what the server holds; a second failure is raised. Connections of backends that
    ``release_after_batch`` are dropped when the batch ends."""
    try:
        try:
            return function(*args)
        except KeaDnsError as exc:
            if not is_transport_failure(exc):
                raise
            backend.close()
        return function(*args)
    finally:
        if backend.traits.release_after_batch:
            backend.close()
