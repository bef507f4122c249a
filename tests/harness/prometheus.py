"""A real Prometheus server (Debian's package) scraping given targets every second and evaluating given rule files."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

from .procs import ServerProcess, free_port, wait_for


class Prometheus(ServerProcess):
    def __init__(self, targets: dict[str, list[str]], rule_files: list[str]) -> None:
        """``targets``: job -> host:port list."""
        super().__init__("kea-dns-prometheus-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "rule_files": rule_files,
                  "scrape_configs": [{"job_name": job, "static_configs": [{"targets": hosts}]} for job, hosts in targets.items()]}
        self.config = os.path.join(self.base, "prometheus.yml")
        with open(self.config, "w", encoding="utf-8") as handle:
            json.dump(config, handle)  # JSON is YAML

    def start(self) -> Prometheus:
        self.spawn(["prometheus", f"--config.file={self.config}", f"--storage.tsdb.path={os.path.join(self.base, 'data')}",
                    f"--web.listen-address=127.0.0.1:{self.port}"], "prometheus.log")
        wait_for(self.ready, 30, "prometheus")
        return self

    def ready(self) -> bool:
        """Prometheus opens its port before its storage is up and answers 503 until /-/ready says 200."""
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as answer:  # noqa: S310 - a local test server
                return answer.status == 200
        except (urllib.error.URLError, ConnectionError):  # refused, or HTTPError 503 (a URLError)
            return False

    def api(self, path: str) -> dict:
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}", timeout=5) as answer:  # noqa: S310 - a local test server
            return json.load(answer)["data"]

    def firing(self) -> dict[str, list[dict]]:
        """Alert name -> the labels of its firing alerts."""
        found: dict[str, list[dict]] = {}
        for alert in self.api("alerts")["alerts"]:
            if alert["state"] == "firing":
                found.setdefault(alert["labels"]["alertname"], []).append(alert["labels"])
        return found
