"""The README's main job (scripts/lab.sh runs scripts/lab.py): the whole pipeline on this machine, then clean-up."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

from tests.harness.ansible import REPO_ROOT


def test_the_lab_shows_dns_answers_and_inventory_files_and_cleans_up():
    # The lab's temporary directories go to a directory of its own (TMPDIR), so that other tests running at the same
    # time cannot pass for its leftovers. Open to every user like /tmp: knotd runs as knot.
    lab_tmp = tempfile.mkdtemp(prefix="lab-tmp-")
    os.chmod(lab_tmp, 0o755)
    try:
        proc = subprocess.run([sys.executable, "-m", "scripts.lab"], cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=600, check=False, env={**os.environ, "TMPDIR": lab_tmp})
        left = set(os.listdir(lab_tmp))
    finally:
        shutil.rmtree(lab_tmp, ignore_errors=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "us3-cab10-ru21-ilo.site.test A -> ['10.99.0.23'];  10.99.0.23 PTR -> ['us3-cab10-ru21-ilo.site.test']" in out
    assert "fr1-cab02-ru01-bmc.site.test A (reservation removed) -> []" in out
    assert "site-cabinet inventory files: us3-cab10-discovery.yml, us3-cab11-discovery.yml" in out
    assert "|--@us3_cab10:" in out and "us3-cab10-ru20-idrac.site.test A 10.99.0.21 (owned by ddi.kea_dns: True)" in out
    assert "/healthz 200, /readyz 200" in out
    assert "through the inventory plugin ddi.kea_dns.kea_reservations" in out
    assert "{ansible_host = 10.99.0.23}" in out and "{fqdn = us3-cab10-ru21-ilo.site.test}" in out
    assert left <= {f"kea-dns-collections-{os.getuid()}"}, left  # the collection copy the harness keeps for ansible
