"""Fixtures with real servers: one PostgreSQL cluster (Kea schema) and one OpenBao server per session."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.harness.openbao import OpenBao  # noqa: E402
from tests.harness.postgres import PgCluster  # noqa: E402
from tests.harness.procs import launch  # noqa: E402


@pytest.fixture(scope="session")
def pg_cluster():
    cluster = launch(PgCluster())
    yield cluster
    cluster.stop()


@pytest.fixture
def kea_db(pg_cluster):
    """The session cluster with empty Kea tables."""
    pg_cluster.reset()
    return pg_cluster


@pytest.fixture
def pipeline_db(kea_db):
    """Empty Kea tables with the pipeline's outbox and triggers installed (role kea_db_events' module)."""
    from tests.harness.ansible import run_tasks  # pylint: disable=import-outside-toplevel
    from tests.harness.listener import LISTENER_PASSWORD  # pylint: disable=import-outside-toplevel

    run = run_tasks([{"ddi.kea_dns.kea_db_events": {"listener_password": LISTENER_PASSWORD}}], env=kea_db.admin_env())
    assert run.returncode == 0, run.output
    yield kea_db
    run_tasks([{"ddi.kea_dns.kea_db_events": {"state": "absent"}}], env=kea_db.admin_env())


@pytest.fixture(scope="session")
def openbao():
    server = launch(OpenBao())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def powerdns_server():
    from tests.harness.dns_servers import PowerDns  # pylint: disable=import-outside-toplevel

    server = launch(PowerDns())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def bind_server():
    from tests.harness.dns_servers import Bind  # pylint: disable=import-outside-toplevel

    server = launch(Bind())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def knot_server():
    from tests.harness.dns_servers import Knot  # pylint: disable=import-outside-toplevel

    server = launch(Knot())
    yield server
    server.stop()


@dataclass
class DnsTarget:
    """One real DNS server as one backend sees it."""

    provider: str
    env: dict
    query: object
    secret: str | None


@pytest.fixture
def technitium_emulator():
    from tests.harness.technitium import TechnitiumEmulator  # pylint: disable=import-outside-toplevel

    server = launch(TechnitiumEmulator())
    yield server
    server.stop()


@pytest.fixture
def solidserver_emulator():
    from tests.harness.solidserver import SolidServerEmulator  # pylint: disable=import-outside-toplevel

    server = launch(SolidServerEmulator())
    yield server
    server.stop()


@pytest.fixture(params=["powerdns", "rfc2136-bind", "knot", "rfc2136-knot", "technitium", "solidserver"])
def dns_server(request):
    """Each backend against each real server it is tested with: (provider, target)."""
    if request.param == "powerdns":
        server = request.getfixturevalue("powerdns_server")
        server.reset()
        target = DnsTarget("powerdns", server.env(), server.query, server.api_key)
    elif request.param == "rfc2136-bind":
        server = request.getfixturevalue("bind_server")
        target = DnsTarget("rfc2136", server.env(), server.query, server.key_secret)
    elif request.param == "knot":
        server = request.getfixturevalue("knot_server")
        target = DnsTarget("knot", server.env(), server.query, None)
    elif request.param == "rfc2136-knot":
        server = request.getfixturevalue("knot_server")
        target = DnsTarget("rfc2136", server.rfc2136_env(), server.query, server.key_secret)
    elif request.param == "technitium":
        server = request.getfixturevalue("technitium_emulator")
        target = DnsTarget("technitium", server.env(), server.query, server.state.token)
    else:
        server = request.getfixturevalue("solidserver_emulator")
        target = DnsTarget("solidserver", server.env(), server.query, server.password)
    return target.provider, target


@pytest.fixture
def listeners():
    """Daemons a test started; stopped and removed after it (kept with KEA_DNS_KEEP_LOGS=1)."""
    started: list = []
    yield started
    for listener in started:
        listener.stop() if os.environ.get("KEA_DNS_KEEP_LOGS") else listener.remove()
