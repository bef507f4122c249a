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
