"""A real kea-dhcp4 (or kea-dhcp6) with memfile leases and the lease_cmds hook, driven through its control socket.

It listens on no interface (``interfaces: []``): leases are made with ``lease4-add`` (``lease6-add``), as an operator
or a provisioning system would, and Kea writes them to its memfile lease file and rotates it with kea-lfc.
"""

from __future__ import annotations

import glob
import json
import os
import socket

from tests.harness.procs import ServerProcess, wait_for

HOOKS = sorted(glob.glob("/usr/lib/*/kea/hooks/libdhcp_lease_cmds.so"))


class KeaMemfile(ServerProcess):
    def __init__(self, lfc_interval: int = 0, lease_dir: str | None = None, family: int = 4) -> None:
        super().__init__("kea-dns-kea-")
        self.family = family
        self.lease_dir = lease_dir or self.base
        self.lease_file = os.path.join(self.lease_dir, f"kea-leases{family}.csv")
        self.socket = os.path.join(self.base, "kea.sock")
        self.lfc_interval = lfc_interval

    def start(self) -> KeaMemfile:
        daemon = f"kea-dhcp{self.family}"
        server = {
            "interfaces-config": {"interfaces": []},
            "control-socket": {"socket-type": "unix", "socket-name": self.socket},
            "lease-database": {"type": "memfile", "name": self.lease_file, "lfc-interval": self.lfc_interval},
            "hooks-libraries": [{"library": HOOKS[0]}],
            "valid-lifetime": 86400,
            "loggers": [{"name": daemon, "output_options": [{"output": "stdout"}], "severity": "INFO"}],
        }
        if self.family == 6:
            server.update({"data-directory": self.base, "preferred-lifetime": 54000,
                           "subnet6": [{"id": 10, "subnet": "2001:db8::/64", "pools": [{"pool": "2001:db8::1:0/112"}]}]})
        else:
            server["subnet4"] = [{"id": 1, "subnet": "10.99.0.0/16", "pools": [{"pool": "10.99.100.0 - 10.99.200.255"}]}]
        path = os.path.join(self.base, f"{daemon}.json")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({f"Dhcp{self.family}": server}, handle)
        env = dict(os.environ, KEA_PIDFILE_DIR=self.base, KEA_LOCKFILE_DIR=self.base)
        self.spawn([daemon, "-c", path], f"{daemon}.log", env=env)
        wait_for(lambda: os.path.exists(self.socket), 15, daemon)
        return self

    def command(self, command: str, arguments: dict | None = None) -> dict:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(30)
            conn.connect(self.socket)
            conn.sendall(json.dumps({"command": command, **({"arguments": arguments} if arguments else {})}).encode())
            data = b""
            while chunk := conn.recv(1 << 16):
                data += chunk
        answer = json.loads(data)
        assert answer["result"] in (0, 3), answer  # 3: empty
        return answer

    def add_leases(self, start: int, count: int) -> None:
        for index in range(start, start + count):
            hostname = f"us3-cab{index // 40:02d}-ru{index % 40:02d}-idrac"
            if self.family == 6:
                self.command("lease6-add", {"subnet-id": 10, "ip-address": f"2001:db8::{index + 1:x}", "iaid": index + 1,
                                            "duid": f"00:03:00:01:aa:bb:cc:dd:{index // 256:02x}:{index % 256:02x}", "hostname": hostname})
            else:
                self.command("lease4-add", {"ip-address": f"10.99.{index // 250}.{index % 250 + 1}",
                                            "hw-address": f"aa:bb:cc:dd:{index // 256:02x}:{index % 256:02x}", "hostname": hostname})

    def delete_lease(self, index: int) -> None:
        """The lease add_leases() made as ``index``, deleted."""
        if self.family == 6:
            self.command("lease6-del", {"ip-address": f"2001:db8::{index + 1:x}"})
        else:
            self.command("lease4-del", {"ip-address": f"10.99.{index // 250}.{index % 250 + 1}"})

    def leases(self) -> list[dict]:
        """Every lease Kea holds, without the fields that move with the clock (cltt is kept: it is restored)."""
        answer = self.command(f"lease{self.family}-get-all")
        return sorted(answer.get("arguments", {}).get("leases", []), key=lambda lease: lease["ip-address"])
