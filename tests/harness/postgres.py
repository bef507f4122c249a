"""A throwaway PostgreSQL cluster with Kea's real schema (kea-admin db-init pgsql)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile

import psycopg2

from .procs import free_port, launch, run, stop_pid

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


def pg_bindir() -> str:
    found = sorted(glob.glob(PG_BIN_GLOB), key=lambda p: int(p.split("/")[-2]))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found (install the Debian package postgresql)")
    return found[-1]


class PgCluster:
    """initdb + pg_ctl as the postgres user when run as root; own port, own socket directory."""

    def __init__(self, base_dir: str | None = None) -> None:
        self.base = base_dir or tempfile.mkdtemp(prefix="kea-dns-pg-")
        self.data = os.path.join(self.base, "data")
        self.sock = os.path.join(self.base, "sock")
        self.port = free_port()
        self.bindir = pg_bindir()
        self.kea_user = "kea"
        self.kea_password = secrets.token_urlsafe(16)
        self.kea_db = "kea"
        self._as_postgres = os.geteuid() == 0
        self.pid: int | None = None

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if self._as_postgres else list(args)

    def start(self) -> PgCluster:
        os.makedirs(self.sock, exist_ok=True)
        os.chmod(self.base, 0o755)
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")
            for path in (self.base, self.sock):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        run(self._cmd(f"{self.bindir}/initdb", "-D", self.data, "-U", "postgres", "--auth-local=trust",
                      "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"))
        self._pg_ctl("start")
        self.admin_sql(f"CREATE ROLE {self.kea_user} LOGIN PASSWORD %s", (self.kea_password,))
        self.admin_sql(f"CREATE DATABASE {self.kea_db} OWNER {self.kea_user}", autocommit=True)
        self.kea_admin("db-init")
        return self

    def _pg_ctl(self, action: str) -> None:
        opts = f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        run(self._cmd(f"{self.bindir}/pg_ctl", "-D", self.data, "-l", os.path.join(self.base, "log"), "-w", "-m", "fast", "-o", opts, action))
        if action == "stop":
            self.pid = None
            return
        with open(os.path.join(self.data, "postmaster.pid"), encoding="utf-8") as handle:
            self.pid = int(handle.readline())

    def restart(self) -> None:
        """A fast restart: every client connection is cut, as when the server or its host restarts."""
        self._pg_ctl("restart")

    def stop_server(self) -> None:
        """Stop the server (fast: client connections are cut), keeping its data for start_server()."""
        self._pg_ctl("stop")

    def start_server(self) -> None:
        self._pg_ctl("start")

    def kea_admin(self, command: str, database: str | None = None) -> str:
        out = run(["kea-admin", command, "pgsql", "-u", self.kea_user, "-p", self.kea_password,
                   "-h", "127.0.0.1", "-P", str(self.port), "-n", database or self.kea_db])
        return out.stdout

    def admin_connect(self, dbname: str = "postgres"):
        return psycopg2.connect(host=self.sock, port=self.port, user="postgres", dbname=dbname)

    def admin_sql(self, sql: str, params: tuple | None = None, dbname: str = "postgres", autocommit: bool = True):
        conn = self.admin_connect(dbname)
        conn.autocommit = autocommit
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                rows = cur.fetchall() if cur.description else None
            if not autocommit:
                conn.commit()
            return rows
        finally:
            conn.close()

    def kea_sql(self, sql: str, params: tuple | None = None):
        return self.admin_sql(sql, params, dbname=self.kea_db)

    def reset(self) -> None:
        """Empty the reservation and lease tables between tests, and the lease statistics that Kea's triggers keep
        (TRUNCATE fires no row trigger)."""
        stats = [row[0] for row in self.kea_sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename ~ '^lease[46]_.*stat'")]
        self.kea_sql(f"TRUNCATE hosts, lease4, lease6, {', '.join(stats)} RESTART IDENTITY CASCADE")

    def env(self) -> dict[str, str]:
        """Connection settings for the collection, as environment variables."""
        return {"KEA_DB_HOST": "127.0.0.1", "KEA_DB_PORT": str(self.port), "KEA_DB_NAME": self.kea_db,
                "KEA_DB_USER": self.kea_user, "KEA_DB_PASSWORD": self.kea_password}

    def admin_env(self) -> dict[str, str]:
        """The superuser through the private Unix socket (trust), as the collection's options see it."""
        return {"KEA_DB_HOST": self.sock, "KEA_DB_PORT": str(self.port), "KEA_DB_NAME": self.kea_db, "KEA_DB_USER": "postgres"}

    def connect_as(self, user: str, password: str | None, dbname: str | None = None):
        """A TCP connection with password authentication, as a remote client would make it."""
        return psycopg2.connect(host="127.0.0.1", port=self.port, user=user, password=password, dbname=dbname or self.kea_db)

    def stop(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(subprocess.SubprocessError):
                run(self._cmd(f"{self.bindir}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"), timeout=30)
            stop_pid(self.pid)
            self.pid = None
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        return launch(self)

    def __exit__(self, *exc) -> None:
        self.stop()


def fill_leases(cluster: PgCluster, lease4: int, lease6: int = 0, dbname: str | None = None) -> None:
    """``lease4`` DHCPv4 and ``lease6`` DHCPv6 leases in Kea's own tables, as Kea writes them (statistics triggers run)."""
    cluster.admin_sql(
        "INSERT INTO lease4 (address, hwaddr, client_id, valid_lifetime, expire, subnet_id, fqdn_fwd, fqdn_rev, hostname, state, user_context) "
        "SELECT (10 << 24) + (99 << 16) + n, decode(lpad(to_hex(n), 12, '0'), 'hex'), NULL, 86400, "
        "timestamptz '2026-11-22 00:00:00+00' + n * interval '1 second', 1 + n %% 4, n %% 2 = 0, n %% 3 = 0, "
        "'us3-cab' || lpad((n / 40)::text, 2, '0') || '-ru' || lpad((n %% 40)::text, 2, '0') || '-idrac.site.test', 0, "
        "CASE WHEN n %% 10 = 0 THEN '{\"note\": \"tab\\there, newline\\nthere\"}' END "
        "FROM generate_series(1, %s) AS n", (lease4,), dbname=dbname or cluster.kea_db)
    if lease6:
        cluster.admin_sql(
            "INSERT INTO lease6 (address, duid, valid_lifetime, expire, subnet_id, pref_lifetime, lease_type, iaid, prefix_len, "
            "fqdn_fwd, fqdn_rev, hostname, state) "
            "SELECT '2001:db8::' || to_hex(n), decode(lpad(to_hex(n), 28, '0'), 'hex'), 86400, "
            "timestamptz '2026-11-22 00:00:00+00' + n * interval '1 second', 1, 43200, 0, n, 128, false, false, '', 0 "
            "FROM generate_series(1, %s) AS n", (lease6,), dbname=dbname or cluster.kea_db)


def table_rows(cluster: PgCluster, table: str, dbname: str | None = None) -> list[tuple]:
    return cluster.admin_sql(f"SELECT * FROM {table} ORDER BY address", dbname=dbname or cluster.kea_db)  # noqa: S608 - test code, fixed names
