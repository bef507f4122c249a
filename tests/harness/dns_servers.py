"""Real DNS servers for the backend tests: PowerDNS (sqlite3 backend, HTTP API) and BIND 9 (RFC 2136 + TSIG).

Each serves the forward zone ``site.test`` and the reverse zones ``99.10.in-addr.arpa`` and
``0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa`` (2001:db8::/64) on free loopback ports,
and is stopped by PID. stop_server()/start_server()/restart() stop and start the same server again (same ports, same
data: PowerDNS's sqlite file, BIND's zone files and journals, Knot's zone files and journal db); ``stopped`` says which.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shutil
import subprocess

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import requests

from .procs import ServerProcess, free_port, port_open, wait_for

ZONES = ("site.test", "99.10.in-addr.arpa", "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")  # the reverse zones of 10.99/16, 2001:db8::/64


def query(port: int, name: str, rtype: str = "A") -> list[str]:
    """What a real DNS query to the server answers (sorted values, PTR/CNAME without the trailing dot)."""
    response = dns.query.udp(dns.message.make_query(name, rtype), "127.0.0.1", port=port, timeout=2)
    values = []
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.from_text(rtype):
            values.extend(r.to_text().rstrip(".") for r in rrset)
    return sorted(values)


def serves_zones(port: int, zones: tuple[str, ...] = ZONES) -> bool:
    """Whether the server answers each zone's SOA authoritatively (its zones are loaded, not only its port open)."""
    for zone in zones:
        try:
            response = dns.query.udp(dns.message.make_query(zone, "SOA"), "127.0.0.1", port=port, timeout=0.5)
        except (OSError, dns.exception.DNSException):
            return False
        if response.rcode() != dns.rcode.NOERROR or not response.answer:
            return False
    return True


def transfer(port: int, zone: str, key_name: str | None = None, key_secret: str | None = None) -> dict[tuple[str, str], list[str]]:
    """The whole zone by AXFR: (name, type) -> sorted values (names without the trailing dot)."""
    import dns.zone  # pylint: disable=import-outside-toplevel

    keyring = dns.tsigkeyring.from_text({key_name: key_secret}) if key_name else None
    xfr = dns.query.xfr("127.0.0.1", zone, port=port, keyring=keyring, keyalgorithm="hmac-sha256", timeout=10, lifetime=30,
                        relativize=False)
    found: dict[tuple[str, str], list[str]] = {}
    for name, node in dns.zone.from_xfr(xfr, relativize=False).nodes.items():
        for rdataset in node.rdatasets:
            key = (name.to_text().rstrip(".").lower(), dns.rdatatype.to_text(rdataset.rdtype))
            found[key] = sorted(r.to_text().rstrip(".").strip('"') for r in rdataset)
    return found


class PowerDns(ServerProcess):
    def __init__(self) -> None:
        super().__init__("kea-dns-pdns-")
        self.dns_port = free_port()
        self.api_port = free_port()
        self.api_key = secrets.token_urlsafe(16)
        self.api_url = f"http://127.0.0.1:{self.api_port}"

    def start(self) -> PowerDns:
        database = os.path.join(self.base, "pdns.sqlite3")
        with open("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql", encoding="utf-8") as schema:
            subprocess.run(["sqlite3", database], stdin=schema, check=True)
        config = {
            "launch": "gsqlite3", "gsqlite3-database": database, "local-address": "127.0.0.1", "local-port": self.dns_port,
            "api": "yes", "api-key": self.api_key, "webserver": "yes", "webserver-address": "127.0.0.1",
            "webserver-port": self.api_port, "webserver-allow-from": "127.0.0.0/8", "socket-dir": self.base, "guardian": "no",
            "daemon": "no", "disable-syslog": "yes", "security-poll-suffix": "", "loglevel": "3",
            "default-soa-content": "ns1.@ hostmaster.@ 1 10800 3600 604800 3600",
        }
        with open(os.path.join(self.base, "pdns.conf"), "w", encoding="utf-8") as handle:
            handle.writelines(f"{key}={value}\n" for key, value in config.items())
        self.spawn(["pdns_server", f"--config-dir={self.base}"], "pdns.log")
        wait_for(lambda: port_open(self.api_port), 15, "PowerDNS API")
        for zone in ZONES:
            self.api("POST", "/zones", json={"name": zone + ".", "kind": "Native", "nameservers": [f"ns1.{zone}."]})
        return self

    def serving(self) -> bool:
        return port_open(self.api_port) and serves_zones(self.dns_port)

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        response = requests.request(method, f"{self.api_url}/api/v1/servers/localhost{path}", headers={"X-API-Key": self.api_key},
                                    timeout=10, **kwargs)
        response.raise_for_status()
        return response

    def reset(self) -> None:
        """Delete every A/AAAA/PTR/CNAME/TXT RRset the tests wrote."""
        for zone in ZONES:
            rrsets = self.api("GET", f"/zones/{zone}.").json()["rrsets"]
            doomed = [{"name": r["name"], "type": r["type"], "changetype": "DELETE"} for r in rrsets if r["type"] not in ("SOA", "NS")]
            if doomed:
                self.api("PATCH", f"/zones/{zone}.", json={"rrsets": doomed})

    def env(self) -> dict[str, str]:
        return {"PDNS_API_URL": self.api_url, "PDNS_API_KEY": self.api_key}

    def query(self, name: str, rtype: str = "A") -> list[str]:
        return query(self.dns_port, name, rtype)

    def transfer(self, zone: str) -> dict[tuple[str, str], list[str]]:
        return transfer(self.dns_port, zone)


class Bind(ServerProcess):
    """named in the foreground, zones updatable and transferable with one TSIG key.

    Dynamic updates go to the zones' ``.jnl`` journals only (named does not write them into the zone files on SIGTERM;
    there is no rndc here to sync): start_server() replays the journals, so a restarted named serves them.
    """

    key_name = "tsig1"
    harness_key_name = "harness-xfr"  # the harness's own key for transfer() when tsig1 may not transfer

    def __init__(self, allow_transfer: bool = True, primary: Knot | None = None) -> None:
        """``allow_transfer=False``: the key of env() (tsig1) may update but not transfer (AXFR refused).
        ``primary``: a secondary of that Knot (its zones transferred with its key, refreshed on its NOTIFY); create it
        before the Knot (``Knot(notify_port=bind.port)``) and start it after."""
        super().__init__("kea-dns-bind-")
        self.primary = primary
        self.port = free_port()
        self.control_port = free_port()
        self.key_secret = base64.b64encode(secrets.token_bytes(32)).decode()
        self.harness_key_secret = base64.b64encode(secrets.token_bytes(32)).decode()
        self.allow_transfer = allow_transfer

    def start(self) -> Bind:
        os.chmod(self.base, 0o755)
        transfer = (f'allow-transfer {{ key "{self.key_name}"; }};' if self.allow_transfer
                    else f'allow-transfer {{ key "{self.harness_key_name}"; }};')  # tsig1 refused; transfer() uses this key
        zones = []
        for zone in ZONES:
            with open(os.path.join(self.base, f"{zone}.zone"), "w", encoding="utf-8") as handle:
                handle.write("$TTL 300\n@ IN SOA ns1.site.test. hostmaster.site.test. 1 3600 600 86400 300\n@ IN NS ns1.site.test.\n")
                if zone == "site.test":
                    handle.write("ns1 IN A 127.0.0.1\n")
            if self.primary is not None:
                zones.append(f'zone "{zone}" {{ type secondary; file "{self.base}/{zone}.sec"; {transfer} '
                             f'primaries {{ 127.0.0.1 port {self.primary.port} key "{self.primary.key_name}"; }}; }};')
                continue
            zones.append(f'zone "{zone}" {{ type primary; file "{self.base}/{zone}.zone"; allow-update {{ key "{self.key_name}"; }}; {transfer} }};')
        primary_key = ""
        if self.primary is not None and self.primary.key_name != self.key_name:
            primary_key = f'key "{self.primary.key_name}" {{ algorithm hmac-sha256; secret "{self.primary.key_secret}"; }};\n'
        elif self.primary is not None:
            self.key_secret = self.primary.key_secret  # one key named tsig1 on both
        config = f"""options {{ directory "{self.base}"; pid-file "{self.base}/named.pid"; session-keyfile "{self.base}/session.key";
  managed-keys-directory "{self.base}"; listen-on port {self.port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};
  recursion no; dnssec-validation no; notify no; tcp-idle-timeout 50; }};
controls {{ }};
key "{self.key_name}" {{ algorithm hmac-sha256; secret "{self.key_secret}"; }};
key "{self.harness_key_name}" {{ algorithm hmac-sha256; secret "{self.harness_key_secret}"; }};
{primary_key}{chr(10).join(zones)}
"""
        conf = os.path.join(self.base, "named.conf")
        with open(conf, "w", encoding="utf-8") as handle:
            handle.write(config)
        subprocess.run(["named-checkconf", conf], check=True, capture_output=True)
        self.spawn(["named", "-g", "-c", conf], "named.log")
        wait_for(lambda: port_open(self.port), 15, "BIND")
        return self

    def serving(self) -> bool:
        return port_open(self.port) and serves_zones(self.port)

    def before_start_server(self) -> None:
        with contextlib.suppress(FileNotFoundError):  # left by a named that did not exit cleanly
            os.unlink(os.path.join(self.base, "named.pid"))

    def env(self) -> dict[str, str]:
        return {"RFC2136_SERVER": "127.0.0.1", "RFC2136_PORT": str(self.port), "RFC2136_KEY_NAME": self.key_name,
                "RFC2136_KEY_SECRET": self.key_secret}

    def query(self, name: str, rtype: str = "A") -> list[str]:
        return query(self.port, name, rtype)

    def transfer(self, zone: str) -> dict[tuple[str, str], list[str]]:
        """AXFR with tsig1 (env()'s key), or with the harness's own key when tsig1 may not transfer (allow_transfer=False)."""
        if self.allow_transfer:
            return transfer(self.port, zone, self.key_name, self.key_secret)
        return transfer(self.port, zone, self.harness_key_name, self.harness_key_secret)


class Knot(ServerProcess):
    """knotd in the foreground: control socket for the knot backend, RFC 2136 + AXFR with one TSIG key."""

    key_name = "tsig1"

    def __init__(self, update_types: list[str] | None = None, user: str | None = None, notify_port: int | None = None) -> None:
        """``update_types``: limit the TSIG key's updates to these record types (Knot's ACL ``update-type``).
        ``user``: run knotd as this user (as Debian's package runs it as ``knot``); its directory is given to it.
        ``notify_port``: a secondary on 127.0.0.1 that gets a NOTIFY of every change (and may transfer with the key)."""
        super().__init__("kea-dns-knot-")
        self.update_types = update_types
        self.user = user
        self.notify_port = notify_port
        self.port = free_port()
        self.socket = os.path.join(self.base, "knot.sock")
        self.key_secret = base64.b64encode(secrets.token_bytes(32)).decode()

    def start(self) -> Knot:
        zones_dir = os.path.join(self.base, "zones")
        os.makedirs(zones_dir)
        os.makedirs(os.path.join(self.base, "db"))
        for zone in ZONES:
            with open(os.path.join(zones_dir, f"{zone}.zone"), "w", encoding="utf-8") as handle:
                handle.write("$TTL 300\n@ SOA ns1.site.test. hostmaster.site.test. 1 3600 600 86400 300\n@ NS ns1.site.test.\n")
                if zone == "site.test":
                    handle.write("ns1 A 127.0.0.1\n")
        notify = "    notify: secondary\n" if self.notify_port else ""
        remote = f"remote:\n  - id: secondary\n    address: 127.0.0.1@{self.notify_port}\n" if self.notify_port else ""
        zone_lines = "".join(f"  - domain: {zone}\n    acl: [update, transfer]\n{notify}" for zone in ZONES)
        update_limit = f"    update-type: [{', '.join(self.update_types)}]\n" if self.update_types else ""
        config = f"""server:
    rundir: "{self.base}"
    listen: 127.0.0.1@{self.port}
database:
    storage: "{self.base}/db"
key:
  - id: {self.key_name}
    algorithm: hmac-sha256
    secret: {self.key_secret}
{remote}acl:
  - id: update
    key: {self.key_name}
    action: update
{update_limit}  - id: transfer
    key: {self.key_name}
    action: transfer
template:
  - id: default
    storage: "{zones_dir}"
    file: "%s.zone"
zone:
{zone_lines}control:
    listen: "{self.socket}"
log:
  - target: stdout
    any: info
"""
        conf = os.path.join(self.base, "knot.conf")
        with open(conf, "w", encoding="utf-8") as handle:
            handle.write(config)
        subprocess.run(["knotc", "-c", conf, "conf-check"], check=True, capture_output=True)
        command = ["knotd", "-c", conf]
        if self.user:
            for root, dirs, files in os.walk(self.base):
                for name in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
                    shutil.chown(name, self.user, self.user)
            as_user = ["setpriv", f"--reuid={self.user}", f"--regid={self.user}", "--init-groups"]
            # With -c, knotd keeps its configuration database in a new directory under /tmp, which a machine need not
            # let the knot user write to: import it into a directory of its own and start from that (-C).
            confdb = os.path.join(self.base, "confdb")
            subprocess.run([*as_user, "knotc", "-C", confdb, "conf-import", conf], check=True, capture_output=True)
            command = [*as_user, "knotd", "-C", confdb]
        self.spawn(command, "knotd.log")
        wait_for(lambda: port_open(self.port) and os.path.exists(self.socket), 15, "Knot")
        return self

    def serving(self) -> bool:
        """Port open, zones loaded (zone file + journal), control socket answering (one short knotc, not held)."""
        if not (port_open(self.port) and os.path.exists(self.socket) and serves_zones(self.port)):
            return False
        return subprocess.run(["knotc", "-s", self.socket, "-t", "2", "status"], capture_output=True, check=False).returncode == 0

    def before_start_server(self) -> None:
        with contextlib.suppress(FileNotFoundError):  # a stale socket would pass for a ready server
            os.unlink(self.socket)

    def env(self) -> dict[str, str]:
        """Options for the knot (control socket) backend."""
        return {"KNOT_SOCKET": self.socket}

    def rfc2136_env(self) -> dict[str, str]:
        """Options for the rfc2136 backend against this Knot."""
        return {"RFC2136_SERVER": "127.0.0.1", "RFC2136_PORT": str(self.port), "RFC2136_KEY_NAME": self.key_name,
                "RFC2136_KEY_SECRET": self.key_secret}

    def query(self, name: str, rtype: str = "A") -> list[str]:
        return query(self.port, name, rtype)

    def transfer(self, zone: str) -> dict[tuple[str, str], list[str]]:
        return transfer(self.port, zone, self.key_name, self.key_secret)
