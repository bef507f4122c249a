# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: what the kea_db_events module runs (plan the DDL, then apply it in one transaction)."""

from __future__ import annotations

import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.db import db_settings, transaction
from ansible_collections.ddi.kea_dns.plugins.module_utils._outbox import schema


def apply_events_schema(module: t.Any) -> dict:
    params = module.params
    settings = schema.EventsSettings(schema=params["schema"], channel=params["channel"], listener_role=params["listener_role"] or None,
                                     listener_password=params.get("listener_password"), hosts_table=params["hosts_table"])
    present = params["state"] == "present"
    with transaction(db_settings(params, on_secret=module.no_log_values.add)) as cursor:
        before = schema.state(cursor, settings)
        statements = schema.install_plan(before, settings) if present else schema.remove_plan(before, settings)
        password = settings.listener_password if present and settings.listener_role else None
        set_password = bool(password) and (not before["listener_role"] or params["update_password"] == "always"
                                           and not schema.password_matches(schema.stored_password(cursor, settings.listener_role), password))
        if not module.check_mode:
            for statement in statements:
                cursor.execute(statement)
            if set_password:
                schema.set_password(cursor, settings.listener_role, password)
            after = schema.state(cursor, settings)
        else:
            after = _expected(settings, present)
    result: dict = {"changed": bool(statements) or set_password, "state": after, "password_changed": set_password,
                    "statements": len(statements)}
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    return result


def _expected(settings: schema.EventsSettings, present: bool) -> dict:
    if not present:
        return {"schema": False, "fingerprint": None, "triggers": [], "listener_role": False if settings.listener_role else None}
    return {"schema": True, "fingerprint": schema.fingerprint(settings), "triggers": sorted(schema.ALL_TRIGGERS),
            "listener_role": True if settings.listener_role else None}
