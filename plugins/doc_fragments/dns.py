# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DNS backend options; argspec: plugins/module_utils/_module/argspec.py dns_argspec() and one builder per backend."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  provider:
    description:
      - The DNS backend. Each has its own connection options, prefixed with its name.
      - V(powerdns) is PowerDNS Authoritative's HTTP API; V(rfc2136) is dynamic update (BIND, Knot, PowerDNS and others);
        V(knot) is Knot DNS's control socket (zone transactions); V(technitium) is Technitium DNS Server's HTTP API;
        V(solidserver) is EfficientIP SOLIDserver through the SOLIDserverRest library; V(hosts_file) is a managed block
        of a hosts file (C(/etc/hosts)), for development without a DNS server.
    type: str
    required: true
    choices: [powerdns, rfc2136, knot, technitium, solidserver, hosts_file]
  dns_timeout:
    description:
      - Seconds to wait for each answer from the DNS backend before the task fails.
    type: float
    default: 10.0
  dns_vault_path:
    description:
      - With O(use_vault), the path of the KV version 2 secret (in O(vault_mount)) that holds the backend's credentials.
        They override the options they stand for.
      - The keys are C(username) and C(password) for V(solidserver), C(api_key) for V(powerdns), C(token) for
        V(technitium), C(key_secret) and optionally C(key_name) for V(rfc2136). V(knot) has no credentials.
    type: str
    default: teams/core-infrastructure/server/baremetal_dns
  dns_owner_txt:
    description:
      - For backends that keep no owner metadata with records (V(rfc2136), V(knot)), also keep a TXT record
        C(_kea-dns.<name>) holding C(managed-by ddi.kea_dns <TYPE> owner=<owner id>) for every RRset this collection writes, changed
        in the same atomic call as the records. Records then read back with C(owned=true), and later prune and
        reconcile touch only those.
      - When not set, the markers are on where records are managed by owner id (M(ddi.kea_dns.dns_sync), M(ddi.kea_dns.dns_record)
        with O(ddi.kea_dns.dns_record#module:owner_id), and the listener daemon, whose default this is) and off otherwise
        (M(ddi.kea_dns.dns_record) without an owner id, M(ddi.kea_dns.dns_record_info)).
      - The marker records are not counted in the C(summary) of M(ddi.kea_dns.dns_record) or shown in its diff.
      - Ignored by backends with native owner metadata (V(powerdns), V(technitium), V(solidserver)).
    type: bool
"""

    POWERDNS = r"""
options:
  powerdns_api_url:
    description:
      - Base URL of the PowerDNS webserver (without C(/api/v1)). Falls back to E(PDNS_API_URL).
    type: str
    default: http://127.0.0.1:8081
  powerdns_api_key:
    description:
      - PowerDNS API key, sent in the C(X-API-Key) header. Falls back to E(PDNS_API_KEY). Never logged.
      - Required with O(provider=powerdns).
    type: str
  powerdns_server_id:
    description:
      - PowerDNS server id in the API path.
    type: str
    default: localhost
  powerdns_validate_certs:
    description:
      - Verify the TLS certificate of an C(https) O(powerdns_api_url).
    type: bool
    default: true
  powerdns_ownership:
    description:
      - How the records the collection owns are marked.
      - V(comment) is an RRset comment with account C(ddi.kea_dns), shown by PowerDNS tools.
      - V(txt) is a TXT marker record next to each owned RRset, as O(dns_owner_txt) does for RFC 2136 and Knot. Use it for
        large zones. PowerDNS lists every comment of a zone on each read of the API, even a read of one RRset, so with
        comments a read costs time in proportion to the zone. Without comments, a read of one RRset costs the same at any
        zone size. docs/backends/powerdns.md has the figures.
      - With V(txt), a record marked by a comment still counts as owned, and its comment is removed when the
        collection writes it again. Moving a zone from V(comment) to V(txt) therefore loses no ownership.
    type: str
    choices: [comment, txt]
    default: comment
"""

    RFC2136 = r"""
options:
  rfc2136_server:
    description:
      - Address of the primary server that accepts dynamic updates. Falls back to E(RFC2136_SERVER).
    type: str
    default: 127.0.0.1
  rfc2136_port:
    description:
      - Port of O(rfc2136_server). Updates and reads go over TCP. Falls back to E(RFC2136_PORT).
    type: int
    default: 53
  rfc2136_key_name:
    description:
      - Name of the TSIG key. Falls back to E(RFC2136_KEY_NAME).
    type: str
  rfc2136_key_secret:
    description:
      - Base64 secret of the TSIG key. Falls back to E(RFC2136_KEY_SECRET). Never logged.
    type: str
  rfc2136_key_algorithm:
    description:
      - TSIG algorithm. Falls back to E(RFC2136_KEY_ALGORITHM).
    type: str
    default: hmac-sha256
    choices: [hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1, hmac-md5]
requirements:
  - dnspython (C(pip install dnspython)) for O(provider=rfc2136)
  - requests (C(pip install requests)) for O(provider=powerdns)
"""

    KNOT = r"""
options:
  knot_socket:
    description:
      - Path of Knot's control socket (C(control.listen) in C(knot.conf)); the task must run on the Knot host and may
        need to run as the C(knot) user. Falls back to E(KNOT_SOCKET).
    type: path
    default: /run/knot/knot.sock
requirements:
  - libknot (C(pip install libknot), the version matching the installed Knot) for the Knot control socket
"""

    TECHNITIUM = r"""
options:
  technitium_api_url:
    description:
      - Base URL of the Technitium web service. Falls back to E(TECHNITIUM_API_URL).
    type: str
    default: http://127.0.0.1:5380
  technitium_token:
    description:
      - Technitium API token (create one with C(/api/user/createToken)). Sent in the POST form body, never in a URL.
      - Falls back to E(TECHNITIUM_TOKEN). Never logged. Required with O(provider=technitium).
    type: str
  technitium_validate_certs:
    description:
      - Verify the TLS certificate of an C(https) O(technitium_api_url).
    type: bool
    default: true
"""

    HOSTS_FILE = r"""
options:
  hosts_file_path:
    description:
      - With O(provider=hosts_file), the hosts file whose managed block (C(# BEGIN DDI.KEA_DNS MANAGED BLOCK) ...
        C(# END DDI.KEA_DNS MANAGED BLOCK)) holds the A and AAAA records, one line per address and name. Lines outside
        the block are never changed. The file is replaced atomically (a rename in its directory). Falls back to E(HOSTS_FILE_PATH).
    type: path
    default: /etc/hosts
  hosts_file_zones:
    description:
      - With O(provider=hosts_file), the zones the file stands for. A name belongs to the longest zone that holds it.
      - Empty, a name's zone is its parent domain (V(us3-cab10-ru20-idrac.site.test) is in V(site.test)). List the zones
        when names lie deeper below a zone than one label.
    type: list
    elements: str
    default: []
"""

    SOLIDSERVER = r"""
options:
  solidserver_host:
    description:
      - Host name or IPv4 address of the SOLIDserver management appliance, with an optional V(:port). The API is
        always HTTPS. Falls back to E(SOLIDSERVER_HOST). Required with O(provider=solidserver).
    type: str
  solidserver_username:
    description:
      - SOLIDserver API user. Falls back to E(SOLIDSERVER_USERNAME); with O(use_vault), the secret's C(username).
    type: str
  solidserver_password:
    description:
      - Password of O(solidserver_username). Falls back to E(SOLIDSERVER_PASSWORD); with O(use_vault), the
        secret's C(password). Never logged.
    type: str
  solidserver_auth_method:
    description:
      - V(native) sends the credentials in SOLIDserver's C(X-IPM-Username)/C(X-IPM-Password) headers;
        V(basicauth) uses HTTP basic authentication.
    type: str
    default: native
    choices: [native, basicauth]
  solidserver_scope:
    description:
      - Which DNS server of O(solidserver_scope_servers) the records go to, as the in-house tool's C(--dns-scope).
        Falls back to E(SOLIDSERVER_SCOPE). Ignored when O(solidserver_dns_server) is set.
    type: str
    default: internal
    choices: [internal, external]
  solidserver_scope_servers:
    description:
      - The SOLIDserver DNS server name (C(dns_name)) of each scope.
    type: dict
    default:
      internal: dns-internal-smart.site.com
      external: dns-primary.site.com
  solidserver_dns_server:
    description:
      - The SOLIDserver DNS server name (C(dns_name)) to write to, instead of the one of O(solidserver_scope).
        Falls back to E(SOLIDSERVER_DNS_SERVER).
    type: str
  solidserver_validate_certs:
    description:
      - Verify the appliance's TLS certificate, against O(solidserver_ca_cert) or else the system's CA bundle
        (E(REQUESTS_CA_BUNDLE) is honoured). SOLIDserverRest's own default is not to verify; this collection's is.
    type: bool
    default: true
  solidserver_ca_cert:
    description:
      - PEM file of the CA (or self-signed certificate) that signed the appliance's certificate.
        Falls back to E(SOLIDSERVER_CA_CERT).
    type: path
  solidserver_max_parallel:
    description:
      - SOLIDserver has no batch call and stores one row per record value, so a batch is one call per value,
        made by up to this many parallel requests. V(1) makes one call at a time.
    type: int
    default: 8
  solidserver_rate_limit:
    description:
      - Calls per minute allowed by SOLIDserverRest's client-side rate limiter. V(0) turns that limiter off
        (by default it sleeps before every call), leaving O(solidserver_max_parallel) and the appliance's own
        HTTP 429 answers, which the library honours after their C(Retry-After), to limit the load.
    type: int
    default: 0
requirements:
  - SOLIDserverRest 2.14 or later (C(pip install SOLIDserverRest)) for O(provider=solidserver); 2.12 cannot be
    imported on Python older than 3.12.
"""
