"""The route program (roles/route_dns/files/route_dns_sync.py) as a real process, pointed at the Kubernetes API server
emulator with a kubeconfig, and the Kubernetes objects the tests apply to the emulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile

from .ansible import REPO_ROOT, collections_path
from .dns_servers import Knot
from .listener import http_status, metric_samples, read_log
from .pipeline import Target, listener_target
from .procs import free_port, launch, wait_for

PROGRAM = os.path.join(REPO_ROOT, "roles", "route_dns", "files", "route_dns_sync.py")


def flags(options: dict) -> list[str]:
    """Options as the program's command-line flags (lists comma-separated, booleans as --flag / --no-flag)."""
    found = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            found.append(flag if value else "--no-" + name.replace("_", "-"))
        else:
            found += [flag, ",".join(value) if isinstance(value, (list, tuple)) else str(value)]
    return found


SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def in_pod(service_account: str) -> list[str]:
    """A command prefix that runs a program as in a pod: in a mount namespace of its own (root only), where a tmpfs
    over /run (/var/run) holds the service account files at SERVICE_ACCOUNT; nothing outside that process sees it."""
    script = f'mount -t tmpfs tmpfs /run && mkdir -p {SERVICE_ACCOUNT} && cp "$0"/* {SERVICE_ACCOUNT}/ && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, service_account]


class RouteProcess:
    def __init__(self, options: dict, env: dict[str, str], prefix: list[str] | None = None) -> None:
        self.base = tempfile.mkdtemp(prefix="kea-dns-routes-")
        self.metrics_port, self.health_port = free_port(), free_port()
        self.options = {"metrics_address": f"127.0.0.1:{self.metrics_port}", "health_address": f"127.0.0.1:{self.health_port}",
                        "log_format": "text", "log_level": "DEBUG", "retry_max_interval": 2.0, **options}
        self.env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": collections_path(), **env}
        self.log_path = os.path.join(self.base, "routes.log")
        self.proc: subprocess.Popen | None = None
        self.prefix = prefix or []  # e.g. in_pod()

    def command(self, *extra: str) -> list[str]:
        return [*self.prefix, sys.executable, PROGRAM, *flags(self.options), *extra]

    def start(self, wait_ready: bool = True) -> RouteProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=self.env)
        if wait_ready:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the route program exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            return self.http("/readyz") == 200
        wait_for(ready, timeout, "the route program ready")

    def run_once(self, *extra: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(self.command("--once", *extra), env=self.env, capture_output=True, text=True, timeout=timeout, check=False)

    def http(self, path: str) -> int | None:
        return http_status(self.metrics_port if path == "/metrics" else self.health_port, path)

    def metrics(self) -> dict[str, float]:
        return metric_samples(self.metrics_port)

    def log(self) -> str:
        return read_log(self.log_path)

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=5)


def ingress(name: str, *hosts: str, ip: str | None = "192.0.2.10", namespace: str = "default", annotations: dict | None = None) -> dict:
    obj = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
           "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
           "spec": {"ingressClassName": "traefik", "rules": [{"host": host} for host in hosts]}}
    if ip:
        obj["status"] = {"loadBalancer": {"ingress": [{"ip": ip}]}}
    return obj


def route_target(request, name: str):
    """A DNS server for the route tests: a Knot of its own (the session's keeps every test's records, and a route
    reconcile of one owner id would see the last test's), else the session's PowerDNS (reset) or a fresh Technitium
    emulator (tests/harness/pipeline.py)."""
    if name == "knot":
        server = launch(Knot())
        request.addfinalizer(server.stop)
        return Target("knot", server, {"provider": "knot"}, server.env())
    return listener_target(request, name)


def ingressroute(name: str, match: str, target: str = "192.0.2.20", namespace: str = "default") -> dict:
    return {"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute",
            "metadata": {"name": name, "namespace": namespace, "annotations": {"ddi.kea_dns/target": target}},
            "spec": {"routes": [{"match": match, "kind": "Rule", "services": [{"name": "web", "port": 80}]}]}}
