"""Two network namespaces joined by a veth pair: a DHCP server side and a client side (root only)."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
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
    """``server`` holds ``server_if`` with ``server_ip`` (and ``server_ip6``); ``client`` holds ``client_if`` with the MAC
    ``client_mac``. Duplicate address detection is off in both namespaces, so link-local addresses are usable at once."""

    def __init__(self, server_ip: str = "10.99.0.1/24", client_mac: str = "aa:bb:cc:dd:ee:ff", server_ip6: str = "2001:db8::1/64") -> None:
        tag = uuid.uuid4().hex[:6]
        self.server, self.client = f"kds-{tag}", f"kdc-{tag}"
        self.server_if, self.client_if = f"kv{tag}s", f"kv{tag}c"
        self.server_ip, self.client_mac, self.server_ip6 = server_ip, client_mac, server_ip6

    def start(self) -> VethPair:
        no_dad = [f"net.ipv6.conf.{name}.accept_dad=0" for name in ("all", "default")]
        for command in (["ip", "netns", "add", self.server], ["ip", "netns", "add", self.client],
                        ["ip", "link", "add", self.server_if, "type", "veth", "peer", "name", self.client_if],
                        ["ip", "link", "set", self.server_if, "netns", self.server], ["ip", "link", "set", self.client_if, "netns", self.client],
                        ["ip", "netns", "exec", self.server, "sysctl", "-qw", *no_dad, f"net.ipv6.conf.{self.server_if}.accept_dad=0"],
                        ["ip", "netns", "exec", self.client, "sysctl", "-qw", *no_dad, f"net.ipv6.conf.{self.client_if}.accept_dad=0"],
                        ["ip", "-n", self.server, "addr", "add", self.server_ip, "dev", self.server_if],
                        ["ip", "-n", self.server, "addr", "add", self.server_ip6, "dev", self.server_if, "nodad"],
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

    def dhcp6_client(self, workdir: str, timeout: int = 20) -> dict[str, str]:
        """One DHCPv6 exchange (Solicit, Advertise, Request, Reply) with ISC dhclient -6 in the client namespace, its
        DUID a DUID-LL of ``client_mac`` (00:03:00:01:<mac>): the address it was given, as its script saw it."""
        os.makedirs(workdir, exist_ok=True)
        out, lease, pid = (os.path.join(workdir, name) for name in ("dhclient6.out", "dhclient6.leases", "dhclient6.pid"))
        script = os.path.join(workdir, "dhclient6-script")
        with open(script, "w", encoding="utf-8") as handle:
            handle.write("#!/bin/sh\n# dhclient runs this with the lease in its environment; keep what the test checks.\n"
                         f'[ "$reason" = BOUND6 ] && echo "ip6=$new_ip6_address" > {shlex.quote(out)}\nexit 0\n')
        os.chmod(script, 0o755)
        for path in (out, lease):
            if os.path.exists(path):
                os.unlink(path)
        # -1: one try, exit 2 without a lease; after BOUND6 dhclient goes to the background, stopped below.
        subprocess.run(["ip", "netns", "exec", self.client, "dhclient", "-6", "-1", "-D", "LL", "-lf", lease, "-pf", pid, "-sf", script,
                        self.client_if], capture_output=True, text=True, timeout=timeout, check=False)
        try:
            with open(pid, encoding="ascii") as handle:
                os.kill(int(handle.read().strip()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
        if not os.path.exists(out):
            return {}
        with open(out, encoding="utf-8") as handle:
            return dict(line.split("=", 1) for line in handle.read().split())

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
