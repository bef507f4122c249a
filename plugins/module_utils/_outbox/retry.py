# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the retry policy every consumer of the outbox follows (the listener daemon, the EDA
source kea_events and the dns_sync module): which failures are retried, how long to wait, when a refused row is
given up.

- The database or Vault went away (CONNECTION_RETRIED): reconnect after Backoff's wait.
- The DNS backend is unreachable, refuses the credentials or lacks the zone (DNS_RETRIED, ``retried()``): a state of
  the backend, not of a row; the rows stay pending and are tried again after Backoff's wait.
- The DNS backend refuses a row: it is tried again, and skipped with its reason after REFUSALS_BEFORE_SKIP refusals.
"""

from __future__ import annotations

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import BACKEND_STATE, TransportError, backend_state
from ansible_collections.ddi.kea_dns.plugins.module_utils._kea.db import psycopg2

CONNECTION_RETRIED = (psycopg2.Error, TransportError) if psycopg2 is not None else (TransportError,)
DNS_RETRIED = BACKEND_STATE
REFUSALS_BEFORE_SKIP = 3  # a row the DNS backend refuses this many times (with backoff in between) is skipped
retried = backend_state  # a DNS error that is a state of the backend: retry the rows later (not a refusal of the rows)
