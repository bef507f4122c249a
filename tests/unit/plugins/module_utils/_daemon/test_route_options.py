"""The route program's options: seed 004's environment variables, the catalogue's backend options, and bad values
named."""

from __future__ import annotations

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon.routes import load
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError

SEED = {"DNS_SERVER_URL": "http://technitium:5380", "DNS_ZONE": "talos00,apps.test", "DNS_IP_ADDRESS": "192.168.1.54", "DNS_TTL_DEFAULT": "120",
        "DNS_API_TOKEN": "s3cret-token", "WATCH_NAMESPACE": "default,web", "LOG_LEVEL": "DEBUG", "LOG_FORMAT": "text",
        "METRICS_BIND_ADDRESS": ":9090", "HEALTH_PROBE_ADDRESS": "0.0.0.0:9091"}


def test_seed_variables():
    options = load([], SEED)
    assert options["provider"] == "technitium" and options["technitium_api_url"] == "http://technitium:5380"
    assert options["technitium_token"] == "s3cret-token" and options["zones"] == ["talos00", "apps.test"]
    assert options["target"] == "192.168.1.54" and options["ttl"] == 120 and options["namespaces"] == ["default", "web"]
    assert (options["log_level"], options["log_format"], options["metrics_address"]) == ("DEBUG", "text", ":9090")
    assert options["kinds"] == ["Ingress", "IngressRoute", "HTTPRoute"] and options["owner_id"] == "k8s/default"


def test_powerdns_takes_the_seed_url_and_token_as_its_own():
    options = load(["--provider", "powerdns", "--once", "--dry-run"], SEED)
    assert options["powerdns_api_url"] == "http://technitium:5380" and options["powerdns_api_key"] == "s3cret-token"
    assert options["once"] is True and options["dry_run"] is True


@pytest.mark.parametrize(("args", "field"), [(["--kinds", "Ingress,Service"], "kinds"), (["--rate-limit", "0"], "rate_limit"),
                                             (["--owner-id", "K8S prod"], "owner_id"), (["--ttl", "0"], "ttl"),
                                             (["--metrics-address", "nowhere"], "metrics_address")])
def test_bad_values_are_named(args, field):
    with pytest.raises(InvalidInputError, match=field):
        load(args, {})
