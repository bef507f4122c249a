# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: what the dns_sync module runs (the rows of one event of the EDA source).

One transaction: lock the pending rows among the ids (waiting for a consumer that holds them), read the current
reservations of every name and address they touch under the same locks as the listener daemon (``_outbox/batch.py``),
plan the owned records with the daemon's planner (``_dns/sync.py``, source ``_sources/kea.py``), apply them, then mark the rows done and
NOTIFY, so that the source hands over the next batch at once. Nothing is acknowledged before the DNS backend took
the changes. A failure of the backend (unreachable, credentials, zone missing) counts an attempt on the rows and
sets when the source delivers them again (1 s, doubling up to ``retry_max_interval``); the task fails.
"""

from __future__ import annotations

import contextlib
import json
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import parse_name
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.ownership import check_owner_id
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.plan import diff, result
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.registry import dns_backend
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.sync import Desired, DnsSync, Plan
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, KeaDnsError
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.db import connect, db_settings, psycopg2, translate
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import batch, retry
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import rows as outbox
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import status as dns_status
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox.schema import IDENTIFIER_RE
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.kea import KeaSource


class RowsRefused(KeaDnsError):
    """Rows the backend refused (retried later); the other rows of the task were applied and acknowledged."""


def kea_source(params: t.Mapping[str, t.Any]) -> KeaSource:
    if not params["hostname_filter"]:
        raise InvalidInputError("hostname_filter", params["hostname_filter"], "needs at least one glob ('*' selects every hostname)")
    if params["ttl"] < 1:
        raise InvalidInputError("ttl", params["ttl"], "must be at least 1 second")
    return KeaSource(zone=parse_name(params["zone"], "zone") if params.get("zone") else None, ttl=params["ttl"],
                     ptr=params["ptr"], ptr_zone=parse_name(params["ptr_zone"], "ptr_zone") if params.get("ptr_zone") else None,
                     hostname_filter=tuple(params["hostname_filter"]), owner_id=check_owner_id(params["owner_id"]))


def outbox_ids(value: t.Sequence[t.Any]) -> list[int]:
    ids = []
    for index, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int) or item < 1:
            raise InvalidInputError(f"outbox_ids[{index}]", item, "expected a positive outbox id (the event's outbox_ids)")
        ids.append(item)
    return sorted(set(ids))


def sync_rows(module: t.Any) -> dict:
    params = module.params
    source = kea_source(params)
    ids = outbox_ids(params["outbox_ids"])
    schema, channel = params["events_schema"], params["events_channel"]
    for name in ("events_schema", "events_channel"):
        if not IDENTIFIER_RE.fullmatch(params[name]):
            raise InvalidInputError(name, params[name], "expected a lower-case SQL identifier")
    if not ids:
        return {"changed": False, "summary": {}, "changes": [], "conflicts": [], "acknowledged": [], "skipped": {}, "not_pending": []}
    database = db_settings(params, on_secret=module.no_log_values.add)
    conn = connect(database)
    backend = None
    try:
        try:  # Knot and SOLIDserver reach the server here: down is a state of the backend too
            backend = dns_backend(params, on_secret=module.no_log_values.add, owned=True)
        except KeaDnsError as exc:
            if retry.retried(exc):
                raise _Failing(exc, ids) from None
            raise
        sync = DnsSync(backend, source, take_over=params["take_over"])
        with conn.cursor() as cursor:
            outcome = _apply(module, cursor, sync, source, ids, schema)
            if module.check_mode:
                conn.rollback()
            else:
                if dns_status.available(cursor, schema, "INSERT") and outcome["found"].rows:
                    dns_status.write(cursor, schema, batch.statuses(outcome["found"], source, outcome["plan"], outcome["desired"],
                                                                    outcome["skipped"], outcome["refused"]),
                                     outcome["found"].rows[-1].id)
                outbox.finish(cursor, schema, outcome["acknowledged"], outcome["skipped"])
                outbox.release(cursor, schema, sorted(outcome["refused"]), "; ".join(sorted(set(outcome["refused"].values()))),
                               params["retry_max_interval"])
                outbox.notify(cursor, channel, json.dumps({"acknowledged": len(outcome["acknowledged"]) + len(outcome["skipped"])}))
                conn.commit()
    except psycopg2.Error as exc:
        raise translate(exc, database) from None
    except _Failing as failing:
        # The backend is failing: nothing was applied for sure; count the attempt and say when the rows (those of the
        # ids still pending) come again.
        with contextlib.suppress(psycopg2.Error):
            conn.rollback()
            if not module.check_mode:
                with conn.cursor() as cursor:
                    outbox.release(cursor, schema, failing.ids, str(failing.cause), params["retry_max_interval"])
                conn.commit()
        raise failing.cause from None
    finally:
        if backend is not None:
            backend.close()
        with contextlib.suppress(psycopg2.Error):
            conn.close()
    return _result(module, outcome)


class _Failing(Exception):
    def __init__(self, cause: KeaDnsError, ids: list[int]) -> None:
        super().__init__(str(cause))
        self.cause, self.ids = cause, ids


def _apply(module: t.Any, cursor: t.Any, sync: DnsSync, source: KeaSource, ids: list[int], schema: str) -> dict:
    """Plan and apply the pending rows among ``ids``; a batch the backend refuses is applied row by row, so that
    only the row that causes the refusal is held back (and skipped after REFUSALS_BEFORE_SKIP refusals)."""
    cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", (batch.RECONCILE_LOCK,))
    rows = outbox.claim_ids(cursor, schema, ids)
    found = batch.read(cursor, rows, source)
    plan, desired, refused, skipped = Plan(), Desired(), {}, dict(found.invalid)
    try:
        plan, desired = sync.touching(found.reservations, found.touched, module.check_mode)
    except KeaDnsError as exc:
        if retry.retried(exc):
            raise _Failing(exc, [row.id for row in rows]) from None
        for row in rows:
            if row.id in skipped:
                continue
            one = batch.read(cursor, [row], source)
            try:
                one_plan, one_desired = sync.touching(one.reservations, one.touched, module.check_mode)
            except KeaDnsError as row_exc:
                if retry.retried(row_exc):
                    raise _Failing(row_exc, [r.id for r in rows]) from None
                attempt = row.attempts + 1
                if attempt >= retry.REFUSALS_BEFORE_SKIP:
                    skipped[row.id] = f"refused by the DNS backend {retry.REFUSALS_BEFORE_SKIP} times: {row_exc}"
                else:
                    refused[row.id] = f"refused by the DNS backend (attempt {attempt} of {retry.REFUSALS_BEFORE_SKIP}): {row_exc}"
                continue
            plan.add(one_plan)
            desired.invalid.update(one_desired.invalid)
    pending = {row.id for row in rows}
    return {"plan": plan, "skipped": skipped, "refused": refused, "found": found, "desired": desired,
            "acknowledged": [row.id for row in rows if row.id not in skipped and row.id not in refused],
            "not_pending": [number for number in ids if number not in pending]}


def _result(module: t.Any, outcome: dict) -> dict:
    plan: Plan = outcome["plan"]
    for conflict in plan.conflicts:
        module.warn(conflict)
    for row_id, reason in sorted(outcome["skipped"].items()):
        module.warn(f"outbox row {row_id} skipped: {reason}")
    found = dict(result(plan.changes, plan.unchanged), conflicts=plan.conflicts,
                 acknowledged=[] if module.check_mode else outcome["acknowledged"],
                 skipped={str(k): v for k, v in sorted(outcome["skipped"].items())}, not_pending=outcome["not_pending"])
    if module._diff:
        found["diff"] = diff(plan.changes)
    if outcome["refused"]:
        rows = ", ".join(str(number) for number in sorted(outcome["refused"]))
        raise RowsRefused(f"outbox rows {rows}: {next(iter(outcome['refused'].values()))}; they are delivered again "
                          f"(the other {len(found['acknowledged'])} rows were applied and acknowledged)")
    return found
