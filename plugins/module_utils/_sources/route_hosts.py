# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the hostnames of Kubernetes routes as A/AAAA records. No Ansible, no Kubernetes client.

The objects are plain dicts with camelCase keys, as ``CustomObjectsApi`` returns them and ``ApiClient().
sanitize_for_serialization()`` turns typed ones into: an Ingress (``ingress``), a Traefik IngressRoute
(``ingressroute``) and a Gateway API HTTPRoute with the Gateways it names (``httproute``). Each gives one
``RouteRecords``: the names the route wants, the addresses they point to, the TTL, and the reasons anything was left
out. A route that cannot be used at all (a bad TTL or target annotation) wants no names and says why in one problem.

A route whose address is not known yet (no load balancer status, no accepted Gateway with an address, no configured
target) keeps its names with no targets: it claims them but says nothing about their values. The caller must leave
existing records of such names alone; an empty status never deletes (``RouteRecords.pending``).
"""

from __future__ import annotations

import ipaddress
import re
import typing as t
from dataclasses import dataclass

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import RRset, RRsetKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.traefik_rule import RuleError, parse_rule

MAX_TTL = 2147483647
GATEWAY_GROUP = "gateway.networking.k8s.io"
CLASS_ANNOTATION = "kubernetes.io/ingress.class"
LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
DIGITS_RE = re.compile(r"[0-9]+")
HOST_MATCHERS = ("host", "hostheader", "hostsni")  # Traefik matchers whose arguments are names (compared lower-cased)
PATTERN_MATCHERS = ("hostregexp", "hostsniregexp")  # ... and those whose arguments are patterns, never a name
NOT_HTTP = ("TCP", "UDP", "TLS")  # listener protocols an HTTPRoute never attaches to
Address = t.Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


@dataclass(frozen=True)
class RouteSettings:
    zones: tuple[str, ...] = ()  # name suffixes a kept name equals or ends in (after a dot); empty: every name
    target: str | None = None  # the configured address(es), comma-separated; before any status
    tls_hosts: bool = False  # Ingress spec.tls[].hosts are names too (they are certificate names: opt-in)
    ingress_classes: tuple[str, ...] = ()  # Ingress only: spec.ingressClassName or the legacy annotation; empty: all
    wildcards: bool = False  # keep ``*.example.com`` names
    default_ttl: int = 300
    ttl_annotations: tuple[str, ...] = ("ddi.kea_dns/ttl", "catalyst-dns-sync.io/ttl")  # the first present wins
    target_annotations: tuple[str, ...] = ("ddi.kea_dns/target", "external-dns.alpha.kubernetes.io/target")
    hostname_annotations: tuple[str, ...] = ("external-dns.alpha.kubernetes.io/hostname",)  # comma-separated names

    def __post_init__(self) -> None:
        for name in ("zones", "ingress_classes", "ttl_annotations", "target_annotations", "hostname_annotations"):
            value = getattr(self, name)  # a list, or one string, given for a tuple
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))
        object.__setattr__(self, "zones", tuple(zone.lower().strip(".") for zone in self.zones))

    def in_zones(self, name: str) -> bool:
        base = name[2:] if name.startswith("*.") else name
        return not self.zones or any(base == zone or base.endswith("." + zone) for zone in self.zones)


@dataclass(frozen=True)
class RouteRecords:
    """What one route wants. ``names`` with ``targets``: these A/AAAA records. ``names`` without ``targets``
    (``pending``): the names are the route's but their address is not known yet; existing records stay as they are.
    No names: the route wants nothing. ``problems``: what is wrong (a name, an annotation, a match rule);
    ``ignored``: what the settings leave out on purpose (zones, ingress classes, wildcards)."""

    ref: str  # <kind>/<namespace>/<name>
    names: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    ttl: int = 300
    problems: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()

    @property
    def pending(self) -> bool:
        return bool(self.names) and not self.targets

    def rrsets(self, find_zone: t.Callable[[str], str], owner: str | None = None) -> tuple[RRset, ...]:
        """An A RRset (the IPv4 targets) and an AAAA RRset (the IPv6 targets) per name, in the zone ``find_zone``
        gives (its errors are raised), marked with ``owner`` and the route as origin; none for a family without
        targets, and nothing at all while ``pending``."""
        result = []
        for name in self.names:
            for rtype, version in (("A", 4), ("AAAA", 6)):
                values = tuple(value for value in self.targets if ipaddress.ip_address(value).version == version)
                if values:
                    result.append(RRset(find_zone(name), RRsetKey(name, rtype), values, self.ttl, owner=owner, origin=self.ref))
        return tuple(result)


# -- names and addresses ------------------------------------------------------------------------------------------
def parse_hostname(value: object, field: str = "hostname") -> str:
    """A route's hostname -> lower-case, no trailing dot; ``*`` only as the whole first label of a longer name (the
    caller decides whether it keeps wildcards). InvalidInputError naming the value and why."""
    if not isinstance(value, str) or not value:
        raise InvalidInputError(field, value, "expected a DNS name")
    name = value.lower()
    name = name[:-1] if name.endswith(".") else name
    if len(name) > 253:
        raise InvalidInputError(field, value, f"{len(name)} characters is longer than 253")
    if name == "*":
        raise InvalidInputError(field, value, "a lone '*' matches every name and is no DNS name")
    labels = name.split(".")
    if labels[-1].isdigit():
        raise InvalidInputError(field, value, "the last label is all digits: an IP address, not a name")
    for label in labels[1:] if labels[0] == "*" else labels:
        why = ("'*' is allowed only as the whole first label" if "*" in label else "empty label" if not label
               else f"label {label[:20]!r}... is longer than 63 characters" if len(label) > 63
               else f"label {label!r} may hold only letters, digits and hyphens, not first or last" if not LABEL_RE.fullmatch(label)
               else None)
        if why:
            raise InvalidInputError(field, value, why)
    return name


def parse_targets(value: object, field: str) -> tuple[str, ...]:
    """Comma-separated IP addresses -> deduplicated, sorted (IPv4 first), IPv6 compressed. InvalidInputError when
    one is no IP address or none is given."""
    parts = [part.strip() for part in value.split(",")] if isinstance(value, str) else []
    if not any(parts):
        raise InvalidInputError(field, value, "expected one or more IP addresses, comma-separated")
    found = set()
    for part in filter(None, parts):
        try:
            found.add(ipaddress.ip_address(part))
        except ValueError:
            raise InvalidInputError(field, value, f"{part!r} is not an IP address (this source writes A and AAAA "
                                                  "records only)") from None
    return _sorted(found)


def _sorted(addresses: t.Iterable[Address]) -> tuple[str, ...]:
    return tuple(str(address) for address in sorted(set(addresses), key=lambda address: (address.version, int(address))))


def _dict(value: t.Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: t.Any) -> list:
    return value if isinstance(value, list) else []


def _ref(kind: str, obj: t.Mapping) -> str:
    meta = _dict(obj.get("metadata"))
    return f"{kind}/{meta.get('namespace') or 'default'}/{meta.get('name') or '?'}"


class _Route:
    """The findings about one route while they are gathered. ``skipped``: the result when its TTL or target
    annotation (or the configured target) is wrong, and nothing else counts."""

    def __init__(self, kind: str, obj: t.Mapping, settings: RouteSettings) -> None:
        self.ref = _ref(kind, obj)
        self.settings = settings
        self.annotations = _dict(_dict(obj.get("metadata")).get("annotations"))
        self.problems: list[str] = []
        self.ignored: list[str] = []
        self.names: list[str] = []
        self.skipped: RouteRecords | None = None
        self.ttl = settings.default_ttl
        self.targets: tuple[str, ...] | None = None
        try:
            self.ttl, self.targets = self.annotated_ttl(), self.configured_targets()
        except InvalidInputError as exc:
            self.skipped = RouteRecords(self.ref, ttl=settings.default_ttl, problems=(f"{exc}: the route is skipped",))

    def annotated_ttl(self) -> int:
        for key in self.settings.ttl_annotations:
            if key in self.annotations:
                raw = self.annotations[key]
                text = raw.strip() if isinstance(raw, str) else ""
                if not DIGITS_RE.fullmatch(text) or not 0 < int(text) <= MAX_TTL:
                    raise InvalidInputError(f"annotation {key}", raw, f"a TTL is a whole number of seconds from 1 to {MAX_TTL}")
                return int(text)
        return self.settings.default_ttl

    def configured_targets(self) -> tuple[str, ...] | None:
        """The target annotation (the first present), else the configured target; None when neither is set."""
        for key in self.settings.target_annotations:
            if key in self.annotations:
                return parse_targets(self.annotations[key], f"annotation {key}")
        if self.settings.target:
            return parse_targets(self.settings.target, "target")
        return None

    def checked(self, value: object, where: str) -> str | None:
        try:
            return parse_hostname(value, where)
        except InvalidInputError as exc:
            self.problems.append(f"{exc}: skipped")
            return None

    def add(self, value: object, where: str) -> None:
        """Keep one hostname when it is valid, and the settings want it."""
        name = self.checked(value, where)
        if name is not None:
            self.keep(name)

    def keep(self, name: str) -> None:
        if name.startswith("*.") and not self.settings.wildcards:
            self.ignored.append(f"{name}: a wildcard name (wildcards are off)")
        elif not self.settings.in_zones(name):
            self.ignored.append(f"{name}: in none of the zones {', '.join(self.settings.zones)}")
        else:
            self.names.append(name)

    def annotated_names(self) -> list[tuple[str, str]]:
        """(hostname, where) of the hostname annotations."""
        found = []
        for key in self.settings.hostname_annotations:
            raw = self.annotations.get(key)
            if isinstance(raw, str):
                found.extend((part.strip(), f"annotation {key}") for part in raw.split(",") if part.strip())
            elif raw is not None:
                self.problems.append(f"annotation {key}: invalid value {raw!r}: expected comma-separated names")
        return found

    def observed(self, addresses: t.Iterable[tuple[str | None, object]], where: str) -> list[Address]:
        """The IP addresses among (type, value) status entries (type None or IPAddress); the others are problems
        unless an address is found."""
        found: list[Address] = []
        others: list[str] = []
        for rtype, value in addresses:
            if rtype not in (None, "IPAddress"):
                others.append(f"{value} ({rtype})")
                continue
            try:
                found.append(ipaddress.ip_address(str(value)))
            except ValueError:
                self.problems.append(f"{where}: {value!r} is not an IP address: skipped")
        if others and not found:
            self.problems.append(f"{where} holds no IP address, only {', '.join(others)}: a name is not an address")
        return found

    def result(self, observed: t.Iterable[Address], missing: str = "no address in status") -> RouteRecords:
        """The names found; the configured targets, else the ``observed`` addresses of the status."""
        targets = self.targets if self.targets is not None else _sorted(observed)
        names = tuple(sorted(set(self.names)))
        if not names and not self.problems and not self.ignored:
            self.problems.append("no hostname")
        elif names and not targets:
            self.problems.append(f"no target yet: {missing} and no target annotation or configured target (existing "
                                 "records are left alone)")
        return RouteRecords(self.ref, names, targets if names else (), self.ttl, tuple(dict.fromkeys(self.problems)),
                            tuple(dict.fromkeys(self.ignored)))


# -- Ingress ------------------------------------------------------------------------------------------------------
def ingress(obj: t.Mapping, settings: RouteSettings) -> RouteRecords:
    """The names of an Ingress (rule hosts, TLS hosts when ``tls_hosts``, hostname annotations) and its targets: the
    target annotation, else the configured target, else the load balancer IPs of its status."""
    spec, route = _dict(obj.get("spec")), _Route("Ingress", obj, settings)
    if settings.ingress_classes:
        classes = [value for value in (spec.get("ingressClassName"), route.annotations.get(CLASS_ANNOTATION)) if value]
        if not any(value in settings.ingress_classes for value in classes):
            shown = f"IngressClass {' / '.join(map(str, classes))}" if classes else "no IngressClass"
            return RouteRecords(route.ref, ttl=settings.default_ttl, ignored=(f"{shown}, not one of {', '.join(settings.ingress_classes)}",))
    if route.skipped:
        return route.skipped
    for index, rule in enumerate(_list(spec.get("rules"))):
        host = _dict(rule).get("host")
        if host:
            route.add(host, f"spec.rules[{index}].host")
    if settings.tls_hosts:
        for index, tls in enumerate(_list(spec.get("tls"))):
            for number, host in enumerate(_list(_dict(tls).get("hosts"))):
                route.add(host, f"spec.tls[{index}].hosts[{number}]")
    for host, where in route.annotated_names():
        route.add(host, where)
    if route.targets is not None:  # the status is not read, nor are its faults reported
        return route.result(())
    entries = [_dict(entry) for entry in _list(_dict(_dict(obj.get("status")).get("loadBalancer")).get("ingress"))]
    return route.result(route.observed([(None, entry["ip"]) if entry.get("ip") else ("hostname", entry.get("hostname"))
                                        for entry in entries if entry.get("ip") or entry.get("hostname")], "status.loadBalancer.ingress"))


# -- Traefik IngressRoute -----------------------------------------------------------------------------------------
def ingressroute(obj: t.Mapping, settings: RouteSettings) -> RouteRecords:
    """The names in the ``Host``, ``HostHeader`` and ``HostSNI`` matchers of an IngressRoute's routes (not under a
    ``!``; ``HostSNI(`*`)`` is a catch-all, not a name) and the hostname annotations. An IngressRoute has no status:
    its targets are the target annotation or the configured target."""
    route = _Route("IngressRoute", obj, settings)
    if route.skipped:
        return route.skipped
    for index, item in enumerate(_list(_dict(obj.get("spec")).get("routes"))):
        match = _dict(item).get("match")
        if not isinstance(match, str) or not match.strip():
            route.problems.append(f"spec.routes[{index}] has no match: skipped")
            continue
        try:
            matchers = parse_rule(match)
        except RuleError as exc:
            route.problems.append(f"cannot parse match {match!r} (spec.routes[{index}]): {exc}")
            continue
        for matcher in matchers:
            kind = matcher.name.lower()
            if matcher.negated or kind not in HOST_MATCHERS + PATTERN_MATCHERS:
                continue
            if kind in PATTERN_MATCHERS:
                shown = ", ".join(f"`{arg}`" for arg in matcher.args)
                route.problems.append(f"spec.routes[{index}]: {matcher.name}({shown}) is a pattern, not a name: skipped")
            elif not matcher.args:
                route.problems.append(f"spec.routes[{index}]: {matcher.name}() names no host")
            for arg in matcher.args if kind in HOST_MATCHERS else ():
                if not (kind == "hostsni" and arg == "*"):
                    route.add(arg, f"spec.routes[{index}] {matcher.name}")
    for host, where in route.annotated_names():
        route.add(host, where)
    return route.result((), "an IngressRoute has no status")


# -- Gateway API HTTPRoute ----------------------------------------------------------------------------------------
def intersect(route_host: str | None, listener_host: str | None) -> str | None:
    """The name a route hostname and a listener hostname both match (either may be ``*.`` wildcard, matching one or
    more labels, never the bare suffix), the more specific of the two; None when they do not meet. No listener
    hostname admits every route hostname; no route hostname inherits the listener's."""
    if listener_host is None or route_host is None or route_host == listener_host:
        return route_host or listener_host
    if listener_host.startswith("*.") and route_host.endswith(listener_host[1:]) and len(route_host) > len(listener_host) - 1:
        return route_host
    if route_host.startswith("*.") and listener_host.endswith(route_host[1:]) and len(listener_host) > len(route_host) - 1:
        return listener_host
    return None


def _group(ref: t.Mapping) -> str:
    """A reference's API group: unset is the Gateway API's, "" the core group (a Service)."""
    group = ref.get("group")
    return GATEWAY_GROUP if group is None else group


def _same_parent(spec_ref: t.Mapping, status_ref: t.Mapping, namespace: str) -> bool:
    def key(ref: t.Mapping) -> tuple:
        return (_group(ref), ref.get("kind") or "Gateway", ref.get("namespace") or namespace,
                ref.get("name"), ref.get("sectionName") or None, ref.get("port"))
    return key(spec_ref) == key(status_ref)


def _accepted(route: t.Mapping, parent: t.Mapping, namespace: str) -> bool:
    """Whether the route's status has ``parent`` with the condition Accepted True (from any controller)."""
    for status in (_dict(item) for item in _list(_dict(route.get("status")).get("parents"))):
        conditions = [_dict(condition) for condition in _list(status.get("conditions"))]
        if _same_parent(parent, _dict(status.get("parentRef")), namespace) and any(
                condition.get("type") == "Accepted" and condition.get("status") == "True" for condition in conditions):
            return True
    return False


def _admits(listener: t.Mapping, parent: t.Mapping, route_namespace: str, gateway_namespace: str) -> bool:
    """Whether the listener is one the parentRef selects (sectionName, port) and takes HTTPRoutes of the route's
    namespace (a namespace selector cannot be judged here: the Accepted condition stands for it)."""
    if parent.get("sectionName") and listener.get("name") != parent["sectionName"]:
        return False
    if parent.get("port") is not None and listener.get("port") != parent["port"]:
        return False
    if listener.get("protocol") in NOT_HTTP:
        return False
    allowed = _dict(listener.get("allowedRoutes"))
    kinds = [_dict(kind) for kind in _list(allowed.get("kinds"))]
    if kinds and not any(kind.get("kind") == "HTTPRoute" and _group(kind) == GATEWAY_GROUP for kind in kinds):
        return False
    return _dict(allowed.get("namespaces")).get("from", "Same") != "Same" or route_namespace == gateway_namespace


def httproute(route_obj: t.Mapping, gateways: t.Mapping[tuple[str, str], t.Mapping], settings: RouteSettings) -> RouteRecords:
    """The names of an HTTPRoute on the Gateways that accepted it: each of ``spec.hostnames`` (and the hostname
    annotations) narrowed by the hostname of each listener it attaches to; with none, the listeners' hostnames.
    Targets: the target annotation, else the configured target, else the IP addresses in the status of those
    Gateways. ``gateways``: (namespace, name) -> Gateway. Parents that are no Gateway (a mesh Service) are left out."""
    route = _Route("HTTPRoute", route_obj, settings)
    if route.skipped:
        return route.skipped
    namespace = _dict(route_obj.get("metadata")).get("namespace") or "default"
    spec = _dict(route_obj.get("spec"))
    wanted = [(host, f"spec.hostnames[{index}]") for index, host in enumerate(_list(spec.get("hostnames")))]
    hosts = [name for name in (route.checked(host, where) for host, where in wanted + route.annotated_names()) if name]
    matched: set[str] = set()
    addresses: list[Address] = []
    parents = [_dict(ref) for ref in _list(spec.get("parentRefs"))]
    if not any(_group(parent) == GATEWAY_GROUP and (parent.get("kind") or "Gateway") == "Gateway" for parent in parents):
        route.problems.append("no parentRef to a Gateway")
    for index, parent in enumerate(parents):
        if _group(parent) != GATEWAY_GROUP or (parent.get("kind") or "Gateway") != "Gateway":
            continue
        key = (parent.get("namespace") or namespace, str(parent.get("name")))
        label = f"Gateway {key[0]}/{key[1]}" + (f" listener {parent['sectionName']}" if parent.get("sectionName") else "")
        if not _accepted(route_obj, parent, namespace):
            route.problems.append(f"spec.parentRefs[{index}]: {label} has not accepted the route")
            continue
        gateway = gateways.get(key)
        if gateway is None:
            route.problems.append(f"spec.parentRefs[{index}]: {label} not found")
            continue
        names: set[str] = set()
        for listener in (_dict(item) for item in _list(_dict(gateway.get("spec")).get("listeners"))):
            if not _admits(listener, parent, namespace, key[0]):
                continue
            listener_host = listener.get("hostname")
            if listener_host:
                listener_host = route.checked(listener_host, f"{label} listener {listener.get('name')} hostname")
                if listener_host is None:
                    continue
            for host in hosts or [None]:
                name = intersect(host, listener_host)
                if name is not None:
                    names.add(name)
                    matched.add(host or "")
        if not names:
            route.problems.append(f"spec.parentRefs[{index}]: no listener of {label} gives the route a hostname")
            continue
        for name in sorted(names):
            route.keep(name)
        status = [_dict(entry) for entry in _list(_dict(gateway.get("status")).get("addresses"))] if route.targets is None else []
        addresses.extend(route.observed([(entry.get("type"), entry.get("value")) for entry in status], f"{label} status.addresses"))
    if matched:  # per the spec, route hostnames that no listener admits are ignored
        route.ignored.extend(f"{host}: matches no listener hostname of an accepting Gateway" for host in hosts if host not in matched)
    return route.result(addresses)


KINDS: dict[str, t.Callable[..., RouteRecords]] = {"Ingress": ingress, "IngressRoute": ingressroute}


def route_records(kind: str, obj: t.Mapping, settings: RouteSettings,
                  gateways: t.Mapping[tuple[str, str], t.Mapping] | None = None) -> RouteRecords:
    """``ingress``, ``ingressroute`` or ``httproute`` by ``kind`` (list items carry no kind of their own)."""
    if kind == "HTTPRoute":
        return httproute(obj, gateways or {}, settings)
    if kind not in KINDS:
        raise InvalidInputError("kind", kind, "expected Ingress, IngressRoute or HTTPRoute")
    return KINDS[kind](obj, settings)
