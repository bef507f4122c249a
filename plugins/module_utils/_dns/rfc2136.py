# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: RFC 2136 dynamic update (BIND, Knot, PowerDNS, ...) with dnspython.

TSIG (hmac-sha256 by default) over TCP. A batch is one UPDATE message per zone, which the server applies
atomically; when one message would exceed 64 KiB it is sent as several, each atomic, a record and its marker
always in the same one. Reads are one query per RRset on the same TCP connection, whatever the batch size (so a
batch costs what it touches, not what the zone holds); listing a zone is an AXFR with the same key, and a server
that refuses AXFR makes listing (prune, reconcile) fail with a clear message. The connection lives for one batch
(servers close idle TCP connections after a few seconds); one found closed is made again and the message sent once
more. No ownership metadata: the protocol has none
(``owner_txt.py`` adds TXT markers on request).
"""

from __future__ import annotations

import contextlib
import socket
import typing as t
from dataclasses import dataclass, field

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import RECORD_TYPES, Change, DnsBackend, Provider, RRset, RRsetKey, Traits, to_presentation
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.owner_txt import MARKER_LABEL
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import (
    AuthenticationError,
    InvalidInputError,
    KeaDnsError,
    MissingLibraryError,
    NotFoundError,
    TransportError,
)
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import Option

dns: t.Any = None  # dnspython, imported on first use (_libraries): the registry reads every backend's declaration without its client library


def _libraries() -> None:
    global dns
    if dns is None:
        with contextlib.suppress(ImportError):  # reported by Rfc2136Backend()
            import dns.exception
            import dns.message
            import dns.name
            import dns.query
            import dns.rcode
            import dns.rdataclass
            import dns.rdatatype
            import dns.tsig
            import dns.tsigkeyring
            import dns.update
            import dns.xfr
            import dns.zone


class TransferRefusedError(KeaDnsError):
    """The server refused the zone transfer (AXFR)."""


ALGORITHMS = ("hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5")


@dataclass(frozen=True)
class Rfc2136Settings:
    server: str
    port: int
    key_name: str | None
    key_secret: str | None = field(repr=False)
    key_algorithm: str
    timeout: float


MESSAGE_LIMIT = 65535 - 1024  # bytes of an unsigned UPDATE, leaving room for the TSIG record within TCP's 65,535


def _update(zone: str, changes: t.Sequence[Change]) -> t.Any:
    """The UPDATE of ``changes``. A record written where a CNAME is would be dropped by the server without an error
    (RFC 2136 3.4.2.2): each such name has the prerequisite "no CNAME here", so the server refuses the message (YXRRSET)
    instead of answering NOERROR for a record it did not add."""
    update = dns.update.UpdateMessage(zone + ".")
    for change in changes:
        name = change.key.name + "."
        if change.after is not None and change.after.values and change.key.type != "CNAME":
            update.absent(name, "CNAME")
        update.delete(name, change.key.type)
        if change.after is not None:
            for value in change.after.values:
                update.add(name, change.after.ttl, change.key.type, to_presentation(change.key.type, value))
    return update


def _updates(zone: str, changes: list[Change]) -> list[tuple[t.Any, int]]:
    """(UPDATE message, RRsets in it) for ``changes``: one message when it fits MESSAGE_LIMIT, else the changes split
    in two halves at a name boundary, each split again as needed. A name's changes stay together, and so do a record
    and its ownership marker (``_kea-dns.<name>``)."""
    update = _update(zone, changes)
    try:
        size = len(update.to_wire(max_size=65535))
    except dns.exception.TooBig:
        size = 65536
    if size <= MESSAGE_LIMIT or len(changes) < 2:
        return [(update, len(changes))]
    owners: dict[str, list[Change]] = {}
    for change in changes:
        owners.setdefault(change.key.name.removeprefix(MARKER_LABEL + "."), []).append(change)
    groups = list(owners.values())
    if len(groups) < 2:
        return [(update, len(changes))]  # one name's changes cannot be split: the server answers what it can
    half = len(groups) // 2
    return _updates(zone, [c for g in groups[:half] for c in g]) + _updates(zone, [c for g in groups[half:] for c in g])


def _from_rdata(rtype: str, rdata: t.Any) -> str:
    if rtype in ("PTR", "CNAME"):
        return rdata.target.to_text(omit_final_dot=True).lower()
    if rtype == "TXT":
        return b"".join(rdata.strings).decode("utf-8", "replace")
    return rdata.to_text()


class Rfc2136Backend(DnsBackend):
    traits = Traits(name="rfc2136", native_batch=True, ownership=False, can_list_zone=True, release_after_batch=True)

    def __init__(self, settings: Rfc2136Settings) -> None:
        _libraries()
        if dns is None:
            raise MissingLibraryError("dnspython", "dnspython")
        self.settings = settings
        self.where = f"DNS server {settings.server} port {settings.port}"
        self._keyring = None
        if settings.key_name:
            if not settings.key_secret:
                raise InvalidInputError("rfc2136_key_secret", None, "a TSIG key name needs its secret")
            if settings.key_algorithm not in ALGORITHMS:
                raise InvalidInputError("rfc2136_key_algorithm", settings.key_algorithm, f"expected one of {', '.join(ALGORITHMS)}")
            try:
                self._keyring = dns.tsigkeyring.from_text({settings.key_name: (settings.key_algorithm, settings.key_secret)})
            except (ValueError, TypeError, dns.exception.DNSException):
                raise InvalidInputError("rfc2136_key_secret", "(hidden)", "not a valid base64 TSIG secret") from None
        self._algorithm = dns.name.from_text(settings.key_algorithm)
        self._sock: socket.socket | None = None  # the TCP connection of the current batch

    def _sign(self, message: t.Any) -> t.Any:
        if self._keyring is not None:
            message.use_tsig(self._keyring, keyname=self.settings.key_name, algorithm=self._algorithm)
        return message

    def _exchange(self, message: t.Any) -> t.Any:
        """``message`` on the batch's TCP connection; one the server closed since its last use is made again once (a
        query or this collection's update gives the same result when sent twice)."""
        for attempt in range(2):
            reused = self._sock is not None
            if self._sock is None:
                self._sock = socket.create_connection((self.settings.server, self.settings.port), timeout=self.settings.timeout)
            try:
                return dns.query.tcp(message, self.settings.server, port=self.settings.port, timeout=self.settings.timeout,
                                     sock=self._sock)
            except (ConnectionError, EOFError):
                self.close()
                if attempt or not reused:
                    raise
            except BaseException:
                self.close()
                raise
        raise AssertionError("unreachable")

    def _send(self, message: t.Any, what: str) -> t.Any:
        try:
            return self._exchange(message)
        except (dns.exception.Timeout, TimeoutError):
            raise TransportError(f"{self.where} did not answer within {self.settings.timeout} s ({what})") from None
        except dns.tsig.PeerError as exc:
            raise AuthenticationError(f"{self.where} rejected the TSIG key {self.settings.key_name!r} ({what}): {exc}; a wrong key, "
                                      "or a key not allowed this update (Knot answers an ACL update-type refusal this way)") from None
        except (OSError, EOFError, dns.exception.DNSException) as exc:
            raise TransportError(f"{self.where} is unreachable ({what}): {exc.__class__.__name__}: {exc}") from None

    def _check(self, response: t.Any, what: str) -> None:
        rcode = response.rcode()
        if rcode == dns.rcode.NOERROR:
            return
        text = dns.rcode.to_text(rcode)
        if rcode in (dns.rcode.NOTAUTH, dns.rcode.REFUSED):
            raise AuthenticationError(f"{self.where} answered {text} to {what}: check the TSIG key and the zone's update policy")
        if rcode == dns.rcode.NOTZONE:
            raise NotFoundError(f"{self.where} answered NOTZONE to {what}: the name is not in that zone")
        if rcode == dns.rcode.YXRRSET:  # the only prerequisite sent: no CNAME where a record is written
            raise KeaDnsError(f"{self.where} refused {what} (YXRRSET): a CNAME holds a name it writes, and no other record may share it")
        raise KeaDnsError(f"{self.where} answered {text} to {what}")

    def find_zone(self, name: str) -> str:
        """Ask the server: the SOA in the answer or authority section names the zone holding ``name``."""
        query = self._sign(dns.message.make_query(name + ".", dns.rdatatype.SOA))
        response = self._send(query, f"finding the zone of {name}")
        if response.rcode() == dns.rcode.REFUSED:
            raise NotFoundError(f"{self.where} is not authoritative for {name} (REFUSED)")
        for section in (response.answer, response.authority):
            for rrset in section:
                if rrset.rdtype == dns.rdatatype.SOA:
                    return rrset.name.to_text(omit_final_dot=True).lower()
        raise NotFoundError(f"{self.where} holds no zone for {name}")

    def get(self, zone: str, keys: t.Collection[RRsetKey]) -> dict[RRsetKey, RRset]:
        """One query per RRset, on the batch's connection."""
        found = {}
        for key in keys:
            query = self._sign(dns.message.make_query(key.name + ".", key.type))
            response = self._send(query, f"reading {key.label()}")
            if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                self._check(response, f"reading {key.label()}")
            for rrset in response.answer:
                if rrset.rdtype == dns.rdatatype.from_text(key.type) and rrset.name.to_text(omit_final_dot=True).lower() == key.name:
                    found[key] = RRset(zone, key, tuple(sorted(_from_rdata(key.type, r) for r in rrset)), rrset.ttl)
        return found

    def list_zone(self, zone: str) -> list[RRset]:
        try:
            result = dns.zone.Zone(zone + ".")
            dns.query.inbound_xfr(self.settings.server, result, port=self.settings.port, timeout=self.settings.timeout,
                                  lifetime=self.settings.timeout * 6,
                                  query=self._sign(dns.message.make_query(zone + ".", dns.rdatatype.AXFR)))
        except dns.xfr.TransferError as exc:
            raise TransferRefusedError(f"{self.where} refused the zone transfer (AXFR) of {zone} ({exc}); listing the zone "
                                       "(prune, reconcile) needs AXFR allowed for the TSIG key") from None
        except dns.exception.Timeout:
            raise TransportError(f"{self.where} did not answer the zone transfer of {zone} within {self.settings.timeout} s") from None
        except (OSError, EOFError, dns.exception.DNSException) as exc:
            raise TransportError(f"{self.where}: zone transfer of {zone} failed: {exc.__class__.__name__}: {exc}") from None
        rrsets = []
        for name, node in result.nodes.items():
            owner = name.derelativize(result.origin).to_text(omit_final_dot=True).lower()
            for rdataset in node.rdatasets:
                rtype = dns.rdatatype.to_text(rdataset.rdtype)
                if rtype in RECORD_TYPES:
                    rrsets.append(RRset(zone, RRsetKey(owner, rtype), tuple(sorted(_from_rdata(rtype, r) for r in rdataset)), rdataset.ttl))
        return rrsets

    def apply(self, zone: str, changes: t.Sequence[Change]) -> None:
        """One UPDATE message, or as few as fit when the changes are more than one message holds (a DNS message over
        TCP is at most 65,535 bytes: about 600 records with their TXT markers). Each message is atomic, and a record
        and its marker always go in the same one."""
        messages = _updates(zone, list(changes))
        for number, (update, count) in enumerate(messages, 1):
            what = f"the update of zone {zone} ({count} RRsets" + (f", message {number} of {len(messages)})" if len(messages) > 1 else ")")
            self._check(self._send(self._sign(update), what), what)

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()


OPTIONS = (
    Option("rfc2136_server", default="127.0.0.1", help="RFC 2136 server address", env=("RFC2136_SERVER",)),
    Option("rfc2136_port", "int", 53, "RFC 2136 server port", env=("RFC2136_PORT",)),
    Option("rfc2136_key_name", help="TSIG key name", env=("RFC2136_KEY_NAME",)),
    Option("rfc2136_key_secret", help="TSIG key secret (base64)", env=("RFC2136_KEY_SECRET",), secret=True),
    Option("rfc2136_key_algorithm", default="hmac-sha256", help="TSIG algorithm", choices=ALGORITHMS, env=("RFC2136_KEY_ALGORITHM",)),
)


def make(options: t.Mapping[str, t.Any]) -> DnsBackend:
    return Rfc2136Backend(Rfc2136Settings(
        server=options["rfc2136_server"], port=int(options["rfc2136_port"]), key_name=options["rfc2136_key_name"],
        key_secret=options["rfc2136_key_secret"], key_algorithm=options["rfc2136_key_algorithm"], timeout=float(options["dns_timeout"])))


PROVIDER = Provider("rfc2136", OPTIONS, make, vault_keys={"key_secret": "rfc2136_key_secret"},
                    optional_vault_keys={"key_name": "rfc2136_key_name"})
