# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: PowerDNS Authoritative through its HTTP API (X-API-Key).

A batch is one PATCH per zone, which PowerDNS applies atomically; its reads are filtered GETs of the RRsets it
touches. Ownership is an RRset comment (``account`` = ddi.kea_dns), or with ``comments=False`` the TXT markers of
``owner_txt.py`` (PowerDNS's reads list every comment of the zone, so comments make them cost in proportion to the
zone). PTRs are ordinary RRsets in the reverse zone.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns import http
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import (
    RECORD_TYPES,
    Change,
    DnsBackend,
    Provider,
    RRset,
    RRsetKey,
    Traits,
    longest_zone,
    to_presentation,
)
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.owner_txt import OwnerTxtBackend
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.ownership import DEFAULT_OWNER, format_mark, parse_mark
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import AuthenticationError, InvalidInputError, KeaDnsError, NotFoundError, TransportError
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import Option

OWNER_ACCOUNT = "ddi.kea_dns"
READ_PARALLEL = 4  # filtered GETs of one batch in flight at once
# PowerDNS answers every read, also one filtered to a single RRset, after listing all comments of the zone (upstream
# issue 14357). With comments as the ownership mark, one filtered GET costs about half a whole-zone GET, so a batch
# touching more RRsets of one zone than this reads the zone once. Without comments (ownership in TXT markers) a
# filtered GET costs the same at any zone size, and a batch is always read RRset by RRset.
FILTERED_GET_LIMIT_WITH_COMMENTS = 2


@dataclass(frozen=True)
class PowerDnsSettings:
    api_url: str
    api_key: str | None = field(repr=False)
    server_id: str
    timeout: float
    validate_certs: bool
    comments: bool  # ownership as the RRset comment; False: TXT markers (owner_txt.py) mark it


def _from_content(rtype: str, content: str) -> str:
    if rtype in ("PTR", "CNAME"):
        return content.rstrip(".").lower()
    if rtype == "TXT":
        inner = content[1:-1] if content.startswith('"') and content.endswith('"') else content
        return inner.replace('\\"', '"').replace("\\\\", "\\")
    return content


def _rrset_from_json(zone: str, data: dict) -> RRset:
    rtype = data["type"]
    records = data.get("records", [])
    if len(records) == 1:  # most RRsets: no generator and sort (a listing of 200,000 RRsets spent 1.5 s here)
        values = () if records[0].get("disabled") else (_from_content(rtype, records[0]["content"]),)
    else:
        values = tuple(sorted(_from_content(rtype, r["content"]) for r in records if not r.get("disabled")))
    owner = None
    for comment in data.get("comments") or ():
        if comment.get("account") == OWNER_ACCOUNT:
            mark = parse_mark(comment.get("content"))
            owner = mark.owner if mark else DEFAULT_OWNER
            break
    return RRset(zone, RRsetKey(data["name"].rstrip(".").lower(), rtype), values, int(data.get("ttl", 0)), owner=owner)


def _rrset_to_json(change: Change, comments: bool) -> dict:
    key = change.key
    if change.after is None or not change.after.values:
        return {"name": key.name + ".", "type": key.type, "changetype": "DELETE"}
    after = change.after
    body = {"name": key.name + ".", "type": key.type, "ttl": after.ttl, "changetype": "REPLACE",
            "records": [{"content": to_presentation(key.type, v), "disabled": False} for v in after.values]}
    if after.owned:  # with TXT markers, an ownership comment of the comment mode is removed
        body["comments"] = [{"content": format_mark(after.owner, after.origin), "account": OWNER_ACCOUNT}] if comments else []
    return body


class PowerDnsBackend(DnsBackend):
    # A reconcile PATCH of 3000 changes is about 0.95 MB with comments (310 bytes an RRset) and 1.3 MB with TXT markers
    # (a record and its marker, about 420 bytes), under PowerDNS's default webserver-max-bodysize of 2 MB; each PATCH
    # costs about 10 ms beyond its records (rectify, cache flush), so fewer are faster.
    traits = Traits(name="powerdns", native_batch=True, ownership=True, can_list_zone=True, batch_rows=1000, reconcile_chunk=3000)

    def __init__(self, settings: PowerDnsSettings) -> None:
        if not settings.api_key:
            raise InvalidInputError("powerdns_api_key", None, "the PowerDNS API key is required (option powerdns_api_key or PDNS_API_KEY)")
        self.settings = settings
        self.base = f"{settings.api_url.rstrip('/')}/api/v1/servers/{settings.server_id}"
        self.where = f"PowerDNS at {settings.api_url}"
        self._session = http.session(settings.validate_certs, {"X-API-Key": settings.api_key, "Accept": "application/json"})
        self._zones: list[str] | None = None

    def _request(self, method: str, path: str, what: str, **kwargs: t.Any) -> t.Any:
        response = http.send(self._session, method, self.base + path, self.settings.timeout, self.where, what, **kwargs)
        if response.status_code in (401, 403):
            raise AuthenticationError(f"{self.where} rejected the API key ({what})")
        if response.status_code == 404:
            raise NotFoundError(f"{self.where}: {what}: not found")
        if response.status_code >= 500:  # the server failed (e.g. its database was busy): worth retrying
            raise TransportError(f"{self.where} failed {what} (HTTP {response.status_code})")
        if response.status_code >= 400:
            try:
                reason = response.json().get("error", response.text)
            except ValueError:
                reason = response.text.strip()[:200]
            raise KeaDnsError(f"{self.where} refused {what} (HTTP {response.status_code}): {reason}")
        return response.json() if response.content else None

    def zones(self) -> list[str]:
        if self._zones is None:
            self._zones = [z["name"].rstrip(".").lower() for z in self._request("GET", "/zones", "listing zones")]
        return self._zones

    def find_zone(self, name: str) -> str:
        return longest_zone(name, self.zones(), self.where)

    def _zone_path(self, zone: str) -> str:
        return f"/zones/{zone}."

    def get(self, zone: str, keys: t.Collection[RRsetKey]) -> dict[RRsetKey, RRset]:
        """One filtered GET per RRset (a few in parallel); with comments, the whole zone once for more than
        FILTERED_GET_LIMIT_WITH_COMMENTS of them."""
        if self.settings.comments and len(keys) > FILTERED_GET_LIMIT_WITH_COMMENTS:
            wanted = set(keys)
            return {r.key: r for r in self.list_zone(zone) if r.key in wanted}

        def read(key: RRsetKey) -> RRset | None:
            data = self._request("GET", self._zone_path(zone), f"reading {key.label()}",
                                 params={"rrset_name": key.name + ".", "rrset_type": key.type})
            for rrset in data.get("rrsets", []):
                record = _rrset_from_json(zone, rrset)
                if record.key == key and record.values:
                    return record
            return None
        return {r.key: r for r in http.parallel(read, list(keys), READ_PARALLEL) if r is not None}

    def list_zone(self, zone: str) -> list[RRset]:
        data = self._request("GET", self._zone_path(zone), f"reading zone {zone}")
        rrsets = [_rrset_from_json(zone, r) for r in data.get("rrsets", []) if r["type"] in RECORD_TYPES]
        return [r for r in rrsets if r.values]

    def apply(self, zone: str, changes: t.Sequence[Change]) -> None:
        if changes:
            self._request("PATCH", self._zone_path(zone), f"updating zone {zone} ({len(changes)} RRsets)",
                          json={"rrsets": [_rrset_to_json(c, self.settings.comments) for c in changes]})
            # The PATCH purges the server's caches before its transaction commits, so an answer to a query that ran in
            # between (often "no such name", from a client waiting for the record) could be served from the cache for
            # the negative TTL. Flushing the zone once more after the commit closes that window.
            self._request("PUT", "/cache/flush", f"flushing the cache of zone {zone}", params={"domain": zone + "."})  # with its subtree

    def close(self) -> None:
        self._session.close()


OPTIONS = (
    Option("powerdns_api_url", default="http://127.0.0.1:8081", help="PowerDNS API URL", env=("PDNS_API_URL",)),
    Option("powerdns_api_key", help="PowerDNS API key", env=("PDNS_API_KEY",), secret=True),
    Option("powerdns_server_id", default="localhost", help="PowerDNS server id"),
    Option("powerdns_validate_certs", "bool", True, "verify the PowerDNS API certificate"),
    Option("powerdns_ownership", default="comment", help="how PowerDNS records are marked as owned", choices=("comment", "txt")),
)


def make(options: t.Mapping[str, t.Any]) -> DnsBackend:
    comments = options["powerdns_ownership"] == "comment"
    backend = PowerDnsBackend(PowerDnsSettings(
        api_url=options["powerdns_api_url"], api_key=options["powerdns_api_key"], server_id=options["powerdns_server_id"],
        timeout=float(options["dns_timeout"]), validate_certs=options["powerdns_validate_certs"], comments=comments))
    return backend if comments else OwnerTxtBackend(backend)


PROVIDER = Provider("powerdns", OPTIONS, make, vault_keys={"api_key": "powerdns_api_key"})
