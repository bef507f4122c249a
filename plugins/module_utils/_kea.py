# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: what a Kea DHCPv4 host reservation is.

The plain data model (no Ansible, no database): identifier types as Kea
defines them, MAC/identifier <-> bytes, IPv4 <-> Kea's bigint, RFC 1123
hostnames, subnet ids, and the plan that turns a desired set of reservations
into creates, updates and deletes. ``_kea_hosts`` reads and writes the model
in Kea's ``hosts`` table.

Identifier types are Kea's ``host_identifier_type`` table: a MAC address is
``hw-address`` = 0. Type 1 is a DUID: a MAC written with type 1 never matches
a DHCPv4 client's hardware address, which is why the collection writes 0.

A ``hw-address`` identifier is a MAC address (EUI-48, 6 octets) unless the task
says otherwise with ``hw_address_length`` (Kea stores hardware addresses of 1
to 20 octets, for example 20 for InfiniBand): a 5-octet "MAC" is a typo that no
Ethernet client can ever present, so it is refused, never written.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from dataclasses import dataclass, field, replace

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import ConflictError, InvalidInputError

IDENTIFIER_TYPES = {"hw-address": 0, "duid": 1, "circuit-id": 2, "client-id": 3, "flex-id": 4}
IDENTIFIER_TYPE_NAMES = {number: name for name, number in IDENTIFIER_TYPES.items()}
# Longest identifier Kea accepts per type (Host::getIdentifierMaxLength).
IDENTIFIER_MAX_BYTES = {0: 20, 1: 128, 2: 128, 3: 128, 4: 128}

SUBNET_ID_MAX = 4294967294  # SubnetID is uint32; 0 = global reservation, 2**32 - 1 = "unused"
HOSTNAME_MAX = 253
LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
HEX_SEPARATORS_RE = re.compile(r"[:\-.]")
MAC_OCTETS = 6  # a MAC address is an EUI-48
# The usual notations of a MAC address: aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff, aabbccddeeff.
MAC_RE = re.compile(r"[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}|[0-9a-f]{12}", re.IGNORECASE)
MAC_NOTATIONS = "aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff or aabbccddeeff"

# Marker in user_context of every reservation this collection writes; prune
# and later reconcile touch only reservations that carry it.
MANAGED_KEY = "managed-by"
MANAGED_VALUE = "ddi.kea_dns"

# Text columns and their length limits in Kea's schema.
TEXT_LIMITS = {"hostname": 255, "server_hostname": 64, "boot_file_name": 128, "client_classes": 255}

# Fields a reservation carries besides its identity, in output order.
DATA_FIELDS = ("ip", "hostname", "client_classes", "next_server", "server_hostname", "boot_file_name", "user_context")
# Options of one reservation (module options and items of a reservations list).
OPTION_NAMES = ("identifier", "identifier_type", "hw_address_length", "subnet_id", "state") + DATA_FIELDS


def _hex_bytes(value: object, identifier_type: int, field_name: str) -> bytes:
    """Hex digit pairs, with or without separators (``:``, ``-``, ``.``) -> bytes."""
    if not isinstance(value, str) or not value:
        raise InvalidInputError(field_name, value, "expected a MAC address or hex string such as aa:bb:cc:dd:ee:ff")
    digits = HEX_SEPARATORS_RE.sub("", value.strip())
    if len(digits) % 2 or not re.fullmatch(r"[0-9a-fA-F]+", digits):
        what = "MAC address" if identifier_type == 0 else "hex identifier"
        raise InvalidInputError(field_name, value, f"not a valid {what} (expected hex digit pairs such as aa:bb:cc:dd:ee:ff)")
    return bytes.fromhex(digits)


def parse_mac(value: object, field_name: str = "mac") -> bytes:
    """A MAC address (EUI-48): exactly 6 octets in one of the usual notations, any case -> bytes."""
    raw = _hex_bytes(value, 0, field_name)
    if len(raw) != MAC_OCTETS:
        raise InvalidInputError(field_name, value, f"{len(raw)} octets; a MAC address (EUI-48) has {MAC_OCTETS} "
                                                   "(a hardware address of another length is given as identifier with hw_address_length)")
    if not MAC_RE.fullmatch(str(value).strip()):
        raise InvalidInputError(field_name, value, f"not a MAC address notation (expected {MAC_NOTATIONS})")
    return raw


def parse_hw_address_length(value: object, field_name: str = "hw_address_length") -> int:
    """How many octets a hw-address identifier has: 1 to Kea's 20 (6 is a MAC address)."""
    limit = IDENTIFIER_MAX_BYTES[0]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise InvalidInputError(field_name, value, f"a hardware address has 1 to {limit} octets in Kea ({MAC_OCTETS} for a MAC address)")
    return value


def parse_identifier(value: object, identifier_type: int, field_name: str = "identifier", hw_address_length: int | None = MAC_OCTETS) -> bytes:
    """An identifier of ``identifier_type`` -> bytes; the one parser of identifiers and MAC addresses.

    For ``hw-address`` (type 0), ``hw_address_length`` says how many octets it has: 6 (the default) is a MAC address
    (EUI-48, parse_mac: the usual notations only); another number is a hardware address of exactly that many octets
    given as hex digit pairs; None takes any length Kea stores (a lookup of what is there). Other types are hex
    bytes up to Kea's limit for the type.
    """
    if identifier_type == 0 and hw_address_length == MAC_OCTETS:
        return parse_mac(value, field_name)
    raw = _hex_bytes(value, identifier_type, field_name)
    if identifier_type == 0 and hw_address_length is not None and len(raw) != hw_address_length:
        raise InvalidInputError(field_name, value, f"{len(raw)} octets; hw_address_length is {hw_address_length}")
    limit = IDENTIFIER_MAX_BYTES[identifier_type]
    if len(raw) > limit:
        raise InvalidInputError(field_name, value, f"{len(raw)} bytes is longer than the {limit} bytes Kea allows for {IDENTIFIER_TYPE_NAMES[identifier_type]}")
    return raw


def format_identifier(raw: bytes) -> str:
    """bytes -> lower-case colon-separated hex, the form Kea prints."""
    return raw.hex(":")


def parse_identifier_type(value: object, field_name: str = "identifier_type") -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value in IDENTIFIER_TYPE_NAMES:
        return value
    if isinstance(value, str) and value in IDENTIFIER_TYPES:
        return IDENTIFIER_TYPES[value]
    raise InvalidInputError(field_name, value, f"expected one of {', '.join(IDENTIFIER_TYPES)}")


def parse_ipv4(value: object, field_name: str = "ip") -> str:
    """Validate a unicast IPv4 address and return it in canonical dotted form."""
    try:
        address = ipaddress.IPv4Address(str(value).strip()) if isinstance(value, str) else ipaddress.IPv4Address(value)  # type: ignore[arg-type]
    except (ipaddress.AddressValueError, ValueError, TypeError):
        raise InvalidInputError(field_name, value, "not a valid IPv4 address") from None
    if address.is_unspecified or address.is_multicast or int(address) == 0xFFFFFFFF:
        raise InvalidInputError(field_name, value, "not a unicast IPv4 address")
    return str(address)


def ipv4_to_int(address: str | None) -> int | None:
    return None if address is None else int(ipaddress.IPv4Address(address))


def int_to_ipv4(number: int | None) -> str | None:
    """Kea stores IPv4 as bigint; 0 or NULL mean "no address"."""
    return socket.inet_ntoa(int(number).to_bytes(4, "big")) if number else None


def parse_subnet_id(value: object, field_name: str = "subnet_id") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value), 10)
        except ValueError:
            raise InvalidInputError(field_name, value, "expected an integer subnet id") from None
    if not 0 <= value <= SUBNET_ID_MAX:
        raise InvalidInputError(field_name, value, f"subnet ids range from 0 (global reservation) to {SUBNET_ID_MAX}")
    return value


def parse_hostname(value: object, field_name: str = "hostname") -> str:
    """RFC 1123 host name (labels of letters, digits and inner hyphens), lower-cased."""
    if not isinstance(value, str) or not value:
        raise InvalidInputError(field_name, value, "expected a non-empty host name")
    name = value.lower()
    if len(name) > HOSTNAME_MAX:
        raise InvalidInputError(field_name, value, f"{len(name)} characters is longer than {HOSTNAME_MAX}")
    for label in name.split("."):
        if not label:
            raise InvalidInputError(field_name, value, "empty label (leading, trailing or double dot)")
        if len(label) > 63:
            raise InvalidInputError(field_name, value, f"label {label[:20]!r}... is {len(label)} characters, longer than 63")
        if not LABEL_RE.fullmatch(label):
            raise InvalidInputError(field_name, value, f"label {label!r} may hold only letters, digits and inner hyphens (RFC 1123)")
    return name


def parse_client_classes(value: object, field_name: str = "client_classes") -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise InvalidInputError(field_name, value, "expected a list of client class names")
    classes = tuple(str(item).strip() for item in items if str(item).strip())
    for name in classes:
        if "," in name:
            raise InvalidInputError(field_name, name, "a client class name cannot contain a comma")
    if len(",".join(classes)) > TEXT_LIMITS["client_classes"]:
        raise InvalidInputError(field_name, value, f"longer than the {TEXT_LIMITS['client_classes']} characters Kea stores")
    return classes


def parse_text(value: object, field_name: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(field_name, value, "expected a string")
    if len(value) > TEXT_LIMITS[field_name]:
        raise InvalidInputError(field_name, value, f"longer than the {TEXT_LIMITS[field_name]} characters Kea stores")
    if any(ord(char) < 32 for char in value):
        raise InvalidInputError(field_name, value, "control characters are not allowed")
    return value


def parse_user_context(value: object, field_name: str = "user_context") -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise InvalidInputError(field_name, value, f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidInputError(field_name, value, "Kea requires a JSON object (a map)")
    return value


@dataclass(frozen=True, order=True, slots=True)
class ReservationKey:
    """Kea's identity of a DHCPv4 reservation (unique index key_dhcp4_identifier_subnet_id)."""

    subnet_id: int
    identifier_type: int
    identifier: bytes

    def label(self) -> str:
        return f"subnet {self.subnet_id} {IDENTIFIER_TYPE_NAMES[self.identifier_type]} {format_identifier(self.identifier)}"


@dataclass(frozen=True, slots=True)
class Reservation:
    """One DHCPv4 host reservation, in canonical Python types."""

    key: ReservationKey
    ip: str | None = None
    hostname: str | None = None
    client_classes: tuple[str, ...] = ()
    next_server: str | None = None
    server_hostname: str | None = None
    boot_file_name: str | None = None
    user_context: dict | None = field(default=None, compare=True, hash=False)
    host_id: int | None = field(default=None, compare=False)

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
    is_mac = params.get("mac") is not None  # mac is always a MAC address (EUI-48), whatever hw_address_length says
    if is_mac:
        if params.get("identifier") not in (None, params["mac"]):
            raise InvalidInputError(f"{source}.mac", params["mac"], "give either identifier or its alias mac, not both")
        params = dict(params, identifier=params["mac"])
    unknown = sorted(set(params) - set(OPTION_NAMES) - {"mac"})
    if unknown:
        raise InvalidInputError(source, unknown[0], f"unknown option; the options are {', '.join(OPTION_NAMES)} (alias mac)")

    def pick(name: str) -> object:
        value = params.get(name)
        return defaults.get(name) if value is None else value

    def where(name: str) -> str:
        return f"{source}.{name}" if source != "reservation" else name

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
    key = ReservationKey(subnet_id=parse_subnet_id(pick("subnet_id"), where("subnet_id")), identifier_type=identifier_type, identifier=identifier)
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
    return DesiredReservation(key=key, present=state == "present", source=source, **values)


@dataclass
class Plan:
    """Changes that bring the hosts table to the desired state."""

    create: list[Reservation] = field(default_factory=list)
    update: list[tuple[Reservation, Reservation]] = field(default_factory=list)  # (before, after)
    delete: list[Reservation] = field(default_factory=list)
    unchanged: int = 0

    def __bool__(self) -> bool:
        return bool(self.create or self.update or self.delete)

    def summary(self) -> dict:
        return {"created": len(self.create), "updated": len(self.update), "deleted": len(self.delete), "unchanged": self.unchanged}

    def changes(self) -> list[dict]:
        """One short line of data per changed reservation (full before/after is in diff())."""
        def brief(reservation: Reservation, action: str) -> dict:
            return {"action": action, "subnet_id": reservation.key.subnet_id, "identifier": format_identifier(reservation.key.identifier),
                    "ip": reservation.ip, "hostname": reservation.hostname}
        return ([brief(r, "create") for r in self.create] + [brief(new, "update") for _old, new in self.update]
                + [brief(r, "delete") for r in self.delete])

    def diff(self) -> dict:
        """Before/after of every reservation the plan touches, keyed by its identity."""
        before: dict = {}
        after: dict = {}
        for reservation in self.delete:
            before[reservation.key.label()] = reservation.to_dict()
        for old, new in self.update:
            before[old.key.label()] = old.to_dict()
            after[new.key.label()] = new.to_dict()
        for reservation in self.create:
            after[reservation.key.label()] = reservation.to_dict()
        return {"before": before, "after": after}


def plan_reservations(
    current: list[Reservation],
    desired: list[DesiredReservation],
    prune_subnet_ids: set[int] | None = None,
    ip_conflict: str = "fail",
) -> Plan:
    """Compare desired with current; raise on duplicates and IP conflicts (unless ip_conflict=replace).

    ``current`` must hold every reservation of the subnets the desired items and
    ``prune_subnet_ids`` name, so that conflicts and prune see the whole subnet.
    """
    by_key = {reservation.key: reservation for reservation in current}
    wanted: dict[ReservationKey, DesiredReservation] = {}
    for item in desired:
        if item.key in wanted:
            raise InvalidInputError(item.source, item.key.label(), f"the same reservation is also given as {wanted[item.key].source}")
        wanted[item.key] = item

    plan = Plan()
    final: dict[ReservationKey, Reservation] = dict(by_key)
    for key, item in wanted.items():
        existing = by_key.get(key)
        if not item.present:
            if existing is not None:
                plan.delete.append(existing)
                del final[key]
            else:
                plan.unchanged += 1
            continue
        target = item.apply_to(existing)
        final[key] = target
        if existing is None:
            plan.create.append(target)
        elif target != existing:
            plan.update.append((existing, target))
        else:
            plan.unchanged += 1

    if prune_subnet_ids:
        for key, reservation in by_key.items():
            if key.subnet_id in prune_subnet_ids and reservation.managed and key not in wanted:
                plan.delete.append(reservation)
                del final[key]

    _resolve_ip_conflicts(plan, final, wanted, ip_conflict)
    return plan


def _resolve_ip_conflicts(plan: Plan, final: dict[ReservationKey, Reservation], wanted: dict, ip_conflict: str) -> None:
    """Kea's schema lets two hosts reserve one IPv4 in a subnet; the collection does not."""
    holders: dict[tuple[int, str], list[Reservation]] = {}
    for reservation in final.values():
        if reservation.ip is not None:
            holders.setdefault((reservation.key.subnet_id, reservation.ip), []).append(reservation)
    for (subnet_id, ip), group in holders.items():
        ours = [r for r in group if r.key in wanted]
        if len(group) < 2 or not ours:
            continue
        if len(ours) > 1:
            sources = " and ".join(wanted[r.key].source for r in ours)
            raise InvalidInputError("ip", ip, f"given to more than one reservation in subnet {subnet_id} ({sources})")
        others = [r for r in group if r.key not in wanted]
        if ip_conflict != "replace":
            taken = ", ".join(f"{r.key.label()} (hostname {r.hostname})" for r in others)
            raise ConflictError(
                f"ip: {ip} in subnet {subnet_id} is already reserved for {taken}; "
                f"{wanted[ours[0].key].source} would reserve it again. Set ip_conflict=replace to take it over"
            )
        plan.delete.extend(others)
