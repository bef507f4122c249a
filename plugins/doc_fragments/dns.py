# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DNS backend options; argspec: plugins/module_utils/_argspec.py dns_argspec() and one builder per backend."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  provider:
    description:
      - The DNS backend. Each has its own connection options, prefixed with its name.
      - V(powerdns) is PowerDNS Authoritative's HTTP API; V(rfc2136) is dynamic update (BIND, Knot, PowerDNS and others);
        V(knot) is Knot DNS's control socket (zone transactions); V(technitium) is Technitium DNS Server's HTTP API.
    type: str
    required: true
    choices: [powerdns, rfc2136, knot, technitium]
  dns_timeout:
    description:
      - Seconds to wait for each answer from the DNS backend before the task fails.
    type: float
    default: 10.0
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
  - libknot (C(pip install libknot), the version matching the installed Knot) for O(provider=knot)
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
