"""Unit tests of the route source's extraction: Kubernetes objects (plain dicts) -> the names and targets each wants."""

from __future__ import annotations

import copy
import re

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import RRset, RRsetKey, longest_zone
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, NotFoundError
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.route_hosts import (
    RouteRecords,
    RouteSettings,
    httproute,
    ingress,
    ingressroute,
    intersect,
    parse_hostname,
    parse_targets,
    route_records,
)
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.traefik_rule import Matcher, RuleError, parse_rule

SETTINGS = RouteSettings()
GROUP = "gateway.networking.k8s.io"


def meta(name: str, namespace: str = "web", **annotations: str) -> dict:
    result: dict = {"name": name, "namespace": namespace, "uid": "5d1c0a9e-0000-4000-8000-000000000001", "generation": 3}
    if annotations:
        result["annotations"] = {key.replace("__", "/").replace("_", "."): value for key, value in annotations.items()}
    return result


def an_ingress(*hosts: str, status_ips: tuple[str, ...] = ("203.0.113.10",), annotations: dict | None = None,
               class_name: str | None = "nginx", tls: list | None = None) -> dict:
    spec: dict = {"rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": "web", "port": {"number": 80}}}}]}} for host in hosts]}
    if class_name:
        spec["ingressClassName"] = class_name
    if tls is not None:
        spec["tls"] = tls
    metadata = {"name": "shop", "namespace": "web", "annotations": dict(annotations or {})}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata, "spec": spec,
            "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in status_ips]}}}


def an_ingressroute(*matches: str, annotations: dict | None = None) -> dict:
    return {"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute",
            "metadata": {"name": "shop", "namespace": "web", "annotations": dict(annotations or {"ddi.kea_dns/target": "198.51.100.7"})},
            "spec": {"entryPoints": ["websecure"],
                     "routes": [{"kind": "Rule", "match": match, "services": [{"name": "web", "port": 80}]} for match in matches]}}


def a_gateway(name: str = "public", namespace: str = "infra", listeners: list | None = None,
              addresses: list | None = None) -> dict:
    if listeners is None:
        listeners = [{"name": "https", "protocol": "HTTPS", "port": 443, "hostname": "*.example.com",
                      "allowedRoutes": {"namespaces": {"from": "All"}}}]
    return {"apiVersion": f"{GROUP}/v1", "kind": "Gateway", "metadata": {"name": name, "namespace": namespace},
            "spec": {"gatewayClassName": "cilium", "listeners": listeners},
            "status": {"addresses": [{"type": "IPAddress", "value": "192.0.2.50"}] if addresses is None else addresses}}


def an_httproute(hostnames: list[str], parents: list[dict], accepted: list[dict] | None = None,
                 annotations: dict | None = None, rejected: list[dict] | None = None) -> dict:
    """``accepted``: the parentRefs the status says accepted the route (default: all of ``parents``, with the
    defaults the API server fills in); ``rejected``: parentRefs with Accepted False."""
    def status(ref: dict, value: str) -> dict:
        full = {"group": GROUP, "kind": "Gateway", **ref}
        return {"parentRef": full, "controllerName": "io.cilium/gateway-controller",
                "conditions": [{"type": "Accepted", "status": value, "reason": "Accepted" if value == "True" else "NotAllowedByListeners",
                                "lastTransitionTime": "2026-12-01T10:00:00Z", "observedGeneration": 3},
                               {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs"}]}
    parents_status = [status(ref, "True") for ref in (parents if accepted is None else accepted)]
    parents_status += [status(ref, "False") for ref in rejected or []]
    return {"apiVersion": f"{GROUP}/v1", "kind": "HTTPRoute",
            "metadata": {"name": "shop", "namespace": "web", "annotations": dict(annotations or {})},
            "spec": {"parentRefs": parents, "hostnames": hostnames,
                     "rules": [{"backendRefs": [{"name": "web", "port": 80}]}]},
            "status": {"parents": parents_status}}


def gateways(*items: dict) -> dict:
    return {(item["metadata"]["namespace"], item["metadata"]["name"]): item for item in items}


PUBLIC = {"name": "public", "namespace": "infra"}


# -- hostnames, targets ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    ("Shop.Example.COM", "shop.example.com"),
    ("shop.example.com.", "shop.example.com"),
    ("*.example.com", "*.example.com"),
    ("a-1.b2.example.com", "a-1.b2.example.com"),
])
def test_hostnames_are_lower_cased_without_the_trailing_dot(value, expected):
    assert parse_hostname(value) == expected


@pytest.mark.parametrize("value, why", [
    ("", "expected a DNS name"),
    (None, "expected a DNS name"),
    ("a..example.com", "empty label"),
    ("-a.example.com", "letters, digits and hyphens"),
    ("a-.example.com", "letters, digits and hyphens"),
    ("under_score.example.com", "letters, digits and hyphens"),
    ("a b.example.com", "letters, digits and hyphens"),
    ("x" * 64 + ".example.com", "longer than 63"),
    (".".join(["abcdefghi"] * 26), "longer than 253"),
    ("a.*.example.com", "only as the whole first label"),
    ("*a.example.com", "only as the whole first label"),
    ("*", "lone '*'"),
    ("10.1.2.3", "an IP address"),
    ("host.123", "all digits"),
])
def test_invalid_hostnames_say_why(value, why):
    with pytest.raises(InvalidInputError, match=why.replace("*", r"\*")) as info:
        parse_hostname(value, "spec.rules[0].host")
    assert info.value.field == "spec.rules[0].host" and info.value.value == value


def test_a_253_character_name_is_valid():
    name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
    assert len(name) == 253 and parse_hostname(name + ".") == name


def test_targets_are_deduplicated_sorted_and_normalised():
    assert parse_targets("2001:DB8::0:1, 10.0.0.2,10.0.0.10 ,10.0.0.2, 2001:db8::1", "target") == (
        "10.0.0.2", "10.0.0.10", "2001:db8::1")
    for bad in ("lb.example.com", "10.0.0.300", "", " , ", None):
        with pytest.raises(InvalidInputError):
            parse_targets(bad, "target")


# -- Ingress -------------------------------------------------------------------------------------------------------
def test_ingress_rule_hosts_point_at_the_load_balancer_ips():
    result = ingress(an_ingress("b.example.com", "A.example.com", "b.example.com", "", status_ips=("203.0.113.10", "203.0.113.9")), SETTINGS)
    assert result == RouteRecords("Ingress/web/shop", ("a.example.com", "b.example.com"), ("203.0.113.9", "203.0.113.10"), 300)
    assert not result.pending


def test_ingress_class_filter_reads_the_class_name_and_the_legacy_annotation():
    settings = RouteSettings(ingress_classes=("nginx-public",))
    legacy = an_ingress("a.example.com", class_name=None, annotations={"kubernetes.io/ingress.class": "nginx-public"})
    assert ingress(legacy, settings).names == ("a.example.com",)
    assert ingress(an_ingress("a.example.com", class_name="nginx-public"), settings).names == ("a.example.com",)
    other = ingress(an_ingress("a.example.com", class_name="nginx-internal"), settings)
    assert other.names == () and other.problems == ()
    assert other.ignored == ("IngressClass nginx-internal, not one of nginx-public",)
    unclassed = ingress(an_ingress("a.example.com", class_name=None), settings)
    assert unclassed.names == () and "no IngressClass" in unclassed.ignored[0]
    assert ingress(an_ingress("a.example.com", class_name="anything"), SETTINGS).names == ("a.example.com",)  # no filter


def test_ingress_tls_hosts_only_when_asked():
    obj = an_ingress("a.example.com", tls=[{"hosts": ["a.example.com", "cert-only.example.com"], "secretName": "shop-tls"}])
    assert ingress(obj, SETTINGS).names == ("a.example.com",)
    assert ingress(obj, RouteSettings(tls_hosts=True)).names == ("a.example.com", "cert-only.example.com")


def test_ingress_hostname_annotation_adds_names():
    obj = an_ingress("a.example.com", annotations={"external-dns.alpha.kubernetes.io/hostname": "x.example.com, Y.example.com.,"})
    assert ingress(obj, SETTINGS).names == ("a.example.com", "x.example.com", "y.example.com")


def test_target_annotation_then_configured_target_then_status():
    annotated = an_ingress("a.example.com", annotations={"external-dns.alpha.kubernetes.io/target": "198.51.100.1,198.51.100.2"})
    assert ingress(annotated, RouteSettings(target="192.0.2.1")).targets == ("198.51.100.1", "198.51.100.2")
    both = copy.deepcopy(annotated)
    both["metadata"]["annotations"]["ddi.kea_dns/target"] = "198.51.100.9"  # the first annotation of the list wins
    assert ingress(both, SETTINGS).targets == ("198.51.100.9",)
    assert ingress(an_ingress("a.example.com"), RouteSettings(target="192.0.2.1")).targets == ("192.0.2.1",)
    assert ingress(an_ingress("a.example.com"), SETTINGS).targets == ("203.0.113.10",)


def test_ingress_ipv6_status_gives_aaaa_records():
    result = ingress(an_ingress("a.example.com", status_ips=("2001:DB8:0:0::10", "203.0.113.10")), SETTINGS)
    assert result.targets == ("203.0.113.10", "2001:db8::10")

    def zone(name: str) -> str:
        return longest_zone(name, ["example.com"], "the test")

    assert result.rrsets(zone, owner="k8s/prod") == (
        RRset("example.com", RRsetKey("a.example.com", "A"), ("203.0.113.10",), 300, owner="k8s/prod"),
        RRset("example.com", RRsetKey("a.example.com", "AAAA"), ("2001:db8::10",), 300, owner="k8s/prod"))
    assert result.rrsets(zone)[0].origin == "Ingress/web/shop"


def test_rrsets_raise_the_zone_lookup_error():
    result = ingress(an_ingress("a.example.org"), SETTINGS)
    with pytest.raises(NotFoundError):
        result.rrsets(lambda name: longest_zone(name, ["example.com"], "the test"))


@pytest.mark.parametrize("status", [{}, {"loadBalancer": {}}, {"loadBalancer": {"ingress": []}}, None])
def test_ingress_without_status_keeps_its_names_with_no_target(status):
    obj = an_ingress("a.example.com")
    if status is None:
        del obj["status"]
    else:
        obj["status"] = status
    result = ingress(obj, SETTINGS)
    assert result.names == ("a.example.com",) and result.targets == () and result.pending
    assert len(result.problems) == 1 and result.problems[0].startswith("no target yet")
    assert result.rrsets(lambda name: "example.com") == ()


def test_ingress_status_hostname_is_no_address():
    obj = an_ingress("a.example.com")
    obj["status"]["loadBalancer"]["ingress"] = [{"hostname": "k8s-web-shop-1234.elb.us-east-1.amazonaws.com"}]
    result = ingress(obj, SETTINGS)
    assert result.pending
    assert any("k8s-web-shop-1234.elb.us-east-1.amazonaws.com" in problem and "not an address" in problem for problem in result.problems)
    obj["status"]["loadBalancer"]["ingress"].append({"ip": "203.0.113.5", "ports": [{"port": 443, "protocol": "TCP"}]})
    result = ingress(obj, SETTINGS)
    assert result.targets == ("203.0.113.5",) and result.problems == ()


def test_a_configured_target_leaves_the_status_unread():
    obj = an_ingress("a.example.com", status_ips=("bogus",))
    obj["status"]["loadBalancer"]["ingress"].append({"hostname": "lb.example.net"})
    assert ingress(obj, RouteSettings(target="192.0.2.1")) == RouteRecords("Ingress/web/shop", ("a.example.com",), ("192.0.2.1",), 300)
    route = an_httproute(["shop.example.com"], [PUBLIC], annotations={"ddi.kea_dns/target": "192.0.2.1"})
    result = httproute(route, gateways(a_gateway(addresses=[{"type": "Hostname", "value": "gw.example.net"}])), SETTINGS)
    assert result == RouteRecords("HTTPRoute/web/shop", ("shop.example.com",), ("192.0.2.1",), 300)


def test_ingress_bad_status_ip_is_skipped_with_a_problem():
    result = ingress(an_ingress("a.example.com", status_ips=("203.0.113.300", "203.0.113.3")), SETTINGS)
    assert result.targets == ("203.0.113.3",)
    assert result.problems == ("status.loadBalancer.ingress: '203.0.113.300' is not an IP address: skipped",)


def test_a_bad_hostname_among_good_ones_drops_only_itself():
    result = ingress(an_ingress("a.example.com", "bad_name.example.com", "c.example.com"), SETTINGS)
    assert result.names == ("a.example.com", "c.example.com") and result.targets == ("203.0.113.10",)
    assert result.problems == ("spec.rules[1].host: invalid value 'bad_name.example.com': label 'bad_name' may hold only letters, "
                               "digits and hyphens, not first or last: skipped",)


def test_zone_suffix_filter():
    settings = RouteSettings(zones=("Example.COM.", "corp.test"))
    obj = an_ingress("a.example.com", "example.com", "notexample.com", "a.example.com.evil.net", "B.Corp.Test")
    result = ingress(obj, settings)
    assert result.names == ("a.example.com", "b.corp.test", "example.com")
    assert result.problems == ()
    assert sorted(result.ignored) == ["a.example.com.evil.net: in none of the zones example.com, corp.test",
                                      "notexample.com: in none of the zones example.com, corp.test"]


def test_settings_take_lists_or_one_string():
    settings = RouteSettings(zones="Example.com.", ingress_classes=["nginx"], ttl_annotations="my/ttl")
    assert settings.zones == ("example.com",) and settings.ingress_classes == ("nginx",) and settings.ttl_annotations == ("my/ttl",)
    assert ingress(an_ingress("a.example.com", annotations={"my/ttl": "30"}), settings).ttl == 30


def test_wildcards_only_when_asked():
    obj = an_ingress("*.apps.example.com", "a.example.com")
    assert ingress(obj, SETTINGS).names == ("a.example.com",)
    assert ingress(obj, SETTINGS).ignored == ("*.apps.example.com: a wildcard name (wildcards are off)",)
    assert ingress(obj, RouteSettings(wildcards=True, zones=("apps.example.com",))).names == ("*.apps.example.com",)


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1.5", "60s", "2147483648", "", " "])
def test_a_bad_ttl_annotation_skips_the_whole_route(value):
    result = ingress(an_ingress("a.example.com", annotations={"ddi.kea_dns/ttl": value}), SETTINGS)
    assert result.names == () and result.targets == () and len(result.problems) == 1
    assert "annotation ddi.kea_dns/ttl" in result.problems[0] and repr(value) in result.problems[0]


def test_ttl_annotation_first_present_wins():
    both = {"ddi.kea_dns/ttl": "60", "catalyst-dns-sync.io/ttl": "abc"}
    assert ingress(an_ingress("a.example.com", annotations=both), SETTINGS).ttl == 60
    assert ingress(an_ingress("a.example.com", annotations={"catalyst-dns-sync.io/ttl": " 2147483647 "}), SETTINGS).ttl == 2147483647
    assert ingress(an_ingress("a.example.com"), RouteSettings(default_ttl=120)).ttl == 120


def test_a_bad_target_skips_the_whole_route():
    result = ingress(an_ingress("a.example.com", annotations={"external-dns.alpha.kubernetes.io/target": "lb.example.net"}), SETTINGS)
    assert result.names == () and len(result.problems) == 1
    assert "annotation external-dns.alpha.kubernetes.io/target" in result.problems[0] and "'lb.example.net'" in result.problems[0]
    configured = ingress(an_ingress("a.example.com"), RouteSettings(target="not-an-ip"))
    assert configured.names == () and configured.problems[0].startswith("target: invalid value 'not-an-ip'")


def test_an_ingress_without_any_host():
    obj = an_ingress()
    obj["spec"]["defaultBackend"] = {"service": {"name": "web", "port": {"number": 80}}}
    assert ingress(obj, SETTINGS) == RouteRecords("Ingress/web/shop", problems=("no hostname",))


def test_sanitized_typed_objects_without_kind_and_with_missing_fields():
    """``sanitize_for_serialization`` leaves out None fields; list items carry no kind."""
    obj = {"metadata": {"name": "bare", "namespace": "default"}, "spec": {"rules": [{"http": {"paths": []}}, {"host": "b.example.com"}]}}
    result = route_records("Ingress", obj, SETTINGS)
    assert result.ref == "Ingress/default/bare" and result.names == ("b.example.com",) and result.pending
    with pytest.raises(InvalidInputError):
        route_records("Service", obj, SETTINGS)


# -- Traefik rules ------------------------------------------------------------------------------------------------
def test_parse_rule_marks_negated_matchers():
    assert parse_rule("Host(`a.example.com`) && !(Host(`b.example.com`) || Path(`/x`))") == [
        Matcher("Host", ("a.example.com",), False), Matcher("Host", ("b.example.com",), True), Matcher("Path", ("/x",), True)]
    assert parse_rule('Host("a.example.com" , `b.example.com`)') == [Matcher("Host", ("a.example.com", "b.example.com"), False)]
    assert parse_rule(r'Header("X-Q", "say \"hi\"")') == [Matcher("Header", ("X-Q", 'say "hi"'), False)]
    assert parse_rule("Method()") == [Matcher("Method", (), False)]


@pytest.mark.parametrize("rule, why", [
    ("Host(`a.example.com`", "unbalanced parentheses: the '(' at character 5 is not closed"),
    ("(Host(`a.example.com`)", "unbalanced parentheses: the '(' at character 1 is not closed"),
    ("Host(`a.example.com`))", "unbalanced parentheses: the ')' at character 22 has no '('"),
    ("Host(`a.example.com)", "unbalanced quotes: the ` at character 6 is not closed"),
    ('Host("a.example.com)', 'unbalanced quotes: the " at character 6 is not closed'),
    ("Host(`a`) & Path(`/`)", "unexpected '&' at character 11"),
    ("Host(`a`) Path(`/`)", "unexpected 'Path' at character 11"),
    ("Host('a')", "unexpected \"'\" at character 6"),
    ("Host(a.example.com)", "unexpected '.' at character 7"),
    ("Host(localhost)", "unexpected 'localhost' at character 6 (the arguments of Host are quoted strings)"),
    ("Host `a`", "expected '(' after Host at character 6"),
    ("Host(`a`) ||", "unexpected end"),
    ("Host(`a`,)", "quoted strings"),
    ("", "empty rule"),
])
def test_parse_rule_errors(rule, why):
    with pytest.raises(RuleError, match=re.escape(why)):
        parse_rule(rule)


def test_deep_nesting_is_refused_not_a_crash():
    assert parse_rule("(" * 50 + "Host(`a.example.com`)" + ")" * 50)[0].args == ("a.example.com",)
    assert parse_rule("!" * 50 + "Host(`a.example.com`)")[0].negated
    for rule in ("(" * 5000 + "Host(`a.example.com`)" + ")" * 5000, "!" * 5000 + "Host(`a`)", "(!" * 3000 + "Host(`a`)" + ")" * 3000):
        with pytest.raises(RuleError, match="nested more than 50 deep"):
            parse_rule(rule)


def test_ingressroute_hosts_from_or_and_parentheses():
    result = ingressroute(an_ingressroute("Host(`a.example.com`) || (Host(`b.example.com`) && PathPrefix(`/x`))"), SETTINGS)
    assert result == RouteRecords("IngressRoute/web/shop", ("a.example.com", "b.example.com"), ("198.51.100.7",), 300)


def test_ingressroute_several_arguments_and_matchers():
    result = ingressroute(an_ingressroute("Host(`a.example.com`, `b.example.com`) && Method(`GET`)",
                                          "HostHeader(`c.example.com`) && Header(`X-Env`, `prod`) && ClientIP(`10.0.0.0/8`)",
                                          "HostSNI(`d.example.com`) || Query(`q`, `1`)", "PathPrefix(`/api`)"), SETTINGS)
    assert result.names == ("a.example.com", "b.example.com", "c.example.com", "d.example.com")
    assert result.problems == ()


def test_ingressroute_catch_all_and_negation_give_no_name():
    result = ingressroute(an_ingressroute("HostSNI(`*`)", "!Host(`c.example.com`) && PathPrefix(`/`)",
                                          "Host(`a.example.com`) && !Host(`c.example.com`)"), SETTINGS)
    assert result.names == ("a.example.com",) and result.problems == ()


def test_ingressroute_regexp_hosts_are_skipped_with_a_problem():
    result = ingressroute(an_ingressroute("HostRegexp(`{sub:[a-z]+}.example.com`)", "Host(`a.example.com`)",
                                          "HostSNIRegexp(`^.+\\.example\\.com$`)", "!HostRegexp(`.*`)"), SETTINGS)
    assert result.names == ("a.example.com",)
    assert result.problems == ("spec.routes[0]: HostRegexp(`{sub:[a-z]+}.example.com`) is a pattern, not a name: skipped",
                               "spec.routes[2]: HostSNIRegexp(`^.+\\.example\\.com$`) is a pattern, not a name: skipped")


def test_ingressroute_unparsable_route_does_not_spoil_the_others():
    result = ingressroute(an_ingressroute("Host(`a.example.com`", "Host(`b.example.com`) && Path(`/x`)"), SETTINGS)
    assert result.names == ("b.example.com",)
    assert result.problems == ("cannot parse match 'Host(`a.example.com`' (spec.routes[0]): unbalanced parentheses: the '(' at "
                               "character 5 is not closed",)


def test_ingressroute_bad_hostname_and_empty_host():
    result = ingressroute(an_ingressroute("Host(`a.example.com`, `bad..example.com`)", "Host()"), SETTINGS)
    assert result.names == ("a.example.com",)
    assert result.problems == ("spec.routes[0] Host: invalid value 'bad..example.com': empty label: skipped",
                               "spec.routes[1]: Host() names no host")


def test_ingressroute_target_from_settings_or_annotation_only():
    obj = an_ingressroute("Host(`a.example.com`)", annotations={"external-dns.alpha.kubernetes.io/hostname": "b.example.com"})
    missing = ingressroute(obj, SETTINGS)
    assert missing.names == ("a.example.com", "b.example.com") and missing.pending
    assert missing.problems == ("no target yet: an IngressRoute has no status and no target annotation or configured target "
                                "(existing records are left alone)",)
    assert ingressroute(obj, RouteSettings(target="2001:db8::7")).targets == ("2001:db8::7",)
    obj["metadata"]["annotations"]["ddi.kea_dns/ttl"] = "x"
    assert ingressroute(obj, RouteSettings(target="2001:db8::7")).names == ()


def test_ingressroute_matcher_names_in_any_case_and_by_kind():
    obj = an_ingressroute("host(`a.example.com`) && pathprefix(`/`)", "HOSTSNI(`*`)")
    assert route_records("IngressRoute", obj, SETTINGS) == RouteRecords("IngressRoute/web/shop", ("a.example.com",), ("198.51.100.7",), 300)


def test_ingressroute_without_match():
    obj = an_ingressroute("Host(`a.example.com`)")
    obj["spec"]["routes"].append({"kind": "Rule", "services": []})
    assert ingressroute(obj, SETTINGS).problems == ("spec.routes[1] has no match: skipped",)


# -- Gateway API --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("route_host, listener_host, expected", [
    ("a.example.com", None, "a.example.com"),
    (None, "a.example.com", "a.example.com"),
    (None, None, None),
    ("a.example.com", "a.example.com", "a.example.com"),
    ("a.example.com", "b.example.com", None),
    ("a.example.com", "*.example.com", "a.example.com"),
    ("a.b.example.com", "*.example.com", "a.b.example.com"),  # a wildcard matches one or more labels
    ("example.com", "*.example.com", None),  # ... never the bare suffix
    ("a.example.net", "*.example.com", None),
    ("aexample.com", "*.example.com", None),
    ("*.example.com", "a.example.com", "a.example.com"),
    ("*.example.com", "a.b.example.com", "a.b.example.com"),
    ("*.example.com", "example.com", None),
    ("*.example.com", "*.example.com", "*.example.com"),
    ("*.example.com", "*.b.example.com", "*.b.example.com"),  # the more specific wildcard
    ("*.b.example.com", "*.example.com", "*.b.example.com"),
    ("*.example.com", "*.example.net", None),
])
def test_intersect_follows_the_gateway_api_hostname_rules(route_host, listener_host, expected):
    assert intersect(route_host, listener_host) == expected


def test_httproute_on_an_accepting_gateway():
    route = an_httproute(["shop.example.com", "Cart.Example.com"], [PUBLIC])
    result = httproute(route, gateways(a_gateway()), SETTINGS)
    assert result == RouteRecords("HTTPRoute/web/shop", ("cart.example.com", "shop.example.com"), ("192.0.2.50",), 300)


def test_httproute_only_accepted_parents_count():
    internal = {"name": "internal", "namespace": "infra"}
    route = an_httproute(["shop.example.com"], [PUBLIC, internal], accepted=[internal], rejected=[PUBLIC])
    items = gateways(a_gateway(), a_gateway("internal", addresses=[{"value": "10.20.0.5"}]))
    result = httproute(route, items, SETTINGS)
    assert result.names == ("shop.example.com",) and result.targets == ("10.20.0.5",)
    assert result.problems == ("spec.parentRefs[0]: Gateway infra/public has not accepted the route",)
    nobody = an_httproute(["shop.example.com"], [PUBLIC], accepted=[], rejected=[PUBLIC])
    result = httproute(nobody, items, SETTINGS)
    assert result.names == () and result.problems == ("spec.parentRefs[0]: Gateway infra/public has not accepted the route",)
    no_status = an_httproute(["shop.example.com"], [PUBLIC])
    del no_status["status"]
    assert httproute(no_status, items, SETTINGS).names == ()


def test_httproute_parent_namespace_defaults_to_the_routes():
    route = an_httproute(["shop.example.com"], [{"name": "public"}])
    local = a_gateway(namespace="web")
    assert httproute(route, gateways(local), SETTINGS).names == ("shop.example.com",)
    assert httproute(route, gateways(a_gateway()), SETTINGS).problems == ("spec.parentRefs[0]: Gateway web/public not found",)


def test_httproute_status_must_match_section_name():
    listeners = [{"name": "apps", "protocol": "HTTPS", "port": 443, "hostname": "*.apps.example.com",
                  "allowedRoutes": {"namespaces": {"from": "All"}}},
                 {"name": "www", "protocol": "HTTP", "port": 80, "hostname": "www.example.com",
                  "allowedRoutes": {"namespaces": {"from": "All"}}}]
    items = gateways(a_gateway(listeners=listeners))
    apps = dict(PUBLIC, sectionName="apps")
    route = an_httproute(["shop.apps.example.com", "www.example.com"], [apps])
    result = httproute(route, items, SETTINGS)
    assert result.names == ("shop.apps.example.com",)
    assert result.ignored == ("www.example.com: matches no listener hostname of an accepting Gateway",)
    without_section = an_httproute(["shop.apps.example.com", "www.example.com"], [apps], accepted=[PUBLIC])
    assert httproute(without_section, items, SETTINGS).names == ()  # the status names another parentRef
    all_listeners = an_httproute(["shop.apps.example.com", "www.example.com"], [PUBLIC])
    assert httproute(all_listeners, items, SETTINGS).names == ("shop.apps.example.com", "www.example.com")
    by_port = an_httproute(["shop.apps.example.com", "www.example.com"], [dict(PUBLIC, port=80)])
    assert httproute(by_port, items, SETTINGS).names == ("www.example.com",)


def test_httproute_without_hostnames_inherits_the_listeners():
    listeners = [{"name": "www", "protocol": "HTTPS", "port": 443, "hostname": "www.example.com",
                  "allowedRoutes": {"namespaces": {"from": "All"}}},
                 {"name": "apps", "protocol": "HTTPS", "port": 8443, "hostname": "*.apps.example.com",
                  "allowedRoutes": {"namespaces": {"from": "All"}}},
                 {"name": "any", "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {"from": "All"}}}]
    route = an_httproute([], [PUBLIC])
    assert httproute(route, gateways(a_gateway(listeners=listeners)), SETTINGS).names == ("www.example.com",)
    assert httproute(route, gateways(a_gateway(listeners=listeners)), RouteSettings(wildcards=True)).names == (
        "*.apps.example.com", "www.example.com")
    bare = an_httproute([], [PUBLIC])
    del bare["spec"]["hostnames"]
    result = httproute(bare, gateways(a_gateway(listeners=listeners[2:])), SETTINGS)
    assert result.names == () and result.problems == ("spec.parentRefs[0]: no listener of Gateway infra/public gives the route a hostname",)


def test_httproute_wildcard_narrowing():
    route = an_httproute(["*.example.com", "a.example.com", "deep.a.example.com", "example.com"], [PUBLIC])
    listeners = [{"name": "shop", "protocol": "HTTPS", "port": 443, "hostname": "shop.example.com",
                  "allowedRoutes": {"namespaces": {"from": "All"}}},
                 {"name": "wild", "protocol": "HTTPS", "port": 443, "hostname": "*.example.com",
                  "allowedRoutes": {"namespaces": {"from": "All"}}}]
    result = httproute(route, gateways(a_gateway(listeners=listeners)), SETTINGS)
    assert result.names == ("a.example.com", "deep.a.example.com", "shop.example.com")
    assert result.ignored == ("*.example.com: a wildcard name (wildcards are off)",
                              "example.com: matches no listener hostname of an accepting Gateway")
    assert httproute(route, gateways(a_gateway(listeners=listeners)), RouteSettings(wildcards=True)).names == (
        "*.example.com", "a.example.com", "deep.a.example.com", "shop.example.com")


def test_httproute_listeners_that_do_not_take_it():
    listeners = [{"name": "same-ns", "protocol": "HTTPS", "port": 443, "hostname": "same.example.com"},  # from: Same by default
                 {"name": "tls", "protocol": "TLS", "port": 8443, "hostname": "tls.example.com",
                  "allowedRoutes": {"namespaces": {"from": "All"}}},
                 {"name": "grpc-only", "protocol": "HTTPS", "port": 443, "hostname": "grpc.example.com",
                  "allowedRoutes": {"namespaces": {"from": "All"}, "kinds": [{"kind": "GRPCRoute"}]}},
                 {"name": "selected", "protocol": "HTTPS", "port": 443, "hostname": "sel.example.com",
                  "allowedRoutes": {"namespaces": {"from": "Selector", "selector": {"matchLabels": {"dns": "yes"}}},
                                    "kinds": [{"group": GROUP, "kind": "HTTPRoute"}]}}]
    route = an_httproute([], [PUBLIC])
    assert httproute(route, gateways(a_gateway(listeners=listeners)), SETTINGS).names == ("sel.example.com",)
    local = an_httproute([], [{"name": "public"}])
    assert httproute(local, gateways(a_gateway(namespace="web", listeners=listeners)), SETTINGS).names == (
        "same.example.com", "sel.example.com")


def test_httproute_gateway_address_types():
    route = an_httproute(["shop.example.com"], [PUBLIC])
    addresses = [{"type": "IPAddress", "value": "192.0.2.50"}, {"value": "2001:db8::50"},
                 {"type": "Hostname", "value": "gw.elb.example.net"}, {"type": "IPAddress", "value": "bogus"}]
    result = httproute(route, gateways(a_gateway(addresses=addresses)), SETTINGS)
    assert result.targets == ("192.0.2.50", "2001:db8::50")
    assert result.problems == ("Gateway infra/public status.addresses: 'bogus' is not an IP address: skipped",)
    only_names = httproute(route, gateways(a_gateway(addresses=[{"type": "Hostname", "value": "gw.elb.example.net"}])), SETTINGS)
    assert only_names.pending and only_names.names == ("shop.example.com",)
    assert only_names.problems[0] == ("Gateway infra/public status.addresses holds no IP address, only gw.elb.example.net (Hostname): "
                                      "a name is not an address")
    assert only_names.problems[1].startswith("no target yet")
    unaddressed = httproute(route, gateways(a_gateway(addresses=[])), SETTINGS)
    assert unaddressed.pending and len(unaddressed.problems) == 1


def test_httproute_targets_annotations_and_ttl():
    route = an_httproute(["shop.example.com"], [PUBLIC], annotations={"ddi.kea_dns/target": "198.51.100.3", "ddi.kea_dns/ttl": "45",
                                                                      "external-dns.alpha.kubernetes.io/hostname": "extra.example.com,other.example.net"})
    result = httproute(route, gateways(a_gateway()), RouteSettings(target="192.0.2.99"))
    assert result.names == ("extra.example.com", "shop.example.com") and result.targets == ("198.51.100.3",) and result.ttl == 45
    assert result.ignored == ("other.example.net: matches no listener hostname of an accepting Gateway",)
    assert httproute(an_httproute(["shop.example.com"], [PUBLIC]), gateways(a_gateway()), RouteSettings(target="192.0.2.99")).targets == (
        "192.0.2.99",)
    bad = an_httproute(["shop.example.com"], [PUBLIC], annotations={"ddi.kea_dns/target": "gw.example.net"})
    assert httproute(bad, gateways(a_gateway()), SETTINGS).names == ()


def test_httproute_bad_hostnames_and_mesh_parents():
    route = an_httproute(["shop.example.com", "bad_host.example.com"], [PUBLIC, {"group": "", "kind": "Service", "name": "web"}])
    result = httproute(route, gateways(a_gateway()), SETTINGS)
    assert result.names == ("shop.example.com",)
    assert result.problems == ("spec.hostnames[1]: invalid value 'bad_host.example.com': label 'bad_host' may hold only letters, digits "
                               "and hyphens, not first or last: skipped",)
    assert route_records("HTTPRoute", route, SETTINGS, gateways(a_gateway())) == result


def test_httproute_without_gateway_parents():
    route = an_httproute(["shop.example.com"], [{"group": "", "kind": "Service", "name": "web"}])
    assert httproute(route, {}, SETTINGS) == RouteRecords("HTTPRoute/web/shop", problems=("no parentRef to a Gateway",))


def test_httproute_zone_filter_and_deterministic_output():
    route = an_httproute(["b.example.com", "a.example.com", "a.corp.test", "b.example.com"], [PUBLIC])
    listeners = [{"name": "any", "protocol": "HTTPS", "port": 443, "allowedRoutes": {"namespaces": {"from": "All"}}}]
    first = httproute(route, gateways(a_gateway(listeners=listeners)), RouteSettings(zones=("example.com",)))
    assert first.names == ("a.example.com", "b.example.com")
    assert first.ignored == ("a.corp.test: in none of the zones example.com",)
    route["spec"]["hostnames"].reverse()
    assert httproute(route, gateways(a_gateway(listeners=listeners)), RouteSettings(zones=("example.com",))) == first
