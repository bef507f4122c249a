# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the fields of a Kea host reservation (DHCPv4 and DHCPv6), checked and converted.

Identifier types as Kea defines them, MAC/identifier <-> bytes, IPv4 <-> Kea's bigint, RFC 1123 hostnames, subnet
ids, client classes, the text fields and the user context. No Ansible, no database: ``model.py`` builds
reservations from these, ``hosts.py`` reads and writes them in Kea's ``hosts`` table.

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

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError

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
DATA_FIELDS = ("ip", "hostname", "client_classes", "next_server", "server_hostname", "boot_file_name", "user_context",
               "ipv6_addresses", "prefixes")
# The fields of one family only: a DHCPv4 reservation has no v6 addresses, a DHCPv6 one no IPv4 address or boot fields.
FAMILY_FIELDS = {4: ("ipv6_addresses", "prefixes"), 6: ("ip", "next_server", "server_hostname", "boot_file_name")}
FAMILIES = (4, 6)
# Options of one reservation (module options and items of a reservations list).
OPTION_NAMES = ("identifier", "identifier_type", "hw_address_length", "subnet_id", "state", "family") + DATA_FIELDS


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


def parse_ipv6(value: object, field_name: str = "ipv6_addresses") -> str:
    """A unicast IPv6 address without a prefix length -> its canonical (compressed, lower-case) form."""
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and "/" in text:
        raise InvalidInputError(field_name, value, "an address has no prefix length; delegated prefixes go in prefixes")
    try:
        address = ipaddress.IPv6Address(text)  # type: ignore[arg-type]
    except (ipaddress.AddressValueError, ValueError, TypeError):
        hint = " (an IPv4 address goes in ip, with family 4)" if isinstance(text, str) and "." in text and ":" not in text else ""
        raise InvalidInputError(field_name, value, f"not a valid IPv6 address{hint}") from None
    if address.is_unspecified or address.is_multicast or address.is_loopback:
        raise InvalidInputError(field_name, value, "not a unicast IPv6 address")
    return str(address)


def parse_ipv6_prefix(value: object, field_name: str = "prefixes") -> str:
    """A delegated IPv6 prefix ``address/length`` (length 1 to 128, no bits set after it) -> canonical form."""
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or "/" not in text:
        raise InvalidInputError(field_name, value, "expected a prefix with its length, such as 2001:db8:1::/56")
    address, _slash, length = text.partition("/")
    if not length.isdigit() or not 1 <= int(length) <= 128:
        raise InvalidInputError(field_name, value, "the prefix length ranges from 1 to 128")
    try:
        network = ipaddress.IPv6Network(f"{address}/{int(length)}")
    except ValueError as exc:
        raise InvalidInputError(field_name, value, f"not a valid IPv6 prefix ({exc})") from None
    return str(network)


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
