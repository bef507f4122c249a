"""Small process helpers shared by the server classes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def open_to_all(path) -> None:
    """Let other users (knotd runs as knot) enter ``path`` and the directories above it up to the temporary directory:
    pytest makes them 0700 (tmp_path, pytest-<n>, pytest-of-<user>, and with pytest-xdist popen-gw<n> as well)."""
    top = os.path.realpath(tempfile.gettempdir())
    directory = os.path.realpath(path)
    if not directory.startswith(top + os.sep):  # a --basetemp elsewhere: only the directory itself
        top = os.path.dirname(directory)
    while directory != top and os.path.dirname(directory) != directory:
        os.chmod(directory, os.stat(directory).st_mode | 0o755)
        directory = os.path.dirname(directory)


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
    """A server in the foreground with its own temporary directory; stop() ends it by PID and removes the directory.

    stop_server()/start_server()/restart() end and start the same process again (same command, ports and data);
    subclasses say in serving() when a restarted server answers.
    """

    def __init__(self, prefix: str) -> None:
        self.base = tempfile.mkdtemp(prefix=prefix)
        self.proc: subprocess.Popen | None = None
        self._command: tuple[list[str], str, dict | None] | None = None
        self._log = None

    def spawn(self, cmd: list[str], log_name: str, env: dict | None = None, append: bool = False) -> None:
        self._command = (cmd, log_name, env)
        if self._log is not None:
            self._log.close()
        self._log = open(os.path.join(self.base, log_name), "ab" if append else "wb")  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)

    @property
    def stopped(self) -> bool:
        """True when no server process runs (stopped by stop_server(), never started, or exited)."""
        return self.proc is None or self.proc.poll() is not None

    def stop_server(self) -> None:
        """SIGTERM by PID and wait; the directory and the data stay, for start_server()."""
        if self.proc is not None:
            stop_pid(self.proc.pid)
            self.proc.wait(timeout=10)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def serving(self) -> bool:
        """Whether the (re)started server answers; the server classes check their ports and zones."""
        return True

    def start_server(self, timeout: float = 30.0) -> None:
        """The same command again (log appended), then wait until serving() is true; a no-op when running."""
        if not self.stopped:
            return
        if self._command is None:
            raise RuntimeError(f"{type(self).__name__} was never started: use start()")
        self.stop_server()  # reaps a process that exited by itself
        self.before_start_server()
        cmd, log_name, env = self._command
        self.spawn(cmd, log_name, env, append=True)

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                with open(os.path.join(self.base, log_name), "rb") as handle:
                    tail = handle.read()[-3000:].decode(errors="replace")
                raise RuntimeError(f"{cmd[0]} exited with {self.proc.returncode} while restarting:\n{tail}")
            return self.serving()

        wait_for(ready, timeout, f"{type(self).__name__} (restarted)")

    def before_start_server(self) -> None:
        """Clean-up of what a stopped server leaves behind (stale sockets, PID files) before it starts again."""

    def restart(self) -> None:
        self.stop_server()
        self.start_server()

    def stop(self) -> None:
        self.stop_server()
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self):
        return launch(self)

    def __exit__(self, *exc) -> None:
        self.stop()


class ClosingHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows its open client connections, so that an emulator can be stopped as a real server
    is: close_connections() shuts every one down (the peer sees the connection closed/reset) after server_close() has
    closed the listening socket (new connections are refused).

    With ``ssl_context`` the listening socket is wrapped, and the TLS handshake is done in the connection's thread rather
    than in accept(), so that a client that connects and says nothing never blocks serve_forever() (nor shutdown()).
    """

    daemon_threads = True

    def __init__(self, address, handler, ssl_context: ssl.SSLContext | None = None) -> None:
        self._connections: set = set()
        self._connections_lock = threading.Lock()
        self.closing = False
        super().__init__(address, handler)
        if ssl_context is not None:
            self.socket = ssl_context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def process_request(self, request, client_address) -> None:
        with self._connections_lock:
            if self.closing:
                self.shutdown_request(request)
                return
            self._connections.add(request)
        super().process_request(request, client_address)

    def finish_request(self, request, client_address) -> None:
        if isinstance(request, ssl.SSLSocket):
            try:
                request.do_handshake()
            except (OSError, ValueError):  # a failed or abandoned handshake: nothing to serve (as accept() would drop it)
                return
        super().finish_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        if not self.closing:  # a connection cut by close_connections() is no error worth a traceback
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._connections_lock:
            self.closing = True
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError, ValueError):
                socket.socket.shutdown(connection, socket.SHUT_RDWR)  # FIN now; wakes the handler blocked in a read
            with contextlib.suppress(OSError, ValueError):
                connection.close()  # the descriptor goes when the handler thread lets go of it


class EmulatedServer:
    """stop_server()/start_server()/restart()/stopped for an in-process HTTP emulator: the same port and handler, the
    same state object; subclasses set ``self.httpd`` (from ``_bind(port)``) and call ``_serve()`` in start()."""

    httpd: ClosingHTTPServer
    _thread: threading.Thread | None = None

    def _bind(self, port: int) -> ClosingHTTPServer:
        raise NotImplementedError

    def _serve(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def stopped(self) -> bool:
        return self._thread is None or not self._thread.is_alive() or self.httpd.closing

    def stop_server(self) -> None:
        """Listening socket closed (connections refused) and every open client connection cut; the state stays."""
        if self._thread is not None and self._thread.is_alive():  # shutdown() waits for serve_forever(), which only runs once started
            self.httpd.shutdown()
            self._thread.join(timeout=10)
        self.httpd.server_close()
        self.httpd.close_connections()

    def start_server(self, timeout: float = 10.0) -> None:
        """Serve again on the same port with the same state; a no-op when serving."""
        if not self.stopped:
            return
        port = self.httpd.server_address[1]
        self.stop_server()
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.httpd = self._bind(port)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._serve()
        wait_for(lambda: port_open(port), timeout, f"{type(self).__name__} (restarted)")

    def restart(self) -> None:
        self.stop_server()
        self.start_server()
