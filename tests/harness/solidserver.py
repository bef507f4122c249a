"""An HTTPS emulator of SOLIDserver's legacy /rest API, written from ../shared/guides/dns-api-contracts.md section 1.

SOLIDserver cannot run here, so the backend is tested against this, through the real SOLIDserverRest library:
native (X-IPM-*) and basic auth with 401 on bad credentials; parameters from the query string only; WHERE
filters of ``col='v'``/``col=v`` joined by ``and`` (anything else, such as an unbalanced quote or ``or``, is a
400 error object); ``limit``/``offset``; 204 with no body for empty answers; string-valued rows with
``errno "0"``; 201 ``[{"ret_oid"}]`` on add, 200 JSON on edit and delete; 400 ``{"errno","errmsg"}`` on
business errors; AAAA stored exploded; optional automatic PTRs; 429 with Retry-After and latency injection.
It counts requests in flight, so tests and benchmarks can check a bound on parallel requests.
stop_server()/start_server()/restart() stop and serve again on the same port with the same state, password and certificate.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import re
import ssl
import tempfile
import threading
import time
import urllib.parse
import warnings
from http.server import BaseHTTPRequestHandler

from .procs import ClosingHTTPServer, EmulatedServer

ZONE_FIELDS = ("dnszone_ad_integrated", "dnszone_allow_query", "dnszone_allow_transfer", "dnszone_allow_update", "dnszone_also_notify",
               "dnszone_class_name", "dnszone_forward", "dnszone_forwarders", "dnszone_masters", "dnszone_notify", "ds",
               "dnszone_class_parameters")
SERVER_FIELDS = ("aws_keyid", "dns_allow_query", "dns_allow_query_cache", "dns_allow_recursion", "dns_allow_transfer", "dns_also_notify",
                 "dns_class_name", "dns_comment", "dns_forward", "dns_forwarders", "dns_hybrid", "dns_key_name", "dns_key_proto",
                 "dns_key_value", "dns_notify", "dns_role", "dns_version", "dnsblast_enabled", "dnsblast_status", "dnsgslb_supported",
                 "dnsguardian_supported", "dnssec_validation", "gss_enabled", "gss_keytab_id", "ipmdns_is_package", "ipmdns_type",
                 "multistatus", "querylog_state", "vdns_arch", "vdns_members_name", "vdns_parent_name", "dns_class_parameters")
CONDITION_RE = re.compile(r"^\s*([a-z0-9_]+)\s*=\s*(?:'([^']*)'|([A-Za-z0-9_.:-]+))\s*$", re.IGNORECASE)
AND_RE = re.compile(r"\s+and\s+", re.IGNORECASE)
TYPES = ("A", "AAAA", "PTR", "CNAME", "TXT", "MX", "NS", "SRV")


class ApiError(Exception):
    def __init__(self, errno: str, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errno = errno
        self.errmsg = errmsg


def parse_where(text: str) -> list[tuple[str, str]]:
    """``col='v' and col=v ...`` -> [(col, v)]; anything else is a 400, as a malformed filter is on the appliance."""
    if text.count("'") % 2:
        raise ApiError("1004", f"Syntax error in WHERE clause near: {text[:60]}")
    conditions = []
    for part in AND_RE.split(text.strip()):
        match = CONDITION_RE.match(part)
        if not match:
            raise ApiError("1004", f"Syntax error in WHERE clause near: {part[:60]}")
        conditions.append((match.group(1).lower(), match.group(2) if match.group(2) is not None else match.group(3)))
    return conditions


def matches(row: dict, conditions: list[tuple[str, str]]) -> bool:
    return all(str(row.get(column, "")).lower() == value.lower() for column, value in conditions)


class SolidServerState:
    def __init__(self, servers: dict[str, tuple[str, ...]], auto_ptr: bool = False) -> None:
        self.users = {"ipmadmin": "s3cret-sds"}
        self.auto_ptr = auto_ptr
        self.servers: dict[str, dict] = {}
        self.zones: dict[str, dict] = {}
        self.records: dict[str, dict] = {}
        self.next_id = 100
        for index, (name, zones) in enumerate(servers.items(), start=3):
            self.servers[str(index)] = self._server_row(str(index), name)
            for zone in zones:
                self.add_zone(str(index), zone)
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []  # (method, path with query)
        self.reject_names: set[str] = set()  # a name whose add answers 400 (fault injection)
        self.throttle = 0  # this many next requests answer 429 with Retry-After: 0
        self.throttled = 0

    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    @staticmethod
    def _server_row(dns_id: str, name: str) -> dict:
        row = {key: "" for key in SERVER_FIELDS}
        row.update(errno="0", dns_id=dns_id, dns_name=name, dns_type="ipm", ip_addr="7f000001", dns_synching="0", dns_state="Y",
                   vdns_parent_id="0", dns_recursion="yes", isolated="0")
        return row

    def add_zone(self, dns_id: str, name: str) -> None:
        zone_id = self.new_id()
        row = {key: "" for key in ZONE_FIELDS}
        row.update(errno="0", dnszone_id=zone_id, dnszone_name=name, dnszone_name_utf=name, dns_id=dns_id,
                   dns_name=self.servers[dns_id]["dns_name"], dnszone_type="master",
                   dnszone_is_reverse="1" if name.endswith(".arpa") else "0", dnszone_is_rpz="0",
                   dnszone_rev_sort_zone=".".join(reversed(name.split("."))), delayed_create_time="0", delayed_delete_time="0",
                   dnsview_id="0", dnsview_name="#", dns_state="Y", dnszone_order="0", num_keys="0")
        self.zones[zone_id] = row

    def zone_for(self, dns_id: str, name: str, params: dict) -> dict:
        zones = [z for z in self.zones.values() if z["dns_id"] == dns_id]
        if params.get("dnszone_id"):
            zones = [z for z in zones if z["dnszone_id"] == params["dnszone_id"]]
        elif params.get("dnszone_name"):
            zones = [z for z in zones if z["dnszone_name"] == params["dnszone_name"].lower()]
        zones = [z for z in zones if name == z["dnszone_name"] or name.endswith("." + z["dnszone_name"])]
        if not zones:
            raise ApiError("2303", f"No zone found for the resource record {name}")
        return max(zones, key=lambda z: len(z["dnszone_name"]))

    def record_row(self, rr_id: str, name: str, rtype: str, value: str, ttl: str, zone: dict, class_parameters: str) -> dict:
        return {"errno": "0", "rr_id": rr_id, "rr_full_name": name, "rr_full_name_utf": name, "rr_type": rtype, "ttl": ttl,
                "value1": value, "value2": "", "value3": "", "value4": "", "value5": "", "value6": "", "value7": "", "rr_glue": "",
                "dns_id": zone["dns_id"], "dns_name": zone["dns_name"], "dns_type": "ipm", "dns_cloud": "0", "dns_comment": "",
                "dns_version": "", "dns_class_name": "", "dnszone_id": zone["dnszone_id"], "dnszone_name": zone["dnszone_name"],
                "dnszone_name_utf": zone["dnszone_name"], "dnsview_id": "0", "dnsview_name": "#", "rr_class_name": "",
                "rr_class_parameters": class_parameters, "delayed_create_time": "0", "delayed_delete_time": "0"}


def _value(rtype: str, raw: str) -> str:
    if rtype in ("A", "AAAA"):
        try:
            address = ipaddress.ip_address(raw)
        except ValueError:
            raise ApiError("2105", f"Invalid IP address: {raw}") from None
        if (rtype == "A") != (address.version == 4):
            raise ApiError("2105", f"Invalid IP address: {raw}")
        return address.exploded if rtype == "AAAA" else str(address)
    if not raw:
        raise ApiError("2101", "Missing value1")
    return raw


def _select(rows: list[dict], params: dict) -> list[dict]:
    if params.get("WHERE"):
        rows = [row for row in rows if matches(row, parse_where(params["WHERE"]))]
    offset = int(params.get("offset") or 0)
    limit = int(params["limit"]) if params.get("limit") else None
    return rows[offset:offset + limit] if limit is not None else rows[offset:]


def handle(state: SolidServerState, method: str, service: str, params: dict) -> tuple[int, object]:  # noqa: C901 - one API, one dispatcher
    if method == "GET":
        by_id = {"dns_server_info": (state.servers, "dns_id"), "dns_zone_info": (state.zones, "dnszone_id"),
                 "dns_rr_info": (state.records, "rr_id")}
        if service in by_id:
            table, key = by_id[service]
            row = table.get(params.get(key, ""))
            return (200, [row]) if row else (204, None)
        tables = {"member_list": [{"errno": "0", "member_is_me": "1", "member_version": "8.4.2", "member_name": "sds-emulator"}],
                  "dns_server_list": list(state.servers.values()), "dns_zone_list": list(state.zones.values()),
                  "dns_rr_list": list(state.records.values())}
        if service not in tables:
            raise ApiError("1001", f"Unknown service {service}")
        rows = _select(tables[service], params)
        return (200, rows) if rows else (204, None)
    if method == "POST" and service == "dns_rr_add" and params.get("add_flag", "new_edit") in ("new_only", "new_edit"):
        for required in ("rr_name", "rr_type", "value1"):
            if not params.get(required):
                raise ApiError("2101", f"Missing mandatory parameter {required}")
        dns_id = params.get("dns_id") or next((i for i, s in state.servers.items() if s["dns_name"] == params.get("dns_name")), "")
        if dns_id not in state.servers:
            raise ApiError("2201", "DNS server not found")
        name = params["rr_name"].rstrip(".").lower()
        rtype = params["rr_type"].upper()
        if rtype not in TYPES:
            raise ApiError("2102", f"Unsupported resource record type {rtype}")
        if name in state.reject_names:
            raise ApiError("2999", f"Resource record {name} refused by policy")
        zone = state.zone_for(dns_id, name, params)
        value = _value(rtype, params["value1"])
        same_name = [r for r in state.records.values() if r["dns_id"] == dns_id and r["rr_full_name"] == name]
        if any(r["rr_type"] == rtype and r["value1"] == value for r in same_name):
            raise ApiError("2210", f"Resource record already exists: {name} {rtype} {value}")
        if rtype == "CNAME" and same_name or any(r["rr_type"] == "CNAME" for r in same_name):
            raise ApiError("2211", f"CNAME and other data for {name}")
        ttl = params.get("rr_ttl") or "3600"
        if int(ttl) < 5:
            raise ApiError("2106", f"Invalid TTL {ttl}")
        rr_id = state.new_id()
        state.records[rr_id] = state.record_row(rr_id, name, rtype, value, ttl, zone, params.get("rr_class_parameters", ""))
        if state.auto_ptr and rtype in ("A", "AAAA"):
            reverse = ipaddress.ip_address(value).reverse_pointer
            try:
                reverse_zone = state.zone_for(dns_id, reverse, {})
            except ApiError:
                reverse_zone = None
            if reverse_zone and not any(r["rr_full_name"] == reverse and r["rr_type"] == "PTR" for r in state.records.values()):
                ptr_id = state.new_id()
                state.records[ptr_id] = state.record_row(ptr_id, reverse, "PTR", name, ttl, reverse_zone, "")
        return 201, [{"ret_oid": rr_id, "errno": "0"}]
    if method == "PUT" and service == "dns_rr_add" and params.get("add_flag") == "edit_only":
        row = state.records.get(params.get("rr_id", ""))
        if row is None:
            raise ApiError("2202", f"Resource record not found: {params.get('rr_id')}")
        if params.get("value1"):
            row["value1"] = _value(row["rr_type"], params["value1"])
        if params.get("rr_ttl"):
            row["ttl"] = params["rr_ttl"]
        if "rr_class_parameters" in params:
            row["rr_class_parameters"] = params["rr_class_parameters"]
        return 200, [{"ret_oid": row["rr_id"], "errno": "0"}]
    if method == "DELETE" and service == "dns_rr_delete":
        if state.records.pop(params.get("rr_id", ""), None) is None:
            raise ApiError("2202", f"Resource record not found: {params.get('rr_id')}")
        return 200, [{"ret_oid": params["rr_id"], "errno": "0"}]
    raise ApiError("1001", f"Unknown service {method} {service}")


def self_signed_certificate(directory: str) -> tuple[str, str]:
    """(certificate, key) files for 127.0.0.1, made with the cryptography package (a dependency of SOLIDserverRest)."""
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sds-emulator")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_file, key_file = os.path.join(directory, "sds.crt"), os.path.join(directory, "sds.key")
    with open(cert_file, "wb") as handle_:
        handle_.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(key_file, "wb") as handle_:
        handle_.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_file, key_file


class SolidServerEmulator(EmulatedServer):
    INTERNAL = "dns-internal-smart.site.com"
    EXTERNAL = "dns-primary.site.com"

    def __init__(self, latency: float = 0.0, auto_ptr: bool = False,
                 zones: tuple[str, ...] = ("site.test", "99.10.in-addr.arpa", "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")) -> None:
        self.state = SolidServerState({self.INTERNAL: zones, self.EXTERNAL: ("site.test",)}, auto_ptr)
        self.latency = latency
        self.in_flight = 0
        self.max_in_flight = 0
        self._client = None
        self._directory = tempfile.mkdtemp(prefix="sds-emulator-")
        self.ca_cert, key_file = self_signed_certificate(self._directory)
        emulator = self
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the library's session expects
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:  # quiet
                pass

            def _authenticated(self) -> bool:
                try:
                    if "X-IPM-Username" in self.headers:
                        user = base64.b64decode(self.headers["X-IPM-Username"]).decode()
                        password = base64.b64decode(self.headers.get("X-IPM-Password", "")).decode()
                    else:
                        scheme, _space, token = self.headers.get("Authorization", "").partition(" ")
                        if scheme.lower() != "basic":
                            return False
                        user, _colon, password = base64.b64decode(token).decode().partition(":")
                except ValueError:
                    return False
                return state.users.get(user) == password

            def _send(self, status: int, body: object, headers: dict | None = None) -> None:
                payload = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                if payload:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _serve(self) -> None:
                with state.lock:
                    emulator.in_flight += 1
                    emulator.max_in_flight = max(emulator.max_in_flight, emulator.in_flight)
                try:
                    if emulator.latency:
                        time.sleep(emulator.latency)
                    if self.server.closing:  # stopped meanwhile: the request dies with the connection
                        return
                    self._answer()
                finally:
                    with state.lock:
                        emulator.in_flight -= 1

            def _answer(self) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                params = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)  # the API takes parameters from the query string only
                with state.lock:
                    state.requests.append((self.command, self.path))
                    if not self._authenticated():
                        self._send(401, None)
                        return
                    if state.throttle:
                        state.throttle -= 1
                        state.throttled += 1
                        self._send(429, {"errno": "429", "errmsg": "Too many requests"}, {"Retry-After": "0"})
                        return
                    if not parsed.path.startswith("/rest/"):
                        self._send(400, {"errno": "1001", "errmsg": f"Unknown path {parsed.path}"})
                        return
                    try:
                        status, body = handle(state, self.command, parsed.path[len("/rest/"):], params)
                    except ApiError as exc:
                        status, body = 400, {"errno": exc.errno, "errmsg": exc.errmsg, "severity": "error"}
                self._send(status, body)

            do_GET = _serve  # noqa: N815 - http.server's method names
            do_POST = _serve  # noqa: N815
            do_PUT = _serve  # noqa: N815
            do_DELETE = _serve  # noqa: N815

        self._handler = Handler
        self._ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ssl_context.load_cert_chain(self.ca_cert, key_file)
        self.httpd = self._bind(0)
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"

    def _bind(self, port: int) -> ClosingHTTPServer:
        return ClosingHTTPServer(("127.0.0.1", port), self._handler, ssl_context=self._ssl_context)

    def start(self) -> SolidServerEmulator:
        self._serve()
        return self

    def start_server(self, timeout: float = 10.0) -> None:
        self._client = None  # query() reads through a new session, not the one the stop cut
        super().start_server(timeout)

    def stop(self) -> None:
        self.stop_server()
        for name in os.listdir(self._directory):
            os.unlink(os.path.join(self._directory, name))
        os.rmdir(self._directory)

    def transfer(self, zone: str, dns_name: str | None = None) -> dict[tuple[str, str], list[str]]:
        """The zone's records on one DNS server (default: the internal one, the backend's default) from the state, in
        the shape of dns_servers.transfer(): AAAA compressed, PTR/CNAME without a trailing dot, TXT unquoted; no SOA/NS
        (the emulator keeps none). Like an AXFR, this fails (ConnectionRefusedError) while the emulator is stopped."""
        if self.stopped:
            raise ConnectionRefusedError(f"{self.host}: the emulator is stopped")
        zone, dns_name = zone.rstrip(".").lower(), dns_name or self.INTERNAL
        found: dict[tuple[str, str], list[str]] = {}
        with self.state.lock:
            if not any(z["dnszone_name"] == zone and z["dns_name"] == dns_name for z in self.state.zones.values()):
                raise KeyError(f"no zone {zone} on {dns_name}")
            for row in self.state.records.values():
                if row["dnszone_name"] != zone or row["dns_name"] != dns_name:
                    continue
                value = row["value1"]
                if row["rr_type"] == "AAAA":
                    value = str(ipaddress.IPv6Address(value))
                elif row["rr_type"] in ("PTR", "CNAME", "NS"):
                    value = value.rstrip(".")
                found.setdefault((row["rr_full_name"].lower().rstrip("."), row["rr_type"]), []).append(value)
        return {key: sorted(values) for key, values in found.items()}

    @property
    def password(self) -> str:
        return self.state.users["ipmadmin"]

    def env(self) -> dict[str, str]:
        return {"SOLIDSERVER_HOST": self.host, "SOLIDSERVER_USERNAME": "ipmadmin", "SOLIDSERVER_PASSWORD": self.password,
                "SOLIDSERVER_CA_CERT": self.ca_cert}

    def client(self):
        """A SOLIDserverRest session on the emulator, as a SOLIDserver user would open one (native auth)."""
        from SOLIDserverRest import adv  # pylint: disable=import-outside-toplevel

        if self._client is None:
            sds = adv.SDS("127.0.0.1", "ipmadmin", self.password)
            sds.sds_ip = self.host  # the library has no port option: this is the documented way to reach another port
            with warnings.catch_warnings():  # connect() itself never verifies the certificate
                warnings.simplefilter("ignore")
                sds.connect(method="native")
            sds.sds.ssl_verify = self.ca_cert  # requests takes a CA file here; later calls verify
            sds.set_rate_limit(10**9, 1)
            self._client = sds
        return self._client

    def query(self, name: str, rtype: str = "A") -> list[str]:
        """What the appliance holds for ``name``/``rtype``, read back through SOLIDserverRest."""
        from SOLIDserverRest.Exception import SDSEmptyError  # pylint: disable=import-outside-toplevel

        try:
            rows = self.client().query("dns_rr_list", {"WHERE": f"rr_full_name='{name.rstrip('.')}' and rr_type='{rtype}'"})
        except SDSEmptyError:
            return []
        values = [row["value1"] for row in rows]
        if rtype == "AAAA":  # stored exploded; shown as a DNS query shows it (rows() gives the stored form)
            values = [str(ipaddress.IPv6Address(v)) for v in values]
        elif rtype in ("PTR", "CNAME"):
            values = [v.rstrip(".") for v in values]
        elif rtype == "TXT":  # in DNS presentation form, as a DNS query shows it
            values = ['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values]
        return sorted(values)

    def rows(self, name: str) -> list[dict]:
        with self.state.lock:
            return [dict(row) for row in self.state.records.values() if row["rr_full_name"] == name]
