"""The listener daemon as a real process: started from a program file and a config file, stopped or killed by PID."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from .ansible import collections_path
from .procs import free_port, stop_pid, wait_for

LISTENER_PASSWORD = "listener-daemon-pw-5d1c"  # of the kea_dns_listener database role in the tests
SOURCE_PROGRAM = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                              "roles", "dns_listener", "files", "kea_lease_monitor_vault.py")


def http_status(port: int, path: str) -> int | None:
    """The HTTP status of GET ``path`` on a local endpoint (/healthz, /readyz); None when nothing answers."""
    try:
        return requests.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code
    except requests.RequestException:
        return None


def metric_samples(port: int) -> dict[str, float]:
    """Every sample of a local /metrics, parsed with the Prometheus text parser: 'name{label="v"}' -> value."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def read_log(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


class ListenerProcess:
    """One daemon. ``python``/``program`` default to the source tree's launcher run with the test venv (it then
    imports the collection from the collections path); tests of the role pass the files the role installed."""

    def __init__(self, options: dict, env: dict[str, str], python: str | None = None, program: str | None = None,
                 args: list[str] | None = None, base: str | None = None, config: str | None = None,
                 metrics_port: int | None = None) -> None:
        self.base = base or tempfile.mkdtemp(prefix="kea-dns-listener-")
        self.metrics_port = metrics_port or free_port()
        self.options = {"metrics_address": f"127.0.0.1:{self.metrics_port}", "output_dir": os.path.join(self.base, "discovery"),
                        "log_level": "DEBUG", **options}
        self.env = env
        self.python = python or sys.executable
        self.program = program or SOURCE_PROGRAM
        self.args = args or []
        self.proc: subprocess.Popen | None = None
        self.rendered = config is not None  # a config file rendered by the role: used as it is
        self.config = config or os.path.join(self.base, "config.yml")
        self.log_path = os.path.join(self.base, "listener.log")
        self.starts = 0

    def _prepare(self) -> dict[str, str]:
        if not self.rendered:
            with open(self.config, "w", encoding="utf-8") as handle:
                yaml.safe_dump(self.options, handle)
        env = {"PATH": os.environ.get("PATH", ""), **self.env}
        if self.program == SOURCE_PROGRAM:  # an installed launcher imports the copy next to it, nothing else
            env["PYTHONPATH"] = collections_path()
        return env

    def start(self, wait_ready: bool = True) -> ListenerProcess:
        env = self._prepare()
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen([self.python, self.program, "--config", self.config, *self.args], stdout=log,
                                     stderr=subprocess.STDOUT, env=env)
        self.starts += 1
        if wait_ready:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the listener exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            return self.http("/readyz") == 200
        wait_for(ready, timeout, "listener /readyz")

    def http(self, path: str) -> int | None:
        return http_status(self.metrics_port, path)

    def metrics(self) -> dict[str, float]:
        return metric_samples(self.metrics_port)

    def log(self) -> str:
        return read_log(self.log_path)

    def kill(self) -> None:
        """SIGKILL, as a crash would end it."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            stop_pid(self.proc.pid)
            code = None
        self.proc = None
        return code

    def remove(self) -> None:
        """Stop the daemon and remove its directory (config, log, inventory files)."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def run_once(self, timeout: float = 120) -> subprocess.CompletedProcess:
        env = self._prepare()
        return subprocess.run([self.python, self.program, "--config", self.config, "--once", *self.args], env=env,
                              capture_output=True, text=True, timeout=timeout, check=False)


def read_unit(path: str) -> tuple[list[str], str | None]:
    """The command (ExecStart, split on spaces as systemd does for a line without quotes) and the EnvironmentFile of a
    systemd unit as the dns_listener role renders it."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    command = re.search(r"^ExecStart=(.*)$", text, re.M)
    env_file = re.search(r"^EnvironmentFile=(.*)$", text, re.M)
    if command is None:
        raise ValueError(f"{path}: no ExecStart")
    return command.group(1).split(), env_file.group(1) if env_file else None


def read_env_file(path: str) -> dict[str, str]:
    """The variables of a systemd EnvironmentFile as the dns_listener role writes it (NAME="value", escaped)."""
    found = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if "=" in line and not line.startswith("#"):
                name, value = line.rstrip("\n").split("=", 1)
                found[name] = value[1:-1].replace('\\"', '"').replace("\\\\", "\\") if value.startswith('"') else value
    return found
