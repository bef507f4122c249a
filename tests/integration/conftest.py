"""Fixtures with real servers: one PostgreSQL cluster (Kea schema) and one OpenBao server per session."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.harness.openbao import OpenBao  # noqa: E402
from tests.harness.postgres import PgCluster  # noqa: E402


@pytest.fixture(scope="session")
def pg_cluster():
    cluster = PgCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def kea_db(pg_cluster):
    """The session cluster with empty Kea tables."""
    pg_cluster.reset()
    return pg_cluster


@pytest.fixture(scope="session")
def openbao():
    server = OpenBao().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def powerdns_server():
    from tests.harness.dns_servers import PowerDns  # pylint: disable=import-outside-toplevel

    server = PowerDns().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def bind_server():
    from tests.harness.dns_servers import Bind  # pylint: disable=import-outside-toplevel

    server = Bind().start()
    yield server
    server.stop()


@pytest.fixture(params=["powerdns", "rfc2136"])
def dns_server(request):
    """Each real DNS backend in turn: (provider name, server)."""
    if request.param == "powerdns":
        server = request.getfixturevalue("powerdns_server")
        server.reset()
    else:
        server = request.getfixturevalue("bind_server")
    return request.param, server
