# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: EfficientIP SOLIDserver through SOLIDserverRest (>= 2.14, legacy /rest API).

One row (``rr_id``) per record value and no batch call: a batch is many calls, on up to ``max_parallel`` threads
sharing one connection pool, deletes first, then creates and updates; a failure stops the calls not yet started and
the error lists what was applied. WHERE values, which the library interpolates unescaped, pass ``_literal`` first;
record values never go into a WHERE filter. AAAA values are written expanded, as SOLIDserver stores them. Every type
uses raw calls (the library's record classes know no PTR and re-read each record). Ownership is the class
parameters ``managed-by=ddi.kea_dns&owner=<owner id>&ref=<reference>`` (``ownership.py``). The library's
``connect()`` ignores a CA file and sleeps before every call (200 calls per minute), so ``_connect`` builds the
session from its public pieces: CA file or verify flag, the chosen rate limit (none by default), a pool sized to
``max_parallel``. A local "rate limit" refusal is waited out; an HTTP 429 is retried by the library (Retry-After).
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import os
import re
import threading
import time
import typing as t
import urllib.parse
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
    parse_name,
)
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.ownership import mark_parameters, parse_parameters
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import (
    AuthenticationError,
    InvalidInputError,
    KeaDnsError,
    MissingLibraryError,
    NotFoundError,
    PartiallyAppliedError,
    TransportError,
)
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import Option

# SOLIDserverRest (adv, Exception) and requests: imported on first use, so that reading the declaration costs nothing
adv = errors = requests = SOLIDserverRest = None


def _libraries() -> None:
    global adv, errors, requests, SOLIDserverRest
    if adv is None:
        with contextlib.suppress(ImportError, SyntaxError):  # reported by SolidServerBackend(); 2.12 is a SyntaxError on 3.11
            import requests.adapters
            import requests.utils
            from SOLIDserverRest import Exception as errors
            from SOLIDserverRest import adv
            from SOLIDserverRest.SOLIDserverRest import SOLIDserverRest


DEFAULT_SCOPE_SERVERS = {"internal": "dns-internal-smart.site.com", "external": "dns-primary.site.com"}
PAGE = 1000
HOST_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?$")
SAFE_LITERAL_RE = re.compile(r"^[A-Za-z0-9_.:-]*$")
ALREADY_EXISTS_RE = re.compile(r"already exist", re.IGNORECASE)
GONE_RE = re.compile(r"not (?:be )?found|does not exist|no such", re.IGNORECASE)
LOCAL_LIMIT_WAIT = 120.0


@dataclass(frozen=True)
class SolidServerSettings:
    host: str | None
    username: str | None
    password: str | None = field(repr=False)
    auth_method: str
    dns_server: str
    validate_certs: bool
    ca_cert: str | None
    timeout: float
    max_parallel: int
    rate_limit: int  # calls per minute for the library's client-side limiter; 0 turns it off


def _literal(value: object, what: str) -> str:
    """A value safe inside ``col='value'`` of a SOLIDserver WHERE filter (which the library does not escape)."""
    text = str(value)
    if not SAFE_LITERAL_RE.fullmatch(text):
        raise InvalidInputError(what, value, "may hold only letters, digits, '.', '-', '_' and ':' (it goes into a SOLIDserver WHERE filter)")
    return text


def _where(**conditions: object) -> str:
    return " and ".join(f"{column}='{_literal(value, column)}'" for column, value in conditions.items())


def _wire_value(rtype: str, value: str) -> str:
    return ipaddress.IPv6Address(value).exploded if rtype == "AAAA" else value


def _owner(class_parameters: str) -> str | None:
    mark = parse_parameters(urllib.parse.parse_qsl(class_parameters or ""))
    return mark.owner if mark else None


@dataclass(frozen=True)
class _Row:
    rr_id: str
    key: RRsetKey
    value: str
    ttl: int
    owner: str | None


def _row(data: dict) -> _Row | None:
    rtype = str(data.get("rr_type", "")).upper()
    if rtype not in RECORD_TYPES:
        return None
    value = str(data.get("value1", ""))
    if rtype in ("A", "AAAA"):
        with contextlib.suppress(ValueError):  # else shown as stored; it never equals a desired value, so a task replaces it
            value = str(ipaddress.ip_address(value))
    elif rtype in ("PTR", "CNAME"):
        value = value.rstrip(".").lower()
    name = str(data.get("rr_full_name") or data.get("rr_full_name_utf", "")).rstrip(".").lower()
    return _Row(str(data["rr_id"]), RRsetKey(name, rtype), value, int(data.get("ttl") or 0), _owner(data.get("rr_class_parameters", "")))


@dataclass(frozen=True)
class _Call:
    """One write: ``service`` with ``params``; ``label`` is what the error and the applied list show."""

    service: str
    params: dict
    label: str
    tolerate: re.Pattern | None = None  # an error text that means "already done"


class SolidServerBackend(DnsBackend):
    traits = Traits(name="solidserver", native_batch=False, ownership=True, can_list_zone=True)

    def __init__(self, settings: SolidServerSettings) -> None:
        _libraries()
        if adv is None:
            raise MissingLibraryError("SOLIDserverRest (2.14 or later)", "SOLIDserverRest")
        if not settings.host or not HOST_RE.fullmatch(settings.host):
            raise InvalidInputError("solidserver_host", settings.host, "expected a host name or IPv4 address, with an optional :port")
        if not settings.username or not settings.password:
            raise InvalidInputError("solidserver_username", settings.username,
                                    "SOLIDserver user name and password are required (options solidserver_username/solidserver_password, "
                                    "SOLIDSERVER_USERNAME/SOLIDSERVER_PASSWORD, or use_vault)")
        if settings.max_parallel < 1:
            raise InvalidInputError("solidserver_max_parallel", settings.max_parallel, "at least 1")
        self.settings = settings
        self.server = parse_name(settings.dns_server, "solidserver_dns_server")
        self.where = f"SOLIDserver {settings.host} (DNS server {self.server})"
        self._timeout = max(1, math.ceil(settings.timeout))  # the library takes whole seconds
        self._limit_lock = threading.Lock()
        self._sds = self._connect()
        self._dns_id = self._server_id()
        self._zones: list[str] | None = None
        self._ids: dict[RRsetKey, dict[str, str]] = {}  # value -> rr_id of each RRset read

    def _connect(self) -> t.Any:
        settings = self.settings
        sds = adv.SDS(user=settings.username, pwd=settings.password)
        sds.sds_ip = settings.host  # host[:port]; the library's own setter takes neither a port nor an unresolved name
        rest = SOLIDserverRest(settings.host)
        if settings.auth_method == "basicauth":
            rest.use_basicauth_sds(settings.username, settings.password)
        else:
            rest.use_native_sds(settings.username, settings.password)
        if settings.ca_cert and settings.validate_certs:
            self._guard("loading the CA file", rest.set_certificate_file, settings.ca_cert)
        else:
            rest.set_ssl_verify(bool(settings.validate_certs))
        # The environment (proxies, REQUESTS_CA_BUNDLE) is read once here instead of on every call, which cost
        # about a third of the client's CPU time per call in a large batch.
        rest.proxies = requests.utils.get_environ_proxies(f"https://{settings.host}/") or None
        if rest.ssl_verify is True:
            rest.ssl_verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        rest.session.trust_env = False
        if settings.rate_limit > 0:
            rest.set_rate_limit(settings.rate_limit, 60)
        else:
            rest.set_rate_limit(10**9, 1)
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=settings.max_parallel)
        rest.session.mount("https://", adapter)
        sds.sds = rest
        sds.timeout = self._timeout
        sds.auth_method = settings.auth_method
        self._sds = sds
        # The library's get_version() waits 10 s whatever the timeout; the same call is made here with ours.
        members = self._query("member_list", {"WHERE": "member_is_me=1"}, "logging in")
        sds.version = members[0].get("member_version", "ukn") if members else "ukn"
        return sds

    def _guard(self, what: str, function: t.Callable, *args: t.Any) -> t.Any:
        """Call the library; its exceptions (and the KeyError/IndexError its callers can raise) become ours."""
        waited = 0.0
        while True:
            try:
                return function(*args)
            except errors.SDSAuthError:
                raise AuthenticationError(f"{self.where} rejected the credentials of user {self.settings.username!r} ({what})") from None
            except errors.SDSEmptyError:
                return []
            except errors.SDSRequestError as exc:
                text = str(exc.message)
                if "timed out" in text.lower():
                    raise TransportError(f"{self.where} did not answer within {self._timeout} s ({what})") from None
                if "SSL" in text or "certificate" in text.lower():
                    raise TransportError(f"{self.where}: TLS certificate check failed ({what}); set solidserver_ca_cert "
                                         "or solidserver_validate_certs") from None
                raise TransportError(f"{self.where} is unreachable ({what}): {text.splitlines()[0][:200]}") from None
            except errors.SDSServiceError as exc:
                if "rate limit" not in str(exc) or waited >= LOCAL_LIMIT_WAIT:
                    raise KeaDnsError(f"{self.where}: {what}: {exc}") from None
                pause = 60.0 / max(self.settings.rate_limit, 1)
                time.sleep(pause)  # the client-side bucket (solidserver_rate_limit) is empty: wait for a token
                waited += pause
            except errors.SDSError as exc:
                raise KeaDnsError(f"{self.where}: {what}: {exc}") from None
            except (KeyError, IndexError, TypeError, ValueError) as exc:
                raise TransportError(f"{self.where} gave an unexpected answer ({what}): {exc.__class__.__name__}") from None

    def _query(self, service: str, params: dict, what: str) -> list[dict]:
        answer = self._guard(what, self._sds.query, service, params, False, self._timeout)
        if isinstance(answer, dict) and answer.get("errmsg"):
            raise KeaDnsError(f"{self.where} refused {what}: {answer['errmsg']} (errno {answer.get('errno', '?')})")
        if answer is None:
            raise TransportError(f"{self.where} gave no JSON answer ({what})")
        return answer if isinstance(answer, list) else [answer]

    def _list(self, service: str, where: str, what: str) -> list[dict]:
        rows: list[dict] = []
        while True:
            page = self._query(service, {"WHERE": where, "limit": PAGE, "offset": len(rows)}, what)
            rows.extend(page)
            if len(page) < PAGE:
                return rows

    def _server_id(self) -> str:
        rows = self._list("dns_server_list", _where(dns_name=self.server), f"looking up DNS server {self.server}")
        if not rows:
            raise NotFoundError(f"{self.where}: no DNS server named {self.server} (check solidserver_scope / solidserver_dns_server)")
        return _literal(rows[0]["dns_id"], "dns_id")

    def zones(self) -> list[str]:
        if self._zones is None:
            rows = self._list("dns_zone_list", _where(dns_id=self._dns_id), "listing zones")
            self._zones = sorted({str(r["dnszone_name"]).rstrip(".").lower() for r in rows if r.get("dnszone_type", "master") == "master"})
        return self._zones

    def find_zone(self, name: str) -> str:
        return longest_zone(name, self.zones(), self.where)

    def _check_zone(self, zone: str) -> None:
        if zone not in self.zones():
            raise NotFoundError(f"{self.where}: zone {zone} does not exist (or is not a primary zone)")

    def _rrsets(self, zone: str, rows: t.Iterable[dict]) -> list[RRset]:
        grouped: dict[RRsetKey, list[_Row]] = {}
        for data in rows:
            row = _row(data)
            if row is not None:
                grouped.setdefault(row.key, []).append(row)
        result = []
        for key, members in grouped.items():
            self._ids[key] = {row.value: row.rr_id for row in members}
            result.append(RRset(zone, key, tuple(sorted({row.value for row in members})), members[0].ttl,
                                owner=members[0].owner if len({row.owner for row in members}) == 1 else None))
        return result

    def get(self, zone: str, keys: t.Collection[RRsetKey]) -> dict[RRsetKey, RRset]:
        """One read per name (``max_parallel`` in flight), whatever their number: a batch costs what it touches."""
        self._check_zone(zone)
        wanted = set(keys)
        names = sorted({key.name for key in wanted})
        rows = [row for found in self._parallel(lambda name: self._list(
            "dns_rr_list", _where(rr_full_name=name, dns_id=self._dns_id, dnszone_name=zone), f"reading {name}"), names)
            for row in found]
        return {r.key: r for r in self._rrsets(zone, rows) if r.key in wanted}

    def list_zone(self, zone: str) -> list[RRset]:
        self._check_zone(zone)
        return self._rrsets(zone, self._list("dns_rr_list", _where(dns_id=self._dns_id, dnszone_name=zone), f"listing zone {zone}"))

    def _parallel(self, function: t.Callable[[t.Any], t.Any], items: t.Sequence) -> list:
        return http.parallel(function, items, self.settings.max_parallel)

    def _calls(self, zone: str, change: Change) -> tuple[list[_Call], list[_Call]]:
        """(deletes, writes) for one change, from the rows read by get()."""
        key = change.key
        ids = dict(self._ids.get(key, {}))
        after = change.after
        wanted = set(after.values) if after else set()
        deletes = [_Call("dns_rr_delete", {"rr_id": rr_id}, f"delete {key.label()} {value}", GONE_RE)
                   for value, rr_id in sorted(ids.items()) if value not in wanted]
        writes = []
        if after is not None:
            extra = {"rr_class_parameters": urllib.parse.urlencode(mark_parameters(after.owner, after.origin))} if after.owner else {}
            before = change.before
            for value in after.values:
                wire = {"rr_ttl": str(after.ttl), "value1": _wire_value(key.type, value), **extra}
                if value not in ids:
                    writes.append(_Call("dns_rr_create", {"rr_name": key.name, "rr_type": key.type, "dns_id": self._dns_id,
                                                          "dnszone_name": zone, **wire},
                                        f"create {key.label()} {value}", ALREADY_EXISTS_RE if key.type == "PTR" else None))
                elif before is None or before.ttl != after.ttl or before.owner != after.owner:
                    writes.append(_Call("dns_rr_update", {"rr_id": ids[value], **wire}, f"update {key.label()} {value}"))
        return deletes, writes

    def _run(self, calls: t.Sequence[_Call], applied: list[str]) -> None:
        failures: list[tuple[_Call, KeaDnsError]] = []
        stop = threading.Event()
        lock = threading.Lock()

        def one(call: _Call) -> None:
            if stop.is_set():
                return
            try:
                self._query(call.service, call.params, call.label)
            except KeaDnsError as exc:
                if not (call.tolerate and call.tolerate.search(str(exc))):
                    stop.set()
                    with lock:
                        failures.append((call, exc))
                    return
            with lock:
                applied.append(call.label)

        self._parallel(one, calls)
        if failures:
            call, exc = failures[0]
            more = f" ({len(failures) - 1} more calls failed)" if len(failures) > 1 else ""
            raise PartiallyAppliedError(exc.__class__(f"{exc}{more}"), applied)

    def apply(self, zone: str, changes: t.Sequence[Change]) -> None:
        self._check_zone(zone)
        deletes: list[_Call] = []
        writes: list[_Call] = []
        for change in changes:
            change_deletes, change_writes = self._calls(zone, change)
            deletes.extend(change_deletes)
            writes.extend(change_writes)
        applied: list[str] = []
        self._run(deletes, applied)  # first, so that a name can change type (CNAME <-> A) in one batch
        self._run(writes, applied)
        for change in changes:
            self._ids.pop(change.key, None)

    def close(self) -> None:
        if self._sds is not None and self._sds.sds is not None and self._sds.sds.session is not None:
            self._sds.sds.session.close()


OPTIONS = (
    Option("solidserver_host", help="SOLIDserver host", env=("SOLIDSERVER_HOST",)),
    Option("solidserver_username", help="SOLIDserver API user", env=("SOLIDSERVER_USERNAME",), credential=True),
    Option("solidserver_password", help="SOLIDserver API password", env=("SOLIDSERVER_PASSWORD",), secret=True),
    Option("solidserver_auth_method", default="native", help="SOLIDserver login", choices=("native", "basicauth")),
    Option("solidserver_scope", default="internal", help="the DNS server of solidserver_scope_servers to write to",
           choices=("internal", "external"), env=("SOLIDSERVER_SCOPE",)),
    Option("solidserver_scope_servers", "dict", tuple(DEFAULT_SCOPE_SERVERS.items()), "scope -> SOLIDserver DNS server name"),
    Option("solidserver_dns_server", help="SOLIDserver DNS server name (overrides the scope)", env=("SOLIDSERVER_DNS_SERVER",)),
    Option("solidserver_validate_certs", "bool", True, "verify the SOLIDserver certificate"),
    Option("solidserver_ca_cert", "path", help="CA bundle for SOLIDserver", env=("SOLIDSERVER_CA_CERT",)),
    Option("solidserver_max_parallel", "int", 8, "parallel SOLIDserver calls"),
    Option("solidserver_rate_limit", "int", 0, "SOLIDserver calls per minute (0: no limit)"),
)


def _dns_server(options: t.Mapping[str, t.Any]) -> str:
    if options["solidserver_dns_server"]:
        return options["solidserver_dns_server"]
    scope, servers = options["solidserver_scope"], options["solidserver_scope_servers"]
    if scope not in servers:
        raise InvalidInputError("solidserver_scope", scope, f"not a key of solidserver_scope_servers ({', '.join(sorted(servers))})")
    return servers[scope]


def make(options: t.Mapping[str, t.Any]) -> DnsBackend:
    return SolidServerBackend(SolidServerSettings(
        host=options["solidserver_host"], username=options["solidserver_username"], password=options["solidserver_password"],
        auth_method=options["solidserver_auth_method"], dns_server=_dns_server(options),
        validate_certs=options["solidserver_validate_certs"], ca_cert=options["solidserver_ca_cert"], timeout=float(options["dns_timeout"]),
        max_parallel=int(options["solidserver_max_parallel"]), rate_limit=int(options["solidserver_rate_limit"])))


PROVIDER = Provider("solidserver", OPTIONS, make, vault_keys={"username": "solidserver_username", "password": "solidserver_password"})
