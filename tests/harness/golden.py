"""Golden files (tests/integration/golden/): the expected output of a run, compared as text. After a deliberate
change of the output, rewrite them with KEA_DNS_UPDATE_GOLDEN=1 and review the diff."""

from __future__ import annotations

import os

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration", "golden")


def golden(name: str, actual: str) -> str:
    """The golden file ``name`` (written from ``actual`` first with KEA_DNS_UPDATE_GOLDEN set)."""
    path = os.path.join(GOLDEN, name)
    if os.environ.get("KEA_DNS_UPDATE_GOLDEN"):
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(actual)
    with open(path, encoding="utf-8") as handle:
        return handle.read()
