"""Throwaway servers for the roles' Molecule scenarios (roles/*/molecule/default), from the command line.

    python -m tests.harness.servers start STATE_DIR SERVER...    SERVER: postgres, knot, kube
    python -m tests.harness.servers spawn STATE_DIR NAME [--unit FILE] [--env-file FILE] [--env-configmap FILE]
                                          [--env NAME=VALUE]... [--ready URL] [-- COMMAND...]
    python -m tests.harness.servers stop STATE_DIR

Run from the collection root (``tests`` importable), with the Python that runs the tests.

``start`` runs a supervisor in the background. It starts the servers with the harness's own classes (PgCluster with
Kea's schema, Knot serving site.test and its reverse zones, the Kubernetes API server emulator holding one Ingress),
writes where they are to STATE_DIR/servers.json and stops them when it gets SIGTERM. ``spawn`` starts, in the
background, a program that a role installed or rendered, as its service manager would: the command and environment
file of a systemd unit, the data of a ConfigMap as environment. It records the program's PID in STATE_DIR/pids/ and
waits, with ``--ready``, until a URL answers 200. ``stop`` ends every process recorded in STATE_DIR by its PID and
removes the servers' directories. It does nothing when nothing runs.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import urllib.parse

import yaml

from .ansible import REPO_ROOT
from .listener import http_status, read_env_file, read_log, read_unit
from .procs import free_port, launch, stop_pid, wait_for

SERVERS = ("postgres", "knot", "kube")
STATE = "servers.json"
SUPERVISOR = "supervisor"
INGRESS = {"name": "web.site.test", "address": "192.0.2.10"}  # the Ingress the emulator holds, and its load balancer
SPARE_PORTS = 3  # free ports for the programs a scenario renders (metrics, health, HTTP APIs)


def _pid_file(state_dir: str, name: str) -> str:
    return os.path.join(state_dir, "pids", f"{name}.pid")


def _record_pid(state_dir: str, name: str, pid: int) -> None:
    os.makedirs(os.path.join(state_dir, "pids"), exist_ok=True)
    with open(_pid_file(state_dir, name), "w", encoding="utf-8") as handle:
        handle.write(f"{pid}\n")


def _stop_recorded(state_dir: str, name: str, timeout: float = 10.0) -> None:
    path = _pid_file(state_dir, name)
    with contextlib.suppress(FileNotFoundError):
        with open(path, encoding="utf-8") as handle:
            stop_pid(int(handle.read()), timeout=timeout)
        os.unlink(path)


def _start_servers(names: list[str], started: list) -> dict:
    """Each server started with the harness's class (appended to ``started`` at once, to be stopped); returns the state."""
    from .dns_servers import ZONES, Knot  # pylint: disable=import-outside-toplevel
    from .kube_api import KubeApiEmulator  # pylint: disable=import-outside-toplevel
    from .postgres import PgCluster  # pylint: disable=import-outside-toplevel
    from .routes import ingress  # pylint: disable=import-outside-toplevel

    state: dict = {"supervisor": os.getpid(), "ports": [free_port() for _port in range(SPARE_PORTS)]}
    if "postgres" in names:
        pg = launch(PgCluster())
        started.append(pg)
        state["postgres"] = {"host": "127.0.0.1", "port": pg.port, "socket": pg.sock, "database": pg.kea_db, "user": pg.kea_user,
                             "password": pg.kea_password, "listener_password": secrets.token_urlsafe(16), "pid": pg.pid, "base": pg.base}
    if "knot" in names:
        knot = launch(Knot())
        started.append(knot)
        state["knot"] = {"port": knot.port, "socket": knot.socket, "zone": ZONES[0], "pid": knot.proc.pid, "base": knot.base}
    if "kube" in names:
        kube = launch(KubeApiEmulator())
        started.append(kube)
        host, address = INGRESS["name"], INGRESS["address"]
        kube.apply(ingress("web", host, ip=None))
        kube.set_status("Ingress/default/web", {"loadBalancer": {"ingress": [{"ip": address}]}})
        state["kube"] = {"url": kube.url, "kubeconfig": kube.env()["KUBECONFIG"], "ingress": dict(INGRESS), "base": kube.base}
    return state


def serve(state_dir: str, names: list[str]) -> int:
    """The supervisor: start the servers, write the state file, wait for SIGTERM or SIGINT, stop the servers."""
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: done.set())
    started: list = []
    try:
        state = _start_servers(names, started)
        partial = os.path.join(state_dir, STATE + ".tmp")
        with open(partial, "w", encoding="utf-8") as handle:
            json.dump(state, handle, indent=2)
        os.replace(partial, os.path.join(state_dir, STATE))
        print(f"serving {', '.join(names)}", flush=True)
        while not done.wait(1.0):
            pass
    finally:
        for server in reversed(started):
            server.stop()
    print("stopped", flush=True)
    return 0


def start(state_dir: str, names: list[str], timeout: float = 120.0) -> int:
    """The supervisor in the background (its own session, its output in STATE_DIR/supervisor.log); waits for its state."""
    os.makedirs(state_dir, exist_ok=True)
    stop(state_dir)  # what an earlier run left
    log_path = os.path.join(state_dir, f"{SUPERVISOR}.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "tests.harness.servers", "serve", state_dir, *names], cwd=REPO_ROOT,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    _record_pid(state_dir, SUPERVISOR, proc.pid)

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"the supervisor exited with {proc.returncode}:\n{read_log(log_path)[-3000:]}")
        return os.path.exists(os.path.join(state_dir, STATE))
    try:
        wait_for(ready, timeout, "the servers", interval=0.2)
    except (RuntimeError, TimeoutError) as error:
        stop(state_dir)
        print(error, file=sys.stderr)
        return 1
    with open(os.path.join(state_dir, STATE), encoding="utf-8") as handle:
        print(handle.read())
    return 0


def spawn(state_dir: str, name: str, command: list[str], env: dict[str, str], ready: str | None, timeout: float = 60.0) -> int:
    """``command`` in the background with ``env`` (and PATH) only, its output in STATE_DIR/NAME.log, its PID recorded; an
    earlier NAME is stopped first. With ``ready``, waits until that URL answers 200."""
    if name == SUPERVISOR or not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", name):
        raise SystemExit(f"spawn: bad name {name!r}")
    _stop_recorded(state_dir, name, timeout=20.0)
    log_path = os.path.join(state_dir, f"{name}.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, env={"PATH": os.environ.get("PATH", ""), **env}, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    _record_pid(state_dir, name, proc.pid)
    if ready is None:
        return 0
    url = urllib.parse.urlsplit(ready)

    def answers() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{read_log(log_path)[-3000:]}")
        return http_status(url.port, url.path) == 200
    try:
        wait_for(answers, timeout, f"{name} at {ready}", interval=0.2)
    except (RuntimeError, TimeoutError) as error:
        print(f"{error}\n{read_log(log_path)[-3000:]}", file=sys.stderr)
        return 1
    print(f"{name}: PID {proc.pid}, {ready} answers 200")
    return 0


def stop(state_dir: str) -> int:
    """The spawned programs, then the supervisor (which stops its servers); then, in case the supervisor could not,
    each server by the PID it recorded, and its directory."""
    for path in sorted(glob.glob(_pid_file(state_dir, "*"))):
        name = os.path.basename(path)[:-len(".pid")]
        if name != SUPERVISOR:
            _stop_recorded(state_dir, name, timeout=20.0)
    state_path = os.path.join(state_dir, STATE)
    state = {}
    with contextlib.suppress(FileNotFoundError), open(state_path, encoding="utf-8") as handle:
        state = json.load(handle)
    _stop_recorded(state_dir, SUPERVISOR, timeout=60.0)
    for server in SERVERS:
        found = state.get(server, {})
        if found.get("pid"):
            stop_pid(found["pid"])
        if found.get("base"):
            shutil.rmtree(found["base"], ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(state_path)
    return 0


def environment(args: argparse.Namespace) -> dict[str, str]:
    """The environment of a spawned program: the unit's EnvironmentFile, an environment file, a ConfigMap's data (as a
    Deployment's envFrom), then --env, later ones winning."""
    env: dict[str, str] = {}
    if args.unit:
        env_file = read_unit(args.unit)[1]
        env.update(read_env_file(env_file) if env_file else {})
    if args.env_file:
        env.update(read_env_file(args.env_file))
    if args.env_configmap:
        with open(args.env_configmap, encoding="utf-8") as handle:
            env.update({key: str(value) for key, value in (yaml.safe_load(handle).get("data") or {}).items()})
    for pair in args.env:
        key, _sep, value = pair.partition("=")
        env[key] = value
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.harness.servers", description=__doc__.split("\n\n", 1)[0])
    commands = parser.add_subparsers(dest="action", required=True)
    for action in ("start", "serve"):
        sub = commands.add_parser(action)
        sub.add_argument("state_dir")
        sub.add_argument("servers", nargs="+", choices=SERVERS)
    sub = commands.add_parser("spawn")
    sub.add_argument("state_dir")
    sub.add_argument("name")
    sub.add_argument("--unit", help="a systemd unit: its ExecStart is the command, its EnvironmentFile is read")
    sub.add_argument("--env-file", help="NAME=\"value\" lines, as a systemd EnvironmentFile")
    sub.add_argument("--env-configmap", help="a ConfigMap manifest whose data becomes the environment")
    sub.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    sub.add_argument("--ready", metavar="URL", help="wait until this http://127.0.0.1:PORT/PATH answers 200")
    sub = commands.add_parser("stop")
    sub.add_argument("state_dir")
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[argv.index("--") + 1:] if "--" in argv else []  # spawn's command, after --
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    state_dir = os.path.abspath(args.state_dir)
    if args.action == "start":
        return start(state_dir, args.servers)
    if args.action == "serve":
        return serve(state_dir, args.servers)
    if args.action == "stop":
        return stop(state_dir)
    command = command or (read_unit(args.unit)[0] if args.unit else [])
    if not command:
        parser.error("spawn needs a command (after --) or --unit")
    if args.ready and (urllib.parse.urlsplit(args.ready).hostname != "127.0.0.1" or not urllib.parse.urlsplit(args.ready).port):
        parser.error("--ready takes http://127.0.0.1:PORT/PATH")
    return spawn(state_dir, args.name, command, environment(args), args.ready)


if __name__ == "__main__":
    sys.exit(main())
