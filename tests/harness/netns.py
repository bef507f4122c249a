"""Two network namespaces joined by a veth pair: a DHCP server side and a client side (root only)."""

from __future__ import annotations

import os
import subprocess
import uuid


def can_run() -> str | None:
    """None when network namespaces can be made here, else why not."""
    if os.geteuid() != 0:
        return "needs root (network namespaces and raw DHCP sockets)"
    probe = f"kdp{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "delete", probe], check=False)
    return None


class VethPair:
    """``server`` holds ``server_if`` with ``server_ip``; ``client`` holds ``client_if`` with the MAC ``client_mac``."""

    def __init__(self, server_ip: str = "10.99.0.1/24", client_mac: str = "aa:bb:cc:dd:ee:ff") -> None:
        tag = uuid.uuid4().hex[:6]
        self.server, self.client = f"kds-{tag}", f"kdc-{tag}"
        self.server_if, self.client_if = f"kv{tag}s", f"kv{tag}c"
        self.server_ip, self.client_mac = server_ip, client_mac

    def start(self) -> VethPair:
        for command in (["ip", "netns", "add", self.server], ["ip", "netns", "add", self.client],
                        ["ip", "link", "add", self.server_if, "type", "veth", "peer", "name", self.client_if],
                        ["ip", "link", "set", self.server_if, "netns", self.server], ["ip", "link", "set", self.client_if, "netns", self.client],
                        ["ip", "-n", self.server, "addr", "add", self.server_ip, "dev", self.server_if],
                        ["ip", "-n", self.server, "link", "set", self.server_if, "up"], ["ip", "-n", self.server, "link", "set", "lo", "up"],
                        ["ip", "-n", self.client, "link", "set", self.client_if, "address", self.client_mac],
                        ["ip", "-n", self.client, "link", "set", self.client_if, "up"], ["ip", "-n", self.client, "link", "set", "lo", "up"]):
            subprocess.run(command, check=True, capture_output=True)
        return self

    def in_server(self, *command: str) -> list[str]:
        return ["ip", "netns", "exec", self.server, *command]

    def dhcp_client(self, script: str, timeout: int = 20) -> dict[str, str]:
        """One DHCP exchange with busybox udhcpc in the client namespace: the variables it hands its script."""
        out = subprocess.run(["ip", "netns", "exec", self.client, "busybox", "udhcpc", "-i", self.client_if, "-n", "-q", "-f", "-t", "5", "-T", "1",
                              "-s", script], capture_output=True, text=True, timeout=timeout, check=False)
        found = {}
        for line in out.stdout.splitlines():
            if line.startswith("KEA_DNS_") and "=" in line:
                key, value = line[len("KEA_DNS_"):].split("=", 1)
                found[key] = value
        return found

    def stop(self) -> None:
        for namespace in (self.server, self.client):
            subprocess.run(["ip", "netns", "delete", namespace], check=False, capture_output=True)

    def __enter__(self) -> VethPair:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


UDHCPC_SCRIPT = """#!/bin/sh
# udhcpc calls this with the event and the lease in the environment; print what the test checks.
if [ "$1" = bound ] || [ "$1" = renew ]; then
    echo "KEA_DNS_ip=$ip"
    echo "KEA_DNS_hostname=$hostname"
fi
"""
