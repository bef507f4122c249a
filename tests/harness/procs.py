"""Small process helpers shared by the server classes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout} s")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, wait, then SIGKILL: the server is gone when this returns."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def run(cmd: list[str], check: bool = True, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run a command, capture its text output, raise on failure (unless check=False)."""
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout)


def launch(server):
    """``server.start()``; if starting fails, ``server.stop()`` first, so nothing half-started is left behind."""
    try:
        return server.start()
    except BaseException:
        server.stop()
        raise


class ServerProcess:
    """A server in the foreground with its own temporary directory; stop() ends it by PID and removes the directory."""

    def __init__(self, prefix: str) -> None:
        self.base = tempfile.mkdtemp(prefix=prefix)
        self.proc: subprocess.Popen | None = None

    def spawn(self, cmd: list[str], log_name: str, env: dict | None = None) -> None:
        log = open(os.path.join(self.base, log_name), "wb")  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)

    def stop(self) -> None:
        if self.proc is not None:
            stop_pid(self.proc.pid)
            self.proc.wait(timeout=10)
            self.proc = None
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self):
        return launch(self)

    def __exit__(self, *exc) -> None:
        self.stop()
