"""An HTTP emulator of the Technitium DNS Server API, written from ../shared/guides/dns-api-contracts.md section 2.

Technitium cannot run here, so the backend is tested against this: every answer HTTP 200 with the
response/server/status envelope, the token as a parameter (and Bearer header in v15 mode), names without
trailing dots, closest enclosing zone, the non-idempotent add/delete with their exact messages, RRset TTL
harmonisation, overwrite, CNAME exclusivity, ptr=true and the automatic PTR removal on A/AAAA delete.
Every request URL is recorded, so tests can check that no token travels in one.
stop_server()/start_server()/restart() stop and serve again on the same port with the same state (records, tokens).
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

from .procs import ClosingHTTPServer, EmulatedServer

SERVER = "dns1.emulator.test"
RDATA_KEY = {"A": "ipAddress", "AAAA": "ipAddress", "PTR": "ptrName", "CNAME": "cname", "TXT": "text"}
INTERNAL_ZONES = ("localhost", "0.in-addr.arpa", "127.in-addr.arpa", "255.in-addr.arpa")


class ApiError(Exception):
    def __init__(self, message: str, status: str = "error") -> None:
        super().__init__(message)
        self.status = status


class TechnitiumState:
    def __init__(self, version: int = 15) -> None:
        self.version = version
        self.users = {"admin": "admin"}
        self.tokens = {secrets.token_hex(32)}
        self.zones: dict[str, dict] = {z: {"type": "Primary", "internal": True} for z in INTERNAL_ZONES}
        self.records: list[dict] = []  # {name, type, ttl, value, comments}
        self.urls: list[str] = []
        self.times: list[float] = []  # when each request came (time.monotonic()), for rate caps
        self.lock = threading.Lock()

    @property
    def token(self) -> str:
        return next(iter(self.tokens))

    def zone_for(self, domain: str, zone: str | None) -> str:
        name = (zone or domain).rstrip(".").lower()
        candidates = [z for z in self.zones if name == z or name.endswith("." + z)]
        if not candidates:
            raise ApiError(f"No such zone was found: {domain}")
        found = max(candidates, key=len)
        if not (domain == found or domain.endswith("." + found)):
            raise ApiError(f"The domain name '{domain}' does not belong to the zone: {found}")
        return found

    def rrset(self, name: str, rtype: str) -> list[dict]:
        return [r for r in self.records if r["name"] == name and r["type"] == rtype]

    def record_json(self, record: dict) -> dict:
        value = record["value"]
        rdata: dict = {RDATA_KEY[record["type"]]: value}
        if record["type"] == "TXT":
            rdata.update(splitText=False, characterStrings=[value])
        data = {"name": record["name"], "type": record["type"], "ttl": record["ttl"], "ttlString": f"{record['ttl']}s",
                "disabled": False, "rData": rdata, "dnssecStatus": "Unknown", "lastUsedOn": "0001-01-01T00:00:00",
                "lastModified": "2026-11-21T00:00:00.0000000Z", "expiryTtl": 0, "expiryTtlString": "0s"}
        if record.get("comments"):
            data["comments"] = record["comments"]
        return data

    def zone_json(self, name: str) -> dict:
        info = self.zones[name]
        data = {"name": name, "type": info["type"], "lastModified": "2026-11-21T00:00:00.0000000Z", "disabled": False, "soaSerial": 1}
        if info["type"] == "Primary":
            data.update(internal=info["internal"], catalog=None, dnssecStatus="Unsigned", hasDnssecPrivateKeys=False)
            if not info["internal"]:
                data.update(notifyFailed=False, notifyFailedFor=[])
        return data


def _value(rtype: str, params: dict) -> str:
    raw = params.get(RDATA_KEY[rtype]) or params.get("value")
    if not raw:
        raise ApiError(f"Parameter '{RDATA_KEY[rtype]}' missing.")
    if rtype in ("A", "AAAA"):
        try:
            address = ipaddress.ip_address(raw)
        except ValueError:
            raise ApiError("An invalid IP address was specified.") from None
        if (rtype == "A") != (address.version == 4):
            raise ApiError("An invalid IP address was specified.")
        return str(address)
    return raw.rstrip(".") if rtype in ("PTR", "CNAME") else raw


def handle(state: TechnitiumState, path: str, params: dict, bearer: str | None) -> dict:  # noqa: C901 - one API, one dispatcher
    if path == "/api/user/login":
        user = params.get("user")
        if state.users.get(user) != params.get("pass"):
            time.sleep(1)  # the server delays failed logins on purpose
            raise ApiError(f"Invalid username or password for user: {user}")
        token = secrets.token_hex(32)
        state.tokens.add(token)
        return {"top": {"displayName": "Administrator", "username": user, "isSsoUser": False, "totpEnabled": False, "token": token}}
    token = (bearer if state.version >= 15 and bearer else None) or params.get("token")
    if not token:
        if state.version < 15:
            raise ApiError("Parameter 'token' missing.")
        raise ApiError("Invalid token or session expired.", "invalid-token")
    if token not in state.tokens:
        raise ApiError("Invalid token or session expired.", "invalid-token")
    if path == "/api/zones/list":
        return {"zones": [state.zone_json(name) for name in sorted(state.zones)]}
    if path == "/api/zones/create":
        name = (params.get("zone") or params.get("domain") or "").rstrip(".").lower()
        if not name:
            raise ApiError("Parameter 'zone' missing.")
        if "*" in name:
            raise ApiError("Domain name for a zone cannot contain wildcard character.")
        if name in state.zones:
            raise ApiError(f"Zone already exists: {name}")
        state.zones[name] = {"type": params.get("type", "Primary"), "internal": False}
        return {"domain": name}
    if not path.startswith("/api/zones/records/"):
        raise ApiError("not found", "404")
    domain = (params.get("domain") or "").rstrip(".").lower()
    if not domain:
        raise ApiError("Parameter 'domain' missing.")
    zone = state.zone_for(domain, params.get("zone"))
    if state.zones[zone]["internal"] and not path.endswith("/get"):
        raise ApiError("Access was denied to manage internal DNS Server zone.")
    if path == "/api/zones/records/get":
        whole = params.get("listZone", "false").lower() == "true"
        found = [r for r in state.records if (r["name"] == domain or (whole and (r["name"] == zone or r["name"].endswith("." + zone))))]
        found = [r for r in found if state.zone_for(r["name"], None) == zone]
        return {"zone": state.zone_json(zone), "records": [state.record_json(r) for r in sorted(found, key=lambda r: (r["name"], r["type"]))]}
    rtype = (params.get("type") or "").upper()
    if rtype not in RDATA_KEY:
        raise ApiError(f"Requested value '{params.get('type')}' was not found.")
    if path == "/api/zones/records/add":
        value = _value(rtype, params)
        ttl = int(params.get("ttl") or 3600)
        others = [r for r in state.records if r["name"] == domain and r["type"] != rtype]
        if rtype == "CNAME" and others or rtype != "CNAME" and any(r["type"] == "CNAME" for r in others):
            raise ApiError("Cannot add record: a CNAME record cannot exists with other record types for the same name.")
        current = state.rrset(domain, rtype)
        overwrite = params.get("overwrite", "false").lower() == "true"
        if rtype == "CNAME" and current and not overwrite:
            raise ApiError("Record already exists. Use overwrite option if you wish to overwrite existing record.")
        if overwrite:
            state.records = [r for r in state.records if r not in current]
            current = []
        if any(r["value"] == value and r["ttl"] == ttl for r in current):
            raise ApiError("Cannot add record: record already exists.")
        for record in current:
            record["ttl"] = ttl  # the whole RRset takes the new TTL
        record = {"name": domain, "type": rtype, "ttl": ttl, "value": value, "comments": params.get("comments")}
        if not any(r["value"] == value for r in current):
            state.records.append(record)
        if rtype in ("A", "AAAA") and params.get("ptr", "false").lower() == "true":
            reverse = ipaddress.ip_address(value).reverse_pointer
            candidates = [z for z in state.zones if reverse.endswith("." + z) and not state.zones[z]["internal"]]
            if not candidates:
                raise ApiError("No reverse zone available to add PTR record.")
            state.records = [r for r in state.records if not (r["name"] == reverse and r["type"] == "PTR")]
            state.records.append({"name": reverse, "type": "PTR", "ttl": ttl, "value": domain, "comments": None})
        return {"zone": state.zone_json(zone), "addedRecord": state.record_json(record)}
    if path == "/api/zones/records/delete":
        current = state.rrset(domain, rtype)
        doomed = current if rtype == "CNAME" else [r for r in current if r["value"] == _value(rtype, params)]
        if not doomed:
            raise ApiError("Cannot delete record: no such record exists.")
        state.records = [r for r in state.records if r not in doomed]
        for record in doomed:
            if rtype in ("A", "AAAA"):
                reverse = ipaddress.ip_address(record["value"]).reverse_pointer
                state.records = [r for r in state.records if not (r["name"] == reverse and r["type"] == "PTR" and r["value"] == domain)]
        return {}
    raise ApiError("not found", "404")


class TechnitiumEmulator(EmulatedServer):
    def __init__(self, version: int = 15, zones: tuple[str, ...] = ("site.test", "99.10.in-addr.arpa", "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"),
                 latency: float = 0.0) -> None:
        self.state = TechnitiumState(version)
        for zone in zones:
            self.state.zones[zone] = {"type": "Primary", "internal": False}
        self.latency = latency
        state = self.state
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _serve(self) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                params = dict(urllib.parse.parse_qsl(parsed.query))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    for key, value in urllib.parse.parse_qsl(self.rfile.read(length).decode()):
                        params.setdefault(key, value)
                params = {k: v for k, v in params.items() if v != ""}  # an empty value counts as missing
                auth = self.headers.get("Authorization", "")
                bearer = auth.split(" ", 1)[1] if auth.lower().startswith("bearer ") else None
                if emulator.latency:
                    time.sleep(emulator.latency)
                if self.server.closing:  # stopped meanwhile: the request dies with the connection, as on a stopped server
                    return
                with state.lock:
                    state.urls.append(self.path)
                    state.times.append(time.monotonic())
                    try:
                        result = handle(state, parsed.path, params, bearer)
                        body = dict(result.pop("top"), server=SERVER, status="ok") if "top" in result else \
                            {"response": result, "server": SERVER, "status": "ok"}
                    except ApiError as exc:
                        if exc.status == "404":
                            self.send_response(404)
                            self.end_headers()
                            return
                        body = {"server": SERVER, "status": exc.status, "errorMessage": str(exc)}
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _serve  # noqa: N815 - http.server's method names
            do_POST = _serve  # noqa: N815

        self._handler = Handler
        self.httpd = self._bind(0)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def _bind(self, port: int) -> ClosingHTTPServer:
        return ClosingHTTPServer(("127.0.0.1", port), self._handler)

    def start(self) -> TechnitiumEmulator:
        self._serve()
        return self

    def stop(self) -> None:
        self.stop_server()

    def max_rate(self, window: float = 1.0, since: float = 0.0) -> int:
        """The most requests seen within any ``window`` seconds (of those after ``since``, a time.monotonic())."""
        times = sorted(when for when in self.state.times if when >= since)
        return max((sum(1 for later in times[i:] if later - first < window) for i, first in enumerate(times)), default=0)

    def transfer(self, zone: str) -> dict[tuple[str, str], list[str]]:
        """The zone's records from the state, in the shape of dns_servers.transfer() (no SOA/NS: the emulator keeps none).

        Like an AXFR, this fails (ConnectionRefusedError) while the emulator is stopped.
        """
        if self.stopped:
            raise ConnectionRefusedError(f"{self.url}: the emulator is stopped")
        zone = zone.rstrip(".").lower()
        found: dict[tuple[str, str], list[str]] = {}
        with self.state.lock:
            if zone not in self.state.zones:
                raise KeyError(f"no such zone: {zone}")
            for record in self.state.records:
                try:
                    if self.state.zone_for(record["name"], None) != zone:
                        continue
                except ApiError:
                    continue
                value = record["value"].rstrip(".") if record["type"] in ("PTR", "CNAME") else record["value"]
                found.setdefault((record["name"].lower(), record["type"]), []).append(value)
        return {key: sorted(values) for key, values in found.items()}

    def env(self) -> dict[str, str]:
        return {"TECHNITIUM_API_URL": self.url, "TECHNITIUM_TOKEN": self.state.token}

    def query(self, name: str, rtype: str = "A") -> list[str]:
        """What the server holds, read back through its own API (as a Technitium client would)."""
        import requests  # pylint: disable=import-outside-toplevel

        body = requests.post(f"{self.url}/api/zones/records/get", data={"token": self.state.token, "domain": name}, timeout=5).json()
        if body["status"] != "ok":
            return []
        values = [r["rData"][RDATA_KEY[rtype]] for r in body["response"]["records"] if r["type"] == rtype]
        if rtype == "TXT":  # in DNS presentation form, as a DNS query shows it
            values = ['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values]
        return sorted(values)
