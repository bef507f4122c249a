#!/usr/bin/python
# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: route_records
short_description: Make DNS hold the hostnames of a Kubernetes cluster's Ingress, IngressRoute and HTTPRoute objects, once
version_added: 0.1.0
description:
  - Reads the routes of a cluster once (Ingress, Traefik IngressRoute, Gateway API HTTPRoute with its Gateways) and
    makes DNS hold an A record (AAAA for an IPv6 address) for each of their hostnames, as the route program
    (C(roles/route_dns/files/route_dns_sync.py)) keeps doing in the cluster. For an AWX job template, or a cluster
    without the program.
  - The same rules as the program (docs/routes.md). Names come from C(spec.rules[].host) (and, with O(tls_hosts),
    C(spec.tls[].hosts)), the C(Host), C(HostHeader) and C(HostSNI) matchers of an IngressRoute's C(match) (not under
    a C(!)), and an HTTPRoute's C(spec.hostnames) narrowed by the listeners of the Gateways that accepted it. The address
    comes from the target annotation, then O(target), then the route's status.
  - Only records with O(owner_id) are changed or deleted. A record of the Kea pipeline in the same zone, or one nobody
    here owns, is left alone and reported in RV(conflicts). A route whose address is not known yet (an empty status)
    keeps the records its names have.
  - A route that cannot be used (a name that is no DNS name, a C(match) that cannot be parsed, a target or TTL
    annotation that is wrong) is left out, with its reason in RV(skipped); the others are applied.
  - A kind whose API is not installed (a missing CRD) is skipped with a warning. Any other failure of the Kubernetes
    API fails the task before DNS is read, so that nothing is deleted because a list was missing.
  - Check mode is a dry run that reports the plan; with C(--diff), the records before and after.
author:
  - ddi.kea_dns maintainers (@ddi)
extends_documentation_fragment:
  - ddi.kea_dns.route_source
  - ddi.kea_dns.dns
  - ddi.kea_dns.dns.POWERDNS
  - ddi.kea_dns.dns.RFC2136
  - ddi.kea_dns.dns.KNOT
  - ddi.kea_dns.dns.TECHNITIUM
  - ddi.kea_dns.dns.HOSTS_FILE
  - ddi.kea_dns.dns.SOLIDSERVER
  - ddi.kea_dns.vault
  - ddi.kea_dns.attributes
options:
  api_timeout:
    description: Seconds to wait for each answer of the Kubernetes API.
    type: float
    default: 30.0
seealso:
  - module: ddi.kea_dns.dns_record
"""

EXAMPLES = r"""
- name: Publish the routes of the cluster in site.test on Technitium (token from TECHNITIUM_TOKEN)
  ddi.kea_dns.route_records:
    kubeconfig: ~/.kube/config
    zones: [site.test]
    target: 192.0.2.10
    provider: technitium
    technitium_api_url: http://dns1.site.test:5380

- name: What would change on PowerDNS for the routes of two namespaces (dry run with the plan as diff)
  ddi.kea_dns.route_records:
    namespaces: [web, shop]
    zones: [apps.example.com]
    owner_id: k8s/prod
    provider: powerdns
    powerdns_api_url: http://127.0.0.1:8081
  check_mode: true
  diff: true
"""

RETURN = r"""
summary:
  description: How many RRsets were created, updated, deleted, and left as they were.
  returned: always
  type: dict
  sample: {created: 3, updated: 0, deleted: 1, unchanged: 12}
changes:
  description: The RRsets changed, with their action.
  returned: always
  type: list
  elements: dict
  sample: [{zone: site.test, name: shop.site.test, type: A, values: [192.0.2.10], ttl: 300, action: create}]
conflicts:
  description: Records the routes want that another owner has, or that nobody here owns (left alone).
  returned: always
  type: list
  elements: str
skipped:
  description: Routes, or names of them, left out, by route (C(<kind>/<namespace>/<name>)), with the reason.
  returned: always
  type: dict
  sample: {"Ingress/web/shop": "spec.rules[1].host: invalid value 'shop_': ... skipped"}
pending:
  description: Routes whose address is not known yet; the records of their names were left as they were.
  returned: always
  type: list
  elements: str
routes:
  description: How many routes were read.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ddi.kea_dns.plugins.module_utils._module.argspec import dns_argspec, route_source_argspec, vault_argspec
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.edge import run
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.route_records import run_route_records


def main() -> None:
    argument_spec = {**route_source_argspec(), **dns_argspec(), **vault_argspec(), "api_timeout": {"type": "float", "default": 30.0}}
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    run(module, run_route_records)


if __name__ == "__main__":
    main()
