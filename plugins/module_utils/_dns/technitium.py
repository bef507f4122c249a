# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: Technitium DNS Server through its HTTP API.

The token always travels in the POST form body (never in a URL). Every answer is HTTP 200: the
``status`` field says what happened. Technitium has no batch call, so changes are applied one call
at a time; its add and delete are not idempotent ("record already exists", "no such record
exists"), so every RRset is written from what was read: the first value replaces the RRset
(``overwrite=true``), the others are appended. Deleting an A/AAAA also deletes its PTR on the
server; a later delete of that PTR counts as already done. Ownership is the record comment.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns import http
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import RECORD_TYPES, Change, DnsBackend, Provider, RRset, RRsetKey, Traits, longest_zone
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.ownership import format_mark, parse_mark
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import (
    AuthenticationError,
    InvalidInputError,
    KeaDnsError,
    NotFoundError,
    PartiallyAppliedError,
    TransportError,
)
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import Option

RDATA_KEY = {"A": "ipAddress", "AAAA": "ipAddress", "PTR": "ptrName", "CNAME": "cname", "TXT": "text"}
ALREADY_ABSENT = "no such record exists"
READ_PARALLEL = 4  # per-name reads of one batch in flight at once


@dataclass(frozen=True)
class TechnitiumSettings:
    api_url: str
    token: str | None = field(repr=False)
    timeout: float
    validate_certs: bool


def _record_from_json(data: dict) -> tuple[RRsetKey, str, int, str | None] | None:
    rtype = data.get("type")
    if rtype not in RECORD_TYPES or data.get("disabled"):
        return None
    value = str(data.get("rData", {}).get(RDATA_KEY[rtype], ""))
    if rtype in ("PTR", "CNAME"):
        value = value.rstrip(".").lower()
    return RRsetKey(data["name"].rstrip(".").lower(), rtype), value, int(data.get("ttl", 0)), _owner(data.get("comments"))


def _owner(comments: object) -> str | None:
    mark = parse_mark(comments)
    return mark.owner if mark else None


class TechnitiumBackend(DnsBackend):
    traits = Traits(name="technitium", native_batch=False, ownership=True, can_list_zone=True, rate_limit=10.0)

    def __init__(self, settings: TechnitiumSettings) -> None:
        if not settings.token:
            raise InvalidInputError("technitium_token", None, "the Technitium API token is required (option technitium_token or TECHNITIUM_TOKEN)")
        self.settings = settings
        self.where = f"Technitium at {settings.api_url}"
        self._session = http.session(settings.validate_certs)
        self._zones: list[str] | None = None

    def _call(self, path: str, what: str, **form: t.Any) -> dict:
        form = {key: value for key, value in form.items() if value is not None}
        form["token"] = self.settings.token
        response = http.send(self._session, "POST", f"{self.settings.api_url.rstrip('/')}/api/{path}", self.settings.timeout,
                             self.where, what, data=form)
        try:
            body = response.json()
        except ValueError:
            raise TransportError(f"{self.where} answered {what} with HTTP {response.status_code} and no JSON") from None
        status = body.get("status")
        if status == "ok":
            return body.get("response") or {}
        message = body.get("errorMessage", status)
        if status in ("invalid-token", "2fa-required") or "Access was denied" in str(message):
            raise AuthenticationError(f"{self.where} rejected the API token ({what}): {message}")
        if "No such zone" in str(message):
            raise NotFoundError(f"{self.where}: {what}: {message}")
        raise KeaDnsError(f"{self.where} refused {what}: {message}")

    def zones(self) -> list[str]:
        if self._zones is None:
            listed = self._call("zones/list", "listing zones").get("zones", [])
            self._zones = [z["name"].lower() for z in listed if not z.get("internal") and z.get("type") in ("Primary", "Forwarder")]
        return self._zones

    def find_zone(self, name: str) -> str:
        return longest_zone(name, self.zones(), self.where)

    def _read(self, zone: str, domain: str, whole_zone: bool) -> list[RRset]:
        records = self._call("zones/records/get", f"reading {domain}", domain=domain, zone=zone,
                             listZone="true" if whole_zone else "false").get("records", [])
        grouped: dict[RRsetKey, dict] = {}
        for data in records:
            parsed = _record_from_json(data)
            if parsed is not None:
                key, value, ttl, owner = parsed
                entry = grouped.setdefault(key, {"values": [], "ttl": ttl, "owner": owner})
                entry["values"].append(value)
        return [RRset(zone, key, tuple(sorted(e["values"])), e["ttl"], owner=e["owner"]) for key, e in grouped.items()]

    def get(self, zone: str, keys: t.Collection[RRsetKey]) -> dict[RRsetKey, RRset]:
        """One read per name (a few in parallel), whatever their number: the cost of a batch does not grow with the zone."""
        wanted = set(keys)
        names = sorted({key.name for key in wanted})
        read = http.parallel(lambda name: self._read(zone, name, False), names, READ_PARALLEL)
        return {r.key: r for rrsets in read for r in rrsets if r.key in wanted}

    def list_zone(self, zone: str) -> list[RRset]:
        return self._read(zone, zone, True)

    def _delete(self, zone: str, key: RRsetKey, value: str | None) -> None:
        try:
            self._call("zones/records/delete", f"deleting {key.label()}", domain=key.name, zone=zone, type=key.type,
                       value=None if key.type == "CNAME" else value)
        except KeaDnsError as exc:
            if ALREADY_ABSENT not in str(exc):  # e.g. a PTR the server removed with its A record
                raise

    def _write(self, zone: str, rrset: RRset) -> None:
        for index, value in enumerate(rrset.values):
            self._call("zones/records/add", f"writing {rrset.key.label()}", domain=rrset.key.name, zone=zone, type=rrset.key.type,
                       ttl=rrset.ttl, value=value, overwrite="true" if index == 0 else "false",
                       comments=format_mark(rrset.owner, rrset.origin) if rrset.owner else None)

    def apply(self, zone: str, changes: t.Sequence[Change]) -> None:
        done: list[str] = []
        for change in changes:
            try:
                if change.after is None:
                    for value in change.before.values:  # type: ignore[union-attr]
                        self._delete(zone, change.key, value)
                else:
                    self._write(zone, change.after)
            except KeaDnsError as exc:
                raise PartiallyAppliedError(exc, done) from None
            done.append(change.label())

    def close(self) -> None:
        self._session.close()


OPTIONS = (
    Option("technitium_api_url", default="http://127.0.0.1:5380", help="Technitium API URL", env=("TECHNITIUM_API_URL",)),
    Option("technitium_token", help="Technitium API token", env=("TECHNITIUM_TOKEN",), secret=True),
    Option("technitium_validate_certs", "bool", True, "verify the Technitium API certificate"),
)


def make(options: t.Mapping[str, t.Any]) -> DnsBackend:
    return TechnitiumBackend(TechnitiumSettings(api_url=options["technitium_api_url"], token=options["technitium_token"],
                                                timeout=float(options["dns_timeout"]), validate_certs=options["technitium_validate_certs"]))


PROVIDER = Provider("technitium", OPTIONS, make, vault_keys={"token": "technitium_token"})
