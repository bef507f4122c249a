"""Role ddi.kea_dns.route_dns and the kustomize base extensions/kubernetes/route-dns/base: the route source's
Kubernetes manifests, rendered by the real ansible-playbook on localhost (no cluster: route_dns_apply stays false),
validated offline against the Kubernetes 1.30 JSON schemas bundled in kubernetes-validate, idempotent, refused
before anything is written when a variable is wrong, and the same objects as the static kustomize base."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

from tests.harness.ansible import REPO_ROOT, ansible_env, tool

K8S_VERSION = "1.30"
BASE_DIR = os.path.join(REPO_ROOT, "extensions", "kubernetes", "route-dns", "base")
VALIDATOR = os.path.join(REPO_ROOT, "roles", "route_dns", "files", "validate_manifest.py")
FILES = ["clusterrole.yaml", "clusterrolebinding.yaml", "configmap.yaml", "deployment.yaml", "service.yaml",
         "serviceaccount.yaml", "servicemonitor.yaml"]
# The inputs that the kustomize base's ConfigMap spells out: with them the role must render the base's objects.
BASE_INPUTS = {"route_dns_zones": ["example.com"], "route_dns_server_url": "http://technitium.dns.svc.cluster.local:5380",
               "route_dns_target_address": "192.0.2.10"}
SECRET_VALUE = "tok-3f9c1a77e2b04d5c"


def load_validator():
    spec = importlib.util.spec_from_file_location("route_dns_validate_manifest", VALIDATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def converge(work, variables: dict, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    """ansible-playbook with the role on localhost; returns the process and the recap's counters."""
    playbook = os.path.join(work, "converge.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        json.dump([{"name": "Converge", "hosts": "localhost", "connection": "local", "gather_facts": False,
                    "roles": [{"role": "ddi.kea_dns.route_dns"}]}], handle)
    extra = os.path.join(work, "vars.json")
    with open(extra, "w", encoding="utf-8") as handle:
        json.dump(variables, handle)
    proc = subprocess.run([tool("ansible-playbook"), "-i", "localhost,", playbook, "-e", f"@{extra}", *args], env=ansible_env(),
                          capture_output=True, text=True, timeout=120, check=False)
    recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout)
    counters = dict(zip(("ok", "changed", "unreachable", "failed"), map(int, recap.groups()), strict=True)) if recap else {}
    return proc, counters


def read_objects(directory) -> dict[str, dict]:
    """File name -> the one object it holds."""
    objects = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".yaml") and name != "kustomization.yaml":
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                documents = [doc for doc in yaml.safe_load_all(handle) if doc is not None]
            assert len(documents) == 1, name
            objects[name] = documents[0]
    return objects


def assert_valid(obj: dict) -> None:
    """Built-in kinds against kubernetes-validate's bundled schemas (strict); ServiceMonitor, which it has no schema
    for, against the validator's own schema of that CRD."""
    if obj["kind"] == "ServiceMonitor":
        with pytest.raises(kubernetes_validate.SchemaNotFoundError):
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        load_validator().validate_object(obj, K8S_VERSION)
    else:
        assert kubernetes_validate.validate(obj, K8S_VERSION, strict=True) == K8S_VERSION


def without_namespace(obj: dict) -> dict:
    """A rendered object as the namespace-less base spells it (and without the role's config-hash annotation)."""
    obj = copy.deepcopy(obj)
    obj["metadata"].pop("namespace", None)
    for subject in obj.get("subjects", []):
        subject.pop("namespace", None)
    return without_config_hash(obj)


def without_config_hash(obj: dict) -> dict:
    obj = copy.deepcopy(obj)
    if obj["kind"] == "Deployment":
        template = obj["spec"]["template"]["metadata"]
        template["annotations"].pop("ddi.kea_dns/config-hash")
        if not template["annotations"]:
            del template["annotations"]
    return obj


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The role converged twice with the base's inputs: (manifest dir, first recap, second recap, file times)."""
    work = tmp_path_factory.mktemp("route-dns")
    variables = dict(BASE_INPUTS, route_dns_manifest_dir=str(work / "manifests"))
    proc, first = converge(str(work), variables)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    times = {name: os.stat(work / "manifests" / name).st_mtime_ns for name in FILES}
    proc, again = converge(str(work), variables)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return work / "manifests", first, again, times


def test_converge_renders_one_valid_manifest_per_object_and_is_idempotent(rendered):
    manifests, first, again, times = rendered
    assert first["changed"] >= 2 and again["changed"] == 0, (first, again)
    assert {name: os.stat(manifests / name).st_mtime_ns for name in FILES} == times
    objects = read_objects(manifests)
    assert sorted(objects) == FILES
    assert {obj["kind"] for obj in objects.values()} == {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap",
                                                         "Deployment", "Service", "ServiceMonitor"}
    for obj in objects.values():
        assert_valid(obj)
        if obj["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            assert obj["metadata"]["namespace"] == "route-dns", obj
    assert objects["clusterrolebinding.yaml"]["subjects"] == [{"kind": "ServiceAccount", "name": "route-dns", "namespace": "route-dns"}]


def test_the_validator_refuses_a_bad_manifest(tmp_path):
    with open(os.path.join(BASE_DIR, "deployment.yaml"), encoding="utf-8") as handle:
        good = handle.read()
    with open(os.path.join(BASE_DIR, "servicemonitor.yaml"), encoding="utf-8") as handle:
        monitor = handle.read()
    cases = {"typo.yaml": good.replace("readOnlyRootFilesystem", "readOnlyRootFilesytem"),
             "type.yaml": good.replace("replicas: 1", "replicas: one"),
             "secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: route-dns-token}\nstringData: {token: x}\n",
             "two.yaml": good + "---\n" + good,
             "monitor.yaml": monitor.replace("30s", "30 seconds")}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        proc = subprocess.run([tool("python"), VALIDATOR, "--kubernetes-version", K8S_VERSION, str(tmp_path / name)],
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 1 and proc.stderr.strip(), (name, proc.stderr)
    assert "readOnlyRootFilesytem" in subprocess.run([tool("python"), VALIDATOR, str(tmp_path / "typo.yaml")], capture_output=True,
                                                     text=True, check=False).stderr


def test_rendered_manifests_are_the_objects_of_the_kustomize_base(rendered):
    manifests = rendered[0]
    role = {name: without_namespace(obj) for name, obj in read_objects(manifests).items()}
    assert role == read_objects(BASE_DIR)


def test_kustomize_base_lists_every_file_and_every_file_validates():
    with open(os.path.join(BASE_DIR, "kustomization.yaml"), encoding="utf-8") as handle:
        kustomization = yaml.safe_load(handle)
    files = sorted(name for name in os.listdir(BASE_DIR) if name != "kustomization.yaml")
    assert sorted(kustomization["resources"]) == files == FILES
    assert kustomization["namespace"] == "route-dns"
    for obj in read_objects(BASE_DIR).values():
        assert "namespace" not in obj["metadata"], obj
        assert_valid(obj)
    proc = subprocess.run([tool("python"), VALIDATOR, "--kubernetes-version", K8S_VERSION,
                           *(os.path.join(BASE_DIR, name) for name in files)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (its built-in kustomize) is not installed")
def test_kubectl_kustomize_builds_the_base_into_the_objects_the_role_renders(rendered):
    manifests = rendered[0]
    proc = subprocess.run(["kubectl", "kustomize", BASE_DIR], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    built = sorted((doc for doc in yaml.safe_load_all(proc.stdout) if doc), key=lambda obj: obj["kind"])
    role = sorted((without_config_hash(obj) for obj in read_objects(manifests).values()), key=lambda obj: obj["kind"])
    assert built == role


def test_cluster_role_grants_only_get_list_watch_on_the_routes(rendered):
    manifests = rendered[0]
    for directory in (manifests, BASE_DIR):
        role = read_objects(directory)["clusterrole.yaml"]
        grants = {(group, resource, tuple(sorted(rule["verbs"])))
                  for rule in role["rules"] for group in rule["apiGroups"] for resource in rule["resources"]}
        assert grants == {("networking.k8s.io", "ingresses", ("get", "list", "watch")),
                          ("networking.k8s.io", "ingressclasses", ("get", "list", "watch")),
                          ("traefik.io", "ingressroutes", ("get", "list", "watch")),
                          ("gateway.networking.k8s.io", "httproutes", ("get", "list", "watch")),
                          ("gateway.networking.k8s.io", "gateways", ("get", "list", "watch"))}
        assert all(set(rule) == {"apiGroups", "resources", "verbs"} for rule in role["rules"])  # no resourceNames, no URLs


def test_deployment_one_replica_probes_limits_security_and_token_by_reference(rendered):
    manifests = rendered[0]
    objects = read_objects(manifests)
    deployment = objects["deployment.yaml"]["spec"]
    assert deployment["replicas"] == 1 and deployment["strategy"] == {"type": "Recreate"}
    pod = deployment["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["serviceAccountName"] == objects["serviceaccount.yaml"]["metadata"]["name"]
    [container] = pod["containers"]
    assert container["command"] == ["python3", "/usr/share/ansible/collections/ansible_collections/ddi/kea_dns/roles/route_dns/files/route_dns_sync.py"]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "privileged": False,
                                            "capabilities": {"drop": ["ALL"]}}
    assert container["resources"]["limits"]["memory"] == "96Mi"
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"metrics": 8080, "health": 8081}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    assert container["envFrom"] == [{"configMapRef": {"name": objects["configmap.yaml"]["metadata"]["name"]}}]
    assert container["env"] == [{"name": "DNS_API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "route-dns-token", "key": "token"}}}]
    data = objects["configmap.yaml"]["data"]
    assert data["METRICS_BIND_ADDRESS"] == ":8080" and data["HEALTH_PROBE_ADDRESS"] == ":8081"
    assert all(isinstance(value, str) for value in data.values())
    assert not any(re.search("token|secret|passw|key", name, re.I) for name in data)
    service = objects["service.yaml"]["spec"]
    assert service["ports"] == [{"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}]
    assert service["selector"].items() <= deployment["template"]["metadata"]["labels"].items()
    monitor = objects["servicemonitor.yaml"]["spec"]
    assert monitor["endpoints"][0]["port"] == "metrics" and monitor["selector"]["matchLabels"].items() <= objects["service.yaml"]["metadata"]["labels"].items()


def test_powerdns_more_secrets_no_service_monitor_and_a_new_config_hash(rendered, tmp_path):
    manifests = tmp_path / "manifests"
    shutil.copytree(rendered[0], manifests)  # the base's objects, rendered by the role
    before = read_objects(manifests)
    variables = dict(BASE_INPUTS, route_dns_manifest_dir=str(manifests))
    variables.update(route_dns_provider="powerdns", route_dns_server_url="https://pdns.example.net:8081/api/v1",
                     route_dns_zones=["example.com", "example.org"], route_dns_watch_namespaces=["web", "shop"],
                     route_dns_kinds=["HTTPRoute"], route_dns_rate_limit=2.5, route_dns_owner_id="k8s/prod",
                     route_dns_secret_env={"EXTRA_SECRET": "extra"}, route_dns_extra_env={"HTTPS_PROXY": "http://proxy:3128"},
                     route_dns_service_monitor=False, route_dns_namespace="dns-routes")
    proc, counters = converge(str(tmp_path), variables)
    assert proc.returncode == 0 and counters["changed"] >= 1, proc.stdout[-3000:]
    objects = read_objects(manifests)
    assert "servicemonitor.yaml" not in objects
    for obj in objects.values():
        assert_valid(obj)
    [container] = objects["deployment.yaml"]["spec"]["template"]["spec"]["containers"]
    assert container["env"] == [
        {"name": "POWERDNS_API_KEY", "valueFrom": {"secretKeyRef": {"name": "route-dns-token", "key": "token"}}},
        {"name": "EXTRA_SECRET", "valueFrom": {"secretKeyRef": {"name": "route-dns-token", "key": "extra"}}}]
    data = objects["configmap.yaml"]["data"]
    assert (data["DNS_PROVIDER"], data["DNS_ZONE"], data["WATCH_NAMESPACE"], data["ROUTE_KINDS"], data["ROUTE_RATE_LIMIT"],
            data["ROUTE_OWNER_ID"], data["HTTPS_PROXY"]) == ("powerdns", "example.com,example.org", "web,shop", "HTTPRoute", "2.5",
                                                             "k8s/prod", "http://proxy:3128")
    assert objects["clusterrolebinding.yaml"]["subjects"][0]["namespace"] == "dns-routes"
    hash_key = "ddi.kea_dns/config-hash"
    assert objects["deployment.yaml"]["spec"]["template"]["metadata"]["annotations"][hash_key] != \
        before["deployment.yaml"]["spec"]["template"]["metadata"]["annotations"][hash_key]


BAD_VARIABLES = [
    ({"route_dns_zones": []}, "route_dns_zones must be a non-empty list"),
    ({"route_dns_rate_limit": 0}, "route_dns_rate_limit must be a number of requests per second above 0"),
    ({"route_dns_replicas": 2}, "route_dns_replicas must be 1"),
    ({"route_dns_extra_env": {"API_TOKEN": SECRET_VALUE}}, "route_dns_extra_env must not hold secrets (found API_TOKEN)"),
    ({"route_dns_extra_env": {"DNS_ZONE": "example.net"}}, "route_dns_extra_env must map environment variable names"),
    ({"route_dns_server_url": f"https://admin:{SECRET_VALUE}@dns.example.com/"}, "route_dns_server_url must be the http:// or https://"),
    ({"route_dns_kinds": ["Ingress", "Service"]}, "route_dns_kinds must be a non-empty list of distinct kinds"),
    ({"route_dns_watch_namespaces": ["Web"]}, "route_dns_watch_namespaces must be a list of namespace names"),
    ({"route_dns_provider": "route53"}, "route_dns_provider"),
]


@pytest.mark.parametrize(("override", "message"), BAD_VARIABLES, ids=[next(iter(case[0])) + str(i) for i, case in enumerate(BAD_VARIABLES)])
def test_a_bad_variable_fails_naming_it_and_writes_nothing(tmp_path, override, message):
    manifests = tmp_path / "manifests"
    proc, counters = converge(str(tmp_path), dict(BASE_INPUTS, route_dns_manifest_dir=str(manifests), **override), "-vvv")
    assert proc.returncode != 0 and counters.get("failed") == 1, proc.stdout[-3000:]
    assert message in proc.stdout, proc.stdout[-3000:]
    assert not manifests.exists()
    assert SECRET_VALUE not in proc.stdout + proc.stderr


def test_a_manifest_that_fails_validation_is_not_written_and_the_live_one_stays(rendered, tmp_path):
    manifests = tmp_path / "manifests"
    shutil.copytree(rendered[0], manifests)
    variables = dict(BASE_INPUTS, route_dns_manifest_dir=str(manifests))
    live = (manifests / "deployment.yaml").read_text()
    # Passes the role's checks, but "request" is no field of a container's resources: the strict schema refuses it.
    proc, counters = converge(str(tmp_path), dict(variables, route_dns_resources={"limits": {"memory": "64Mi"}, "request": {"cpu": "1"}}))
    assert counters["failed"] == 1 and "Additional properties are not allowed ('request' was unexpected)" in proc.stdout, proc.stdout[-3000:]
    assert (manifests / "deployment.yaml").read_text() == live
