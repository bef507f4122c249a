# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the listener daemon's entry point (``kea_lease_monitor_vault.py`` calls main())."""

from __future__ import annotations

import json
import logging
import signal
import sys
import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon import config
from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon.logs import setup_logging
from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon.loop import Daemon
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns import report as drift
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import AuthenticationError, InvalidInputError, KeaDnsError

log = logging.getLogger("ddi.kea_dns.listener")


def main(argv: t.Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(asctime)s - %(message)s")
    try:
        options, check_only = config.load(argv)
    except KeaDnsError as exc:
        sys.stderr.write(f"kea_lease_monitor_vault.py: invalid configuration: {exc}\n")
        return 2
    if check_only:
        sys.stdout.write("configuration valid\n")
        return 0
    listener_secrets: set[str] = set()
    try:
        listener = Daemon(options)
        listener_secrets = listener.secrets
        setup_logging(options["log_level"], options["log_format"], listener_secrets)
        signal.signal(signal.SIGTERM, listener.stop)
        signal.signal(signal.SIGINT, listener.stop)
        code = listener.run()
        if options["report"] and listener.report_data is not None and code == 0:
            report = listener.report_data
            sys.stdout.write((json.dumps(report, indent=2, sort_keys=True) if options["report"] == "json" else report["text"]) + "\n")
            log.info("%s", report["text"].splitlines()[0])
            return drift.EXIT_DRIFT if drift.drifted(report) else 0
        return code
    except (InvalidInputError, AuthenticationError) as exc:
        log.error("Cannot start: %s", exc)
        return 2
    except KeaDnsError as exc:
        log.error("Stopped: %s", exc)
        return 1
