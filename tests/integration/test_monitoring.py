"""The Prometheus alerting rules and the Grafana dashboard shipped in extensions/monitoring/: checked and unit-tested
by the real promtool, every metric they name exported by the listener daemon or the route program, and a real
Prometheus scraping a running daemon whose outbox-lag alert fires while the DNS server is stopped and ends after."""

from __future__ import annotations

import json
import os
import re
import subprocess

import yaml

from tests.harness.ansible import REPO_ROOT, collections_path
from tests.harness.pipeline import INSERT, daemon, kea_write, listener_target
from tests.harness.procs import launch, wait_for
from tests.harness.prometheus import Prometheus

MONITORING = os.path.join(REPO_ROOT, "extensions", "monitoring")
RULES = os.path.join(MONITORING, "prometheus", "kea_dns_rules.yml")
DASHBOARD = os.path.join(MONITORING, "grafana", "kea_dns.json")
BUILTIN = {"up"}  # series Prometheus makes itself
FUNCTIONS = {"sum", "rate", "increase", "histogram_quantile", "time", "by", "le", "label_values", "humanize", "humanizeDuration"}


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60, check=False, cwd=os.path.dirname(RULES))


def test_promtool_checks_and_unit_tests_the_rules():
    checked = promtool("check", "rules", RULES)
    assert checked.returncode == 0 and "SUCCESS" in checked.stdout, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "kea_dns_rules_test.yml")
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr


def exported() -> set[str]:
    """Every series name the listener daemon and the route program export, from their own registries."""
    import sys  # pylint: disable=import-outside-toplevel

    sys.path.insert(0, collections_path())
    from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon.metrics import Metrics  # pylint: disable=import-outside-toplevel
    from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon.routes import RouteMetrics  # pylint: disable=import-outside-toplevel

    names = set()
    for registry in (Metrics().registry, RouteMetrics().registry):
        for family in registry.collect():
            suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}[family.type]
            names.update(family.name + suffix for suffix in suffixes)
    return names


def named(expression: str) -> set[str]:
    """The metric names an expression reads (words that are no function, keyword or label name)."""
    expression = re.sub(r"label_values\(([^,]+),[^)]*\)", r"\1", expression)  # Grafana's label_values(metric, label)
    without_labels = re.sub(r"\[[^\]]*\]", "", re.sub(r"\{[^}]*\}", "", re.sub(r"\{\{.*?\}\}", "", expression)))  # ranges, selectors
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_labels))
    labels = set(re.findall(r"by \(([^)]*)\)", without_labels))
    label_names = {name.strip() for group in labels for name in group.split(",")}
    return {word for word in words if word not in FUNCTIONS | label_names and not re.fullmatch(r"\d+[smhd]?", word)}


def test_rules_and_dashboard_name_only_exported_metrics():
    names = exported()
    with open(RULES, encoding="utf-8") as handle:
        rules = [rule for group in yaml.safe_load(handle)["groups"] for rule in group["rules"]]
    with open(DASHBOARD, encoding="utf-8") as handle:
        dashboard = json.load(handle)
    expressions = {f"rule {rule['alert']}": rule["expr"] for rule in rules}
    expressions.update({f"panel {panel['title']} {target['refId']}": target["expr"] for panel in dashboard["panels"] for target in panel["targets"]})
    expressions.update({f"variable {variable['name']}": variable["query"] for variable in dashboard["templating"]["list"] if variable["type"] == "query"})
    assert len(expressions) >= 25
    unknown = {where: sorted(named(expr) - names - BUILTIN) for where, expr in expressions.items() if named(expr) - names - BUILTIN}
    assert unknown == {}, unknown
    # Every metric of the daemon's readiness story is on the dashboard.
    shown = set().union(*(named(expr) for expr in expressions.values()))
    for name in ("kea_dns_listener_outbox_pending", "kea_dns_listener_event_lag_seconds_bucket", "kea_dns_listener_reconcile_duration_seconds",
                 "kea_dns_listener_events_applied_total", "kea_dns_listener_events_failed_total", "kea_dns_routes_records"):
        assert name in shown, name


def test_a_real_prometheus_fires_the_outbox_lag_alert_while_dns_is_down(request, pipeline_db, listeners, tmp_path):
    """The shipped KeaDnsOutboxLag expression against a running daemon (threshold and delay shortened for the test:
    promtool tests the shipped ones)."""
    knot = listener_target(request, "knot")
    listener = daemon(pipeline_db, knot)
    listeners.append(listener.start())
    with open(RULES, encoding="utf-8") as handle:
        rules = yaml.safe_load(handle)
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule["alert"] == "KeaDnsOutboxLag":
                rule["expr"] = rule["expr"].replace("> 60", "> 2")
                rule["for"] = "0s"
    shortened = tmp_path / "rules.yml"
    shortened.write_text(yaml.safe_dump(rules))
    prometheus = launch(Prometheus({"kea-dns-listener": [f"127.0.0.1:{listener.metrics_port}"]}, [str(shortened)]))
    try:
        wait_for(lambda: prometheus.api("query?query=up")["result"], 30, "the first scrape")
        assert "KeaDnsOutboxLag" not in prometheus.firing() and "KeaDnsListenerDown" not in prometheus.firing()
        knot.server.stop_server()
        try:
            kea_write(pipeline_db, [(INSERT, ("aabbccdd0901", "10.99.9.1", "us3-cab90-ru1-idrac"))])
            wait_for(lambda: "KeaDnsOutboxLag" in prometheus.firing(), 40, "the outbox-lag alert firing")
            assert prometheus.firing()["KeaDnsOutboxLag"][0]["job"] == "kea-dns-listener"
        finally:
            knot.server.start_server()
        wait_for(lambda: "KeaDnsOutboxLag" not in prometheus.firing(), 60, "the alert resolved once DNS is back")
        assert knot.server.query("us3-cab90-ru1-idrac.site.test") == ["10.99.9.1"]
    finally:
        prometheus.stop()
