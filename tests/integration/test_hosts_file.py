"""The hosts_file backend (dev mode) through the real doors: dns_record in ansible-playbook (check mode, diff, apply,
idempotence, absent) and the listener daemon fed by Kea's tables through the change feed; the lines outside the
managed block stay byte for byte."""

from __future__ import annotations

from tests.harness.ansible import run_tasks
from tests.harness.pipeline import ADDRESS6, INSERT, INSERT6, ZONE, Target, daemon, kea_write, pending
from tests.harness.procs import wait_for

OUTSIDE = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n# the admin's own lines\n10.0.0.9 printer\n"


def record(path, **args) -> dict:
    return {"ddi.kea_dns.dns_record": {"provider": "hosts_file", "hosts_file_path": str(path), "zone": ZONE, **args}}


def block_lines(path) -> list[list[str]]:
    text = path.read_text()
    assert text.startswith(OUTSIDE), text
    return [line.split("\t")[:2] for line in text[len(OUTSIDE):].splitlines() if not line.startswith("#")]


def test_dns_record_check_diff_apply_idempotent_absent(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text(OUTSIDE)
    name = f"us3-cab10-ru20-idrac.{ZONE}"
    run = run_tasks([
        dict(record(hosts, name="us3-cab10-ru20-idrac", value="10.99.0.50"), check_mode=True),
        record(hosts, name="us3-cab10-ru20-idrac", value="10.99.0.50"),
        record(hosts, name="us3-cab10-ru20-idrac", type="AAAA", values=["2001:db8::50", "2001:db8::51"]),
        record(hosts, name="us3-cab10-ru20-idrac", value="10.99.0.50"),
        dict(record(hosts, name="us3-cab10-ru20-idrac", value="10.99.0.60"), diff=True),
        record(hosts, name="us3-cab10-ru20-idrac", type="PTR", value=name),
    ])
    check, apply, aaaa, again, moved, ptr = run.results
    assert check["changed"] is True and check["summary"]["created"] == 1, check
    assert apply["changed"] is True and aaaa["changed"] is True and again["changed"] is False, (apply, aaaa, again)
    assert moved["diff"]["before"][f"{name} A"]["values"] == ["10.99.0.50"] and moved["diff"]["after"][f"{name} A"]["values"] == ["10.99.0.60"]
    assert ptr.get("failed") and "the hosts_file backend manages A, AAAA" in ptr["msg"], ptr
    assert block_lines(hosts) == [["10.99.0.60", name], ["2001:db8::50", name], ["2001:db8::51", name]]

    run = run_tasks([record(hosts, name="us3-cab10-ru20-idrac", type=rtype, state="absent") for rtype in ("A", "AAAA", "A")])
    assert [r["changed"] for r in run.results] == [True, True, False], run.results
    assert block_lines(hosts) == [] and "# Total entries: 0" in hosts.read_text()


def test_the_listener_daemon_keeps_kea_reservations_in_the_hosts_file(pipeline_db, listeners, tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text(OUTSIDE)
    target = Target("hosts-file", None, {"provider": "hosts_file", "hosts_file_path": str(hosts)}, {})
    listener = daemon(pipeline_db, target, ptr=True)  # PTRs have no zone in a hosts file: left out, no error
    listeners.append(listener.start())
    name = f"us3-cab10-ru20-idrac.{ZONE}"
    kea_write(pipeline_db, [(INSERT, ("aabbccddeeff", "10.99.0.50", "us3-cab10-ru20-idrac")),
                            (INSERT6, ("00030001aabbccddeeff", "us3-cab10-ru20-idrac")), (ADDRESS6, ("2001:db8::50", "us3-cab10-ru20-idrac"))])
    wait_for(lambda: block_lines(hosts) == [["10.99.0.50", name], ["2001:db8::50", name]], 10, "the hosts file entries")
    kea_write(pipeline_db, [("DELETE FROM hosts", ())])
    wait_for(lambda: block_lines(hosts) == [] and pending(pipeline_db) == 0, 10, "the entries removed")
    assert pipeline_db.kea_sql("SELECT count(*) FROM kea_dns.outbox WHERE status <> 'done'") == [(0,)]
    assert listener.http("/readyz") == 200
