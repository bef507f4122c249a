# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How Kubernetes routes become records; argspec: plugins/module_utils/_module/argspec.py route_source_argspec()."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - The kubeconfig file of the cluster. Falls back to E(KUBECONFIG); without either, the in-cluster service account.
    type: path
  namespaces:
    description:
      - Namespaces whose routes are read; empty reads every namespace. Falls back to E(WATCH_NAMESPACE) (comma-separated).
    type: list
    elements: str
    default: []
  kinds:
    description:
      - The kinds of routes read. V(Ingress) (C(networking.k8s.io/v1)), V(IngressRoute) (Traefik, C(traefik.io/v1alpha1)),
        V(HTTPRoute) (Gateway API C(v1), else C(v1beta1), with the Gateways they attach to).
      - A kind whose API is not installed (a missing CRD) is skipped with a warning. Falls back to E(ROUTE_KINDS).
    type: list
    elements: str
    default: [Ingress, IngressRoute, HTTPRoute]
  traefik_legacy:
    description:
      - Also read IngressRoutes of the legacy API group C(traefik.containo.us).
    type: bool
    default: false
  zones:
    description:
      - The zones of the records. A route's name is kept when it is one of them or lies in one; the others are left
        out and reported. Empty keeps every name. Falls back to E(DNS_ZONE) (comma-separated).
    type: list
    elements: str
    default: []
  target:
    description:
      - The address (or comma-separated addresses) of every route's names, before any status, such as the ingress
        load balancer's. A route's C(ddi.kea_dns/target) or C(external-dns.alpha.kubernetes.io/target) annotation comes
        first; without either and without this, the route's status (C(status.loadBalancer.ingress), the accepted
        Gateways' C(status.addresses)). An IPv6 address gives an AAAA record. Falls back to E(DNS_IP_ADDRESS).
    type: str
  ttl:
    description:
      - TTL of the records; a route's C(ddi.kea_dns/ttl) or C(catalyst-dns-sync.io/ttl) annotation overrides it.
        Falls back to E(DNS_TTL_DEFAULT).
    type: int
    default: 300
  tls_hosts:
    description:
      - Also take an Ingress's C(spec.tls[].hosts) as names (they are certificate names, so off by default).
    type: bool
    default: false
  ingress_classes:
    description:
      - Only Ingresses of these IngressClasses (C(spec.ingressClassName) or the C(kubernetes.io/ingress.class)
        annotation); empty takes every Ingress.
    type: list
    elements: str
    default: []
  wildcards:
    description:
      - Publish wildcard names (V(*.apps.example.com)); left out otherwise.
    type: bool
    default: false
  owner_id:
    description:
      - The owner id of the records (one per cluster, for example V(k8s/prod)). Only records with this owner id are
        changed or deleted; the Kea pipeline's (V(kea/default)) and records nobody here owns are left alone and
        reported as conflicts. Falls back to E(ROUTE_OWNER_ID).
    type: str
    default: k8s/default
"""
