"""The drift report (``kea_lease_monitor_vault.py --dry-run --report json`` and playbooks/dns_reconcile.yml in check
mode) of a zone holding a missing record, a wrong one the daemon owns, a stale one it owns, a record another team owns
in the way of a reservation, a correct one, and a reservation the hostname filter leaves out: the report lists
exactly those (golden file tests/integration/golden/drift_report.json), the same from the daemon and from the
playbook, on every backend (each carries the records' owner: PowerDNS comments or TXT markers, Knot and RFC 2136
TXT markers, Technitium and SOLIDserver record metadata); nothing is changed, and the exit codes say it.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.harness.ansible import ansible_env, run_tasks, tool
from tests.harness.golden import golden
from tests.harness.listener import LISTENER_PASSWORD
from tests.harness.pipeline import INSERT, LISTENER_BACKENDS, ZONE, clear_owned, daemon, kea_write, listener_target

RESERVATIONS = [("aabbccdd2001", "10.99.2.1", "us3-cab2-ru1-idrac"),  # no record: to create
                ("aabbccdd2002", "10.99.2.2", "us3-cab2-ru2-idrac"),  # its record (the daemon's) holds 10.99.2.99: to update
                ("aabbccdd2003", "10.99.2.3", "us3-cab2-ru3-idrac"),  # another team's record holds 192.0.2.3: a conflict
                ("aabbccdd2004", "10.99.2.4", "us3-cab2-ru4-idrac"),  # its record is right: unchanged
                ("aabbccdd2005", "10.99.2.5", "web01")]  # not a BMC name: skipped
RECORDS = [("us3-cab2-ru2-idrac", "10.99.2.99", "kea/default"), ("us3-cab2-ru3-idrac", "192.0.2.3", "ops/manual"),
           ("us3-cab2-ru4-idrac", "10.99.2.4", "kea/default"),
           ("us3-cab2-ru9-idrac", "10.99.2.9", "kea/default")]  # the daemon's, of no reservation: to delete


@pytest.fixture(params=[*LISTENER_BACKENDS, "powerdns-txt"])
def target(request):
    return listener_target(request, request.param)


@pytest.fixture
def drifted_zone(pipeline_db, target):
    clear_owned(pipeline_db, target)
    tasks = [{"ddi.kea_dns.dns_record": {**target.options, "zone": ZONE, "name": name, "value": value, "ttl": 600, "owner_id": owner}}
             for name, value, owner in RECORDS]
    run = run_tasks(tasks, env=target.env)
    assert run.returncode == 0 and all(result.get("changed") for result in run.results), run.output[-3000:]
    kea_write(pipeline_db, [(INSERT, row) for row in RESERVATIONS])
    yield pipeline_db
    cleanup = [{"ddi.kea_dns.dns_record": {**target.options, "zone": ZONE, "name": name, "type": "A", "state": "absent", "owner_id": owner}}
               for name, _value, owner in RECORDS]
    run_tasks(cleanup, env=target.env)


def backend_args(target) -> list[str]:
    """The target's options beyond its provider (e.g. powerdns_ownership) as the daemon's flags."""
    return [arg for name, value in target.options.items() if name != "provider" for arg in (f"--{name.replace('_', '-')}", str(value))]


def zone_state(target) -> dict[str, list[str]]:
    return {name: values for name, values in target.state().items() if "-cab2-" in name}


def test_daemon_and_playbook_report_exactly_the_drift(drifted_zone, target, tmp_path):
    before = zone_state(target)
    listener = daemon(drifted_zone, target, dry_run=True, report="json", inventory=False)
    run = listener.run_once()
    assert run.returncode == 3, run.stdout[-3000:] + run.stderr[-3000:]  # 3: DNS differs from the reservations
    report = json.loads(run.stdout)
    assert json.dumps(report, indent=2, sort_keys=True) + "\n" == golden("drift_report.json", json.dumps(report, indent=2, sort_keys=True) + "\n")
    assert report["text"].splitlines()[0] in run.stderr  # the summary is logged for humans too
    assert zone_state(target) == before  # a dry run changes nothing

    # The playbook in check mode: the same report, written to a file, and the play fails on drift when asked to.
    report_file = tmp_path / "drift.json"
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps({"kea_dns_provider": target.options["provider"], "kea_dns_zone": ZONE, "kea_dns_report_file": str(report_file),
                                     "kea_dns_fail_on_drift": True, "kea_dns_extra_args": ["--db-user", "kea_dns_listener", *backend_args(target)]}))
    env = ansible_env({"KEA_DB_HOST": "127.0.0.1", "KEA_DB_PORT": str(drifted_zone.port), "KEA_DB_NAME": drifted_zone.kea_db,
                       "KEA_DB_PASSWORD": LISTENER_PASSWORD, **target.env})
    play = subprocess.run([tool("ansible-playbook"), "-i", "localhost,", "ddi.kea_dns.dns_reconcile", "--check", "-e", f"@{variables}"],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert play.returncode == 2 and "DNS differs from the reservations" in play.stdout, play.stdout[-3000:]  # the assert failed the play
    assert json.loads(report_file.read_text()) == report and zone_state(target) == before

    # Applied (no dry run): the drift is repaired, reported as done; then the zone is in sync (exit 0).
    applied = daemon(drifted_zone, target, report="text", inventory=False).run_once()
    assert applied.returncode == 3, applied.stdout + applied.stderr[-2000:]
    assert applied.stdout.startswith("DNS differed from the reservations in site.test (owner kea/default): created 1, updated 1, deleted 1;")
    again = daemon(drifted_zone, target, dry_run=True, report="json", inventory=False).run_once()
    assert again.returncode == 3 and json.loads(again.stdout)["summary"]["create"] == 0  # only the conflict is left
    assert json.loads(again.stdout)["conflicts"] == report["conflicts"]


def test_a_zone_or_an_owner_that_does_not_exist_is_a_clear_error(drifted_zone, target):
    missing = daemon(drifted_zone, target, dry_run=True, report="json", dns_zone="nowhere.test").run_once()
    assert missing.returncode == 2 and missing.stdout == "", missing.stderr[-2000:]
    assert "dns_zone" in missing.stderr and "nowhere.test" in missing.stderr and "no such zone" in missing.stderr
    typo = daemon(drifted_zone, target, dry_run=True, report="json", owner_id="kea/defualt").run_once()
    assert typo.returncode == 2 and typo.stdout == "", typo.stderr[-2000:]
    assert "owner_id" in typo.stderr and "kea/defualt" in typo.stderr and "kea/default" in typo.stderr
    without_dns = daemon(drifted_zone, target, report="json", enable_dns=False).run_once()
    assert without_dns.returncode == 2 and "report" in without_dns.stderr and "enable_dns" in without_dns.stderr
