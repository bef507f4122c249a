# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: a Kea host reservation, DHCPv4 or DHCPv6 (its key, its fields, a lease), and what a task
asks for (DesiredReservation, from a module's parameters). Plain data: no Ansible, no database.

One row of Kea's ``hosts`` table may hold a DHCPv4 reservation (``dhcp4_subnet_id``) and a DHCPv6 one
(``dhcp6_subnet_id``, with its addresses and prefixes in ``ipv6_reservations``) of the same identifier. The model sees
two reservations, one per family, each with its own key; they share the row's hostname and user context."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.fields import (
    DATA_FIELDS,
    FAMILIES,
    FAMILY_FIELDS,
    IDENTIFIER_TYPE_NAMES,
    MAC_OCTETS,
    MANAGED_KEY,
    MANAGED_VALUE,
    OPTION_NAMES,
    format_identifier,
    parse_client_classes,
    parse_hostname,
    parse_hw_address_length,
    parse_identifier,
    parse_identifier_type,
    parse_ipv4,
    parse_ipv6,
    parse_ipv6_prefix,
    parse_mac,
    parse_subnet_id,
    parse_text,
    parse_user_context,
)


@dataclass(frozen=True, order=True, slots=True)
class ReservationKey:
    """Kea's identity of a reservation (unique indexes key_dhcp4_identifier_subnet_id and key_dhcp6_identifier_subnet_id)."""

    subnet_id: int
    identifier_type: int
    identifier: bytes
    family: int = 4

    def label(self) -> str:
        subnet = "subnet" if self.family == 4 else "v6 subnet"
        return f"{subnet} {self.subnet_id} {IDENTIFIER_TYPE_NAMES[self.identifier_type]} {format_identifier(self.identifier)}"

    def ref(self) -> str:
        """The reservation as the reference of a DNS record's owner mark (no spaces, at most about 90 characters):
        ``subnet-1/hw-address/aa:bb:cc:dd:ee:ff`` (``subnet6-1/duid/...`` for DHCPv6); an identifier longer than 32
        octets (a long DUID) by its digest."""
        kind = IDENTIFIER_TYPE_NAMES[self.identifier_type]
        subnet = "subnet" if self.family == 4 else "subnet6"
        if len(self.identifier) > 32:
            return f"{subnet}-{self.subnet_id}/{kind}/sha256:{hashlib.sha256(self.identifier).hexdigest()[:32]}"
        return f"{subnet}-{self.subnet_id}/{kind}/{format_identifier(self.identifier)}"


@dataclass(frozen=True, slots=True)
class Reservation:
    """One host reservation of one family, in canonical Python types (the fields of the other family stay empty)."""

    key: ReservationKey
    ip: str | None = None
    hostname: str | None = None
    client_classes: tuple[str, ...] = ()
    next_server: str | None = None
    server_hostname: str | None = None
    boot_file_name: str | None = None
    user_context: dict | None = field(default=None, compare=True, hash=False)
    host_id: int | None = field(default=None, compare=False)
    ipv6_addresses: tuple[str, ...] = ()  # DHCPv6: reserved addresses (IA_NA, /128), canonical form, sorted
    prefixes: tuple[str, ...] = ()  # DHCPv6: delegated prefixes (IA_PD) as address/length, sorted; never put in DNS

    @property
    def managed(self) -> bool:
        return bool(self.user_context) and self.user_context.get(MANAGED_KEY) == MANAGED_VALUE  # type: ignore[union-attr]

    def to_dict(self) -> dict:
        """The one output shape: _info results, module results and diffs all use it."""
        return {
            "identifier": format_identifier(self.key.identifier),
            "identifier_type": IDENTIFIER_TYPE_NAMES[self.key.identifier_type],
            "subnet_id": self.key.subnet_id,
            "ip": self.ip,
            "hostname": self.hostname,
            "client_classes": list(self.client_classes),
            "next_server": self.next_server,
            "server_hostname": self.server_hostname,
            "boot_file_name": self.boot_file_name,
            "user_context": self.user_context,
            "managed": self.managed,
            "family": self.key.family,
            "ipv6_addresses": list(self.ipv6_addresses),
            "prefixes": list(self.prefixes),
        }


@dataclass(frozen=True, slots=True)
class Lease:
    """The DHCPv4 lease Kea holds for a reserved address (its ``lease4`` row), as the inventory shows it."""

    state: str  # Kea's lease_state name: default (leased), declined, expired-reclaimed, ...
    expire: int  # Unix time the lease expires
    valid_lifetime: int  # seconds

    @property
    def last_seen(self) -> int:
        """Unix time of the client's last transmission (Kea's CLTT: expire - valid lifetime)."""
        return self.expire - self.valid_lifetime


@dataclass(frozen=True)
class DesiredReservation:
    """What a task asks for. Data fields left as None keep their current value."""

    key: ReservationKey
    present: bool = True
    ip: str | None = None
    hostname: str | None = None
    client_classes: tuple[str, ...] | None = None
    next_server: str | None = None
    server_hostname: str | None = None
    boot_file_name: str | None = None
    user_context: dict | None = None
    ipv6_addresses: tuple[str, ...] | None = None
    prefixes: tuple[str, ...] | None = None
    source: str = "reservation"  # where it came from, for error messages

    def apply_to(self, current: Reservation | None) -> Reservation:
        """The reservation as it must be after the task; it is marked as managed by the collection."""
        base = current or Reservation(key=self.key)
        changes = {name: getattr(self, name) for name in DATA_FIELDS if getattr(self, name) is not None}
        for name in ("hostname", "next_server", "server_hostname", "boot_file_name"):
            if changes.get(name) == "":
                changes[name] = None  # an empty string clears the column
        context = dict(changes.get("user_context", base.user_context) or {})
        context[MANAGED_KEY] = MANAGED_VALUE
        changes["user_context"] = context
        return replace(base, **changes)


def desired_from_params(params: dict, source: str, defaults: dict | None = None) -> DesiredReservation:
    """Validate one reservation given as module/plugin options; errors name the field and value."""
    defaults = defaults or {}

    def where(name: str) -> str:
        return f"{source}.{name}" if source != "reservation" else name

    is_mac = params.get("mac") is not None  # mac is always a MAC address (EUI-48), whatever hw_address_length says
    if is_mac:
        if params.get("identifier") not in (None, params["mac"]):
            raise InvalidInputError(f"{source}.mac", params["mac"], "give either identifier or its alias mac, not both")
        params = dict(params, identifier=params["mac"])
    if params.get("duid") is not None:  # duid is the identifier of type duid (Kea's type 1), as DHCPv6 clients send it
        if params.get("identifier") not in (None, params["duid"]) or is_mac:
            raise InvalidInputError(where("duid"), params["duid"], "give one of identifier, mac and duid")
        if params.get("identifier_type") not in (None, "duid", 1):
            raise InvalidInputError(where("identifier_type"), params["identifier_type"], "duid is an identifier of type duid")
        params = dict(params, identifier=params["duid"], identifier_type="duid")
    unknown = sorted(set(params) - set(OPTION_NAMES) - {"mac", "duid"})
    if unknown:
        raise InvalidInputError(source, unknown[0], f"unknown option; the options are {', '.join(OPTION_NAMES)} (aliases mac, duid)")

    def pick(name: str) -> object:
        value = params.get(name)
        return defaults.get(name) if value is None else value

    family = pick("family") or 4
    if family not in FAMILIES:
        raise InvalidInputError(where("family"), family, "expected 4 (DHCPv4) or 6 (DHCPv6)")
    for name in FAMILY_FIELDS[family]:
        if params.get(name) not in (None, [], ""):
            other = "6 (DHCPv6)" if family == 4 else "4 (DHCPv4)"
            raise InvalidInputError(where(name), params[name], f"a field of family {other} reservations; this one is family {family}")
    identifier_type = parse_identifier_type(pick("identifier_type") or "hw-address", where("identifier_type"))
    length = pick("hw_address_length")
    hw_address_length = MAC_OCTETS if length is None else parse_hw_address_length(length, where("hw_address_length"))
    if pick("identifier") is None:
        raise InvalidInputError(where("identifier"), None, "the identifier (MAC address) is required")
    if pick("subnet_id") is None:
        raise InvalidInputError(where("subnet_id"), None, "the subnet id is required (0 for a global reservation)")
    if is_mac:
        identifier = parse_mac(pick("identifier"), where("identifier"))
    else:
        identifier = parse_identifier(pick("identifier"), identifier_type, where("identifier"), hw_address_length)
    key = ReservationKey(subnet_id=parse_subnet_id(pick("subnet_id"), where("subnet_id")), identifier_type=identifier_type, identifier=identifier,
                         family=family)
    state = pick("state") or "present"
    if state not in ("present", "absent"):
        raise InvalidInputError(where("state"), state, "expected present or absent")
    values: dict = {}
    if params.get("ip") is not None:
        values["ip"] = parse_ipv4(params["ip"], where("ip"))
    if params.get("hostname") is not None:
        values["hostname"] = parse_hostname(params["hostname"], where("hostname")) if params["hostname"] != "" else ""
    if params.get("client_classes") is not None:
        values["client_classes"] = parse_client_classes(params["client_classes"], where("client_classes"))
    if params.get("next_server") is not None:
        values["next_server"] = parse_ipv4(params["next_server"], where("next_server")) if params["next_server"] != "" else ""
    for name in ("server_hostname", "boot_file_name"):
        if params.get(name) is not None:
            values[name] = parse_text(params[name], where(name))
    if params.get("user_context") is not None:
        values["user_context"] = parse_user_context(params["user_context"], where("user_context"))
    for name, parse in (("ipv6_addresses", parse_ipv6), ("prefixes", parse_ipv6_prefix)):
        if params.get(name) is not None:
            items = params[name]
            if not isinstance(items, (list, tuple)):
                raise InvalidInputError(where(name), items, "expected a list")
            parsed = [parse(item, f"{where(name)}[{index}]") for index, item in enumerate(items)]
            if len(set(parsed)) != len(parsed):
                raise InvalidInputError(where(name), items, "the same value is given twice")
            values[name] = tuple(sorted(parsed))
    return DesiredReservation(key=key, present=state == "present", source=source, **values)
