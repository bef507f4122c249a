# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the modules' edge, where core errors become task failures (once, here)."""

from __future__ import annotations

import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import KeaDnsError, PartiallyAppliedError


def run(module: t.Any, action: t.Callable[[t.Any], dict]) -> None:
    """Run ``action(module)`` and exit; every core error fails the task with its one-line message."""
    try:
        result = action(module)
    except PartiallyAppliedError as exc:
        module.fail_json(msg=str(exc), changed=bool(exc.applied), applied=exc.applied)
    except KeaDnsError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


# Lists longer than this are summarised in the result's invocation instead of echoed back.
ECHO_LIMIT = 100


def summarise_long_list(result: dict, params: dict, option: str) -> None:
    """Echo ``option`` as ``<N option>`` in the invocation when it holds more than ECHO_LIMIT items.

    Echoing thousands of items costs megabytes of output and seconds of no_log masking.
    """
    items = params.get(option)
    if items is not None and len(items) > ECHO_LIMIT:
        result["invocation"] = {"module_args": dict(params, **{option: f"<{len(items)} {option}>"})}
