"""Fakes the unit tests share: a module object, a DNS backend in memory, and Kea's database in memory (the outbox
and the hosts table, with transactions)."""

from __future__ import annotations

import datetime
import ipaddress
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import DnsBackend, Traits, longest_zone
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import KeaDnsError, TransportError
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.model import Reservation, ReservationKey
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import rows as outbox
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import status as dns_status

ZONE = "site.test"
WHEN = datetime.datetime(2026, 12, 6, 12, 0, tzinfo=datetime.UTC)


class FakeModule:
    """What a runner uses of AnsibleModule: params, check mode, diff, the secrets to mask, warnings."""

    def __init__(self, params: dict, check_mode: bool = False, diff: bool = False) -> None:
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self.no_log_values: set[str] = set()
        self.warnings: list[str] = []

    def warn(self, text: str) -> None:
        self.warnings.append(text)


class MemoryDns(DnsBackend):
    """Zones in memory. Names in ``refuse`` (first label) make an apply fail, atomically; ``down`` makes every call a
    transport failure; ``calls`` records the calls and ``applied`` the names of each apply."""

    traits = Traits(name="memory", native_batch=True, ownership=True, can_list_zone=True)

    def __init__(self, zones: t.Iterable[str] = (ZONE, "99.10.in-addr.arpa")) -> None:
        self.zone_names = list(zones)
        self.records: dict = {}
        self.refuse: set[str] = set()
        self.down = False
        self.calls: list[str] = []
        self.applied: list[list[str]] = []

    def _reach(self) -> None:
        if self.down:
            raise TransportError("the test's DNS server is unreachable")

    def find_zone(self, name):
        self._reach()
        return longest_zone(name, self.zone_names, "the test")

    def zones(self):
        self._reach()
        return list(self.zone_names)

    def get(self, zone, keys):
        self._reach()
        self.calls.append(f"get {zone} {len(keys)}")
        return {k: self.records[k] for k in keys if k in self.records}

    def list_zone(self, zone):
        self._reach()
        self.calls.append(f"list {zone}")
        return [r for r in self.records.values() if r.zone == zone]

    def apply(self, zone, changes):
        self._reach()
        self.calls.append(f"apply {zone} {len(changes)}")
        refused = [c.key.name for c in changes if c.key.name.split(".")[0] in self.refuse]
        if refused:
            raise KeaDnsError(f"the test's DNS server refused {refused[0]}")  # atomic: nothing of the batch is applied
        for change in changes:
            if change.after is None:
                self.records.pop(change.key, None)
            else:
                self.records[change.key] = change.after
        self.applied.append(sorted(c.key.name.split(".")[0] for c in changes))

    def close(self):
        self.calls.append("close")

    def answers(self) -> dict[str, tuple[str, ...]]:
        return {key.name.split(".")[0]: rrset.values for key, rrset in self.records.items() if rrset.zone == ZONE}


class FakeDatabase:
    """The outbox and the hosts table in memory, with transactions: what a transaction does is kept on commit and
    dropped on rollback. ``log`` records the order of the cycle's steps."""

    def __init__(self) -> None:
        self.rows: dict[int, outbox.OutboxRow] = {}
        self.status: dict[int, str] = {}
        self.reasons: dict[int, str] = {}
        self.dns_status: dict[tuple[int, int], t.Any] = {}  # (host_id, family) -> _dns/status.Status
        self.hosts: dict[str, Reservation] = {}
        self.staged: list[t.Callable[[], None]] = []
        self.log: list[str] = []
        self.commits = self.rollbacks = 0

    def reserve(self, row_id: int, hostname: str, ip: str, mac: int) -> None:
        """A reservation written, and the outbox row its trigger adds."""
        self.hosts[hostname] = Reservation(ReservationKey(1, 0, mac.to_bytes(6, "big")), ip=ip, hostname=hostname, host_id=mac)
        self.rows[row_id] = outbox.OutboxRow(row_id, "INSERT", None, {"host_id": mac, "hostname": hostname,
                                                                      "ipv4_address": int(ipaddress.IPv4Address(ip))}, WHEN)
        self.status[row_id] = "pending"

    # the functions of the cycle, as the listener calls them
    def status_available(self, cursor, schema, privilege="SELECT"):
        return True

    def write_status(self, cursor, schema, statuses, upto):
        self.log.append("status")
        self.staged.append(lambda: self.dns_status.update(statuses))

    def claim(self, cursor, schema, limit, after_id=0):
        self.log.append("claim")
        pending = [self.rows[i] for i in sorted(self.rows) if self.status[i] == "pending" and i > after_id]
        return pending[:limit]

    def lock(self, cursor, names):
        self.log.append(f"lock {','.join(names)}")

    def touching(self, cursor, hostnames, addresses):
        self.log.append("read")
        return [r for r in self.hosts.values() if r.hostname.lower() in hostnames or r.ip in addresses]

    def finish(self, cursor, schema, done, skipped):
        self.log.append("finish")

        def apply() -> None:
            self.status.update(dict.fromkeys(done, "done"))
            for row_id, reason in skipped.items():
                self.status[row_id], self.reasons[row_id] = "skipped", reason
        self.staged.append(apply)

    def refused(self, cursor, schema, row_id, reason):
        def apply() -> None:
            row = self.rows[row_id]
            self.rows[row_id] = outbox.OutboxRow(row.id, row.operation, row.old, row.new, row.created_at, row.attempts + 1)
            self.reasons[row_id] = reason
        self.staged.append(apply)

    # what the dns_sync module calls besides
    def claim_ids(self, cursor, schema, ids):
        self.log.append("claim")
        return [self.rows[i] for i in sorted(ids) if i in self.rows and self.status[i] == "pending"]

    def release(self, cursor, schema, ids, reason, max_delay):
        def apply() -> None:
            for row_id in ids:
                row = self.rows[row_id]
                self.rows[row_id] = outbox.OutboxRow(row.id, row.operation, row.old, row.new, row.created_at, row.attempts + 1)
                self.reasons[row_id] = reason
        self.staged.append(apply)

    def notify(self, cursor, channel, payload):
        self.staged.append(lambda: self.log.append(f"notify {payload}"))

    def connection(self) -> FakeConnection:
        return FakeConnection(self)


class FakeConnection:
    def __init__(self, database: FakeDatabase) -> None:
        self.database = database
        self.closed = False

    def cursor(self):
        database = self.database

        class Cursor:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def execute(self, sql, params=None):
                database.log.append("advisory lock" if "advisory" in sql else sql)

        return Cursor()

    def commit(self) -> None:
        self.database.commits += 1
        for apply in self.database.staged:
            apply()
        self.database.staged.clear()

    def rollback(self) -> None:
        self.database.rollbacks += 1
        self.database.staged.clear()

    def close(self) -> None:
        self.closed = True


def patch_database(monkeypatch, database: FakeDatabase) -> None:
    """The outbox and hosts functions the batch cycles call, answered by ``database``."""
    from ansible_collections.ddi.kea_dns.plugins.module_utils._kea import hosts  # pylint: disable=import-outside-toplevel

    for name in ("claim", "claim_ids", "lock", "finish", "refused", "release", "notify"):
        monkeypatch.setattr(outbox, name, getattr(database, name))
    monkeypatch.setattr(hosts, "select_reservations_touching", database.touching)
    monkeypatch.setattr(dns_status, "available", database.status_available)
    monkeypatch.setattr(dns_status, "write", database.write_status)
