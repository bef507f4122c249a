"""ansible-rulebook as a real process (the tests of the EDA rulebook and benchmarks/eda.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import yaml

from tests.harness.ansible import ansible_env, tool
from tests.harness.procs import wait_for

READY = "kea_events: listening on"  # the source's log line once it LISTENs


class RulebookProcess:
    """``ansible-rulebook -r <rulebook> -i <localhost inventory> --vars <variables> -v`` in ``work``, logging to a file;
    started when the log shows ``ready``. ``env`` is added to the test environment (collections path, credentials)."""

    def __init__(self, work: str, rulebook: str, variables: dict, env: dict[str, str], ready: str = READY) -> None:
        inventory = os.path.join(work, "inventory.yml")
        with open(inventory, "w", encoding="utf-8") as handle:
            yaml.safe_dump({"all": {"hosts": {"localhost": {"ansible_connection": "local",
                                                            "ansible_python_interpreter": sys.executable}}}}, handle)
        variables_file = os.path.join(work, "vars.yml")
        with open(variables_file, "w", encoding="utf-8") as handle:
            yaml.safe_dump(variables, handle)
        self.log_path = os.path.join(work, "ansible-rulebook.log")
        self.log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603
            [tool("ansible-rulebook"), "-r", rulebook, "-i", inventory, "--vars", variables_file, "-v"],
            env=ansible_env(env), cwd=work, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: ready in self.output() or self.process.poll() is not None, 120, f"ansible-rulebook {rulebook}")
        if self.process.poll() is not None:
            self.log.close()
            raise RuntimeError(f"ansible-rulebook stopped: {self.output()[-4000:]}")
        time.sleep(1)  # the rule engine's session starts just after the sources

    def output(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def signal(self, signum: int) -> int:
        """Send ``signum`` (SIGTERM, SIGKILL) and wait for the exit; returns the exit code."""
        self.process.send_signal(signum)
        try:
            return self.process.wait(60)
        finally:
            self.log.close()

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
