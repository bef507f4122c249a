# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the drift report of a reconcile, for machines (JSON) and for humans (text).

Made from the reconcile's plan (``_dns/sync.py``) and the state of each item (``_dns/status.py``): every record that
would be (or was) created, updated or deleted, every conflict with a record another owner (or nobody here) holds,
every change the backend refused, and every item skipped with its reason. Sorted and free of times and hosts, so
two runs over the same state give the same report (the listener daemon's ``--report``, the dns_reconcile playbook).

``drifted()`` says whether DNS differs from what the source wants (changes, conflicts or refusals); the daemon exits
with EXIT_DRIFT then, so a CI job or an AWX job template can act on it.
"""

from __future__ import annotations

import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.base import RRset
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.ownership import ref_of
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.status import Status
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.sync import Plan
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError, NotFoundError

EXIT_DRIFT = 3  # 0: in sync; 1: a failure (database, DNS backend); 2: bad options (a zone or owner that does not exist)
SHOWN = 20  # lines of each kind in the text summary


def _rrset(rrset: RRset | None) -> dict[str, t.Any] | None:
    if rrset is None:
        return None
    return {"values": list(rrset.values), "ttl": rrset.ttl, "owner": rrset.owner}


def check_zones(listed: t.Sequence[str] | None, zones: t.Iterable[str], backend: str, find_zone: t.Callable[[str], str]) -> None:
    """A report of a zone the backend does not have (``listed``: its zones; None when it cannot list them, then
    ``find_zone`` asks it which zone holds each name) is a mistake in the options, not a drift: name it."""
    if listed is None:
        for zone in zones:
            try:
                found = find_zone(zone)
            except NotFoundError as exc:
                raise InvalidInputError("dns_zone", zone, f"no such zone on the {backend} backend ({exc})") from None
            if found != zone:
                raise InvalidInputError("dns_zone", zone, f"no such zone on the {backend} backend (the name is in its zone {found})")
        return
    for zone in zones:
        if zone not in listed:
            raise InvalidInputError("dns_zone", zone, f"no such zone on the {backend} backend (it has: "
                                    f"{', '.join(sorted(listed)[:10]) or 'none'})")


def check_owner(plan: Plan, owner_id: str) -> None:
    """An owner id that marks no record while other owners of its kind (``kea/...``) do is most likely a typing
    mistake: its report would call every record of the real owner a conflict. An empty zone is fine (a first run)."""
    kind = owner_id.split("/", 1)[0] + "/"
    others = sorted(owner for owner in plan.owners if owner.startswith(kind) and owner != owner_id)
    if owner_id not in plan.owners and others:
        raise InvalidInputError("owner_id", owner_id, f"marks no record in the zones read, which hold records of {', '.join(others)}")


def build(plan: Plan, items: t.Mapping[str, Status], owner_id: str, zones: t.Sequence[str], dry_run: bool) -> dict[str, t.Any]:
    """The report of ``plan`` (of the source's ``zones``) and of the ``items`` (label -> state) it covered."""
    changes = [{"action": change.action, "zone": change.zone, "name": change.key.name, "type": change.key.type,
                "before": _rrset(change.before), "after": _rrset(change.after),
                "origin": ref_of(change.after.origin) if change.after is not None else None}
               for change in sorted(plan.changes, key=lambda c: (c.zone, c.key.name, c.key.type))]
    conflicts = sorted(({"name": key.name, "type": key.type, "reason": reason}
                        for key, reason in zip(plan.conflict_keys, plan.conflicts, strict=True)), key=lambda c: (c["name"], c["type"]))
    refused = [{"name": key.name, "type": key.type, "reason": reason}
               for key, reason in sorted(plan.refused.items(), key=lambda item: (item[0].name, item[0].type))]
    skipped = [{"item": label, "reason": status.reason} for label, status in sorted(items.items()) if status.status == "skipped"]
    counts = {"create": 0, "update": 0, "delete": 0}
    for change in plan.changes:
        counts[change.action] += 1
    summary = dict(counts, unchanged=plan.unchanged, conflicts=len(conflicts), refused=len(refused), skipped=len(skipped))
    report = {"mode": "dry-run" if dry_run else "applied", "owner_id": owner_id, "zones": sorted(zones),
              "in_sync": not (changes or conflicts or refused), "summary": summary,
              "changes": changes, "conflicts": conflicts, "refused": refused, "skipped": skipped}
    report["text"] = text(report)
    return report


def drifted(report: t.Mapping[str, t.Any]) -> bool:
    return not report["in_sync"]


def text(report: t.Mapping[str, t.Any]) -> str:
    """A few lines for a human: the verdict, the counts, then the first SHOWN lines of each kind."""
    s = report["summary"]
    dry = report["mode"] == "dry-run"
    verdict = "matches" if report["in_sync"] else "differs from" if dry else "differed from"
    counts = f"create {s['create']}, update {s['update']}, delete {s['delete']}" if dry else \
        f"created {s['create']}, updated {s['update']}, deleted {s['delete']}"
    head = (f"DNS {verdict} the reservations in {', '.join(report['zones']) or 'no zone'} (owner {report['owner_id']}): "
            f"{'would ' if dry else ''}{counts}; {s['conflicts']} conflicts, {s['refused']} refused, {s['skipped']} skipped, "
            f"{s['unchanged']} unchanged")
    lines = [head]
    for change in report["changes"][:SHOWN]:
        values = (change["after"] or change["before"])["values"]
        lines.append(f"  {change['action']} {change['name']} {change['type']} {', '.join(values)}")
    lines += [f"  conflict {c['name']} {c['type']}: {c['reason']}" for c in report["conflicts"][:SHOWN]]
    lines += [f"  refused {r['name']} {r['type']}: {r['reason']}" for r in report["refused"][:SHOWN]]
    lines += [f"  skipped {s['item']}: {s['reason']}" for s in report["skipped"][:SHOWN]]
    hidden = sum(max(0, len(report[kind]) - SHOWN) for kind in ("changes", "conflicts", "refused", "skipped"))
    if hidden:
        lines.append(f"  ... and {hidden} more (the JSON report lists them all)")
    return "\n".join(lines)
