"""The modules that never touch DNS import no DNS library (dnspython, SOLIDserverRest): layers do not leak."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

CORE = "ansible_collections.ddi.kea_dns.plugins.module_utils"
DNS_LIBRARIES = ("dns", "SOLIDserverRest", "libknot")


@pytest.mark.parametrize("runner", ["kea_reservation", "lease_backup", "kea_db_events", "kea_inventory_files"])
def test_a_runner_without_dns_imports_no_dns_library(runner):
    code = (f"import json, sys; import {CORE}._module.{runner}, {CORE}._module.argspec; "
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {DNS_LIBRARIES!r})))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    found = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(found.stdout) == [], found.stdout


def test_backends_import_their_library_when_one_is_made():
    """Reading every backend's options (the DNS modules' argument specs, the daemon's flags) imports no client
    library; making a backend imports its own (and the check above can see a library when one is imported)."""
    code = (f"import json, sys; from {CORE}._module import argspec; from {CORE}._dns import registry; argspec.dns_argspec(); "
            f"before = sorted(m for m in sys.modules if m.split('.')[0] in {DNS_LIBRARIES!r}); "
            f"registry.dns_backend({{'provider': 'rfc2136'}}); "
            f"print(json.dumps([before, 'dns' in sys.modules, 'SOLIDserverRest' in sys.modules]))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    found = json.loads(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout)
    assert found == [[], True, False]
