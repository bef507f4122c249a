#!/usr/bin/python
# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_sync
short_description: Make DNS follow the Kea reservation changes of an EDA event, as the listener daemon does, and acknowledge them
version_added: 0.1.0
description:
  - Applies the outbox rows of one event of the C(ddi.kea_dns.kea_events) event source (O(outbox_ids), the
    event's C(outbox_ids)) to DNS with the listener daemon's planner, then acknowledges them (marks them done), in one
    database transaction. The playbook C(ddi.kea_dns.dns_event) that the rulebooks C(ddi.kea_dns.kea_dns) and
    C(ddi.kea_dns.kea_dns_controller) run is one task of this module.
  - State-based, as the daemon. The rows are locked, then the B(current) reservations of every hostname and address
    they touch are read from Kea's C(hosts) table under the daemon's locks; the records are planned from those, never
    from the event's own values. Applying the same rows twice changes nothing, and a row applied late never brings
    back an older state. That makes the source's redelivery harmless.
  - Only records the collection owns are changed or deleted. A record in scope that the collection does not own
    (a hand-made C(A) record with a reservation's name) is left alone and reported in RV(conflicts) and as a
    warning, unless O(take_over=true).
  - Only hostnames that match O(hostname_filter) (the daemon's default, the BMC names) get records, with their PTR
    when O(ptr=true).
  - All changes of one zone go through the backend's batch primitive (one PowerDNS PATCH, one Knot zone transaction,
    one RFC 2136 UPDATE), at most 1000 changes per call.
  - Rows that are no longer pending (acknowledged before, by an earlier delivery) are listed in RV(not_pending) and
    left alone. A row that can never be applied (not what the triggers write, a selected hostname that is no DNS
    name) is marked C(skipped) with its reason.
  - When the DNS backend is unreachable, refuses the credentials or lacks the zone, the task fails, nothing is
    acknowledged, and the rows are delivered again by the source after a wait that doubles with every attempt
    (1 s, 2 s, 4 s ... O(retry_max_interval)). When the backend refuses a change, the rows are applied one by one;
    the others are acknowledged, the refused row is retried the same way and skipped after its third refusal.
author:
  - ddi.kea_dns maintainers (@ddi)
extends_documentation_fragment:
  - ddi.kea_dns.kea_db
  - ddi.kea_dns.dns
  - ddi.kea_dns.dns.POWERDNS
  - ddi.kea_dns.dns.RFC2136
  - ddi.kea_dns.dns.KNOT
  - ddi.kea_dns.dns.TECHNITIUM
  - ddi.kea_dns.dns.HOSTS_FILE
  - ddi.kea_dns.dns.SOLIDSERVER
  - ddi.kea_dns.vault
  - ddi.kea_dns.attributes
options:
  outbox_ids:
    description:
      - Ids of the outbox rows to apply and acknowledge, the C(outbox_ids) of the event
        (C(ansible_eda.event.outbox_ids) in a playbook that ansible-rulebook or an EDA controller runs).
    type: list
    elements: int
    required: true
  zone:
    description: Zone that makes short hostnames absolute (the daemon's C(dns_zone)). Without it, hostnames must be absolute.
    type: str
  ptr:
    description: Also keep the PTR record of every address of a selected reservation.
    type: bool
    default: false
  ptr_zone:
    description: Reverse zone of the PTR records; default the backend's longest matching zone.
    type: str
  ttl:
    description: TTL of the records.
    type: int
    default: 600
  hostname_filter:
    description: Globs of the hostnames (first label, case-insensitive) that get records; the listener daemon's default.
    type: list
    elements: str
    default: ['*-ilo', '*-idrac', '*-bmc']
  take_over:
    description:
      - Replace a record in scope that carries no mark of the collection when it disagrees with the reservations (it
        is this owner's from then on). Off by default; the hand-made record is then reported as a conflict. A record
        of another owner id is never taken over.
    type: bool
    default: false
  owner_id:
    description:
      - The owner id of the records this task writes, changes and deletes, as the listener daemon's O(owner_id). Records
        marked with another owner id (a second Kea site or a Kubernetes cluster writing the same zone) are reported as
        conflicts and never changed or deleted.
      - Records written before owner ids existed belong to V(kea/default).
    type: str
    default: kea/default
  events_schema:
    description: Schema of the outbox (role P(ddi.kea_dns.kea_db_events#role)).
    type: str
    default: kea_dns
  events_channel:
    description: NOTIFY channel; the acknowledgment is announced on it, so that the source hands over the next batch at once.
    type: str
    default: kea_lease_events
  retry_max_interval:
    description: Longest wait, in seconds, before rows that could not be applied are delivered again.
    type: float
    default: 30
attributes:
  check_mode:
    support: full
    details: Plans the changes from the current reservations; nothing is written to DNS and nothing is acknowledged.
  diff_mode:
    support: full
  idempotent:
    support: full
    details: The rows are acknowledged by the first run; a second run finds them in RV(not_pending) and changes nothing.
  action_group:
    description: Use C(group/ddi.kea_dns.dns) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - ddi.kea_dns.dns
notes:
  - The task needs the database credentials of the listener's login role (role P(ddi.kea_dns.kea_db_events#role),
    O(db_user) C(kea_dns_listener), which may read C(hosts) and work the outbox) and the DNS backend's credentials, from the
    environment (C(KEA_DB_*) and the backend's variables) or Vault. In AWX / AAP, attach both credentials to the
    job template (docs/eda.md).
seealso:
  - module: ddi.kea_dns.dns_record
  - module: ddi.kea_dns.kea_db_events
"""

EXAMPLES = r"""
- name: Apply the changes of the event and acknowledge them (playbook run by ansible-rulebook)
  ddi.kea_dns.dns_sync:
    provider: powerdns
    zone: site.test
    ptr: true
    outbox_ids: "{{ ansible_eda.event.outbox_ids }}"

- name: The same on a Knot server, replacing hand-made records that hold a reservation's name
  ddi.kea_dns.dns_sync:
    provider: knot
    knot_socket: /run/knot/knot.sock
    zone: site.test
    take_over: true
    outbox_ids: [1041, 1042, 1043]
"""

RETURN = r"""
changed:
  description: Whether DNS records were (or, in check mode, would be) created, updated or deleted.
  returned: always
  type: bool
summary:
  description: How many RRsets were created, updated, deleted and left unchanged.
  returned: always
  type: dict
  sample: {created: 2, updated: 0, deleted: 0, unchanged: 0}
changes:
  description: The RRsets changed, with their action.
  returned: always
  type: list
  elements: dict
  sample: [{zone: site.test, name: us3-cab10-ru20-idrac.site.test, type: A, values: [10.99.0.50], ttl: 600, action: create}]
conflicts:
  description: Records in scope that the collection does not own and that disagree with the reservations (left alone).
  returned: always
  type: list
  elements: str
  sample: ["us3-cab10-ru20-idrac.site.test A holds 192.0.2.99, not 10.99.0.50, and ddi.kea_dns does not manage it: left alone"]
acknowledged:
  description: Outbox rows marked done by this task (none in check mode).
  returned: always
  type: list
  elements: int
  sample: [1041, 1042]
skipped:
  description: Outbox rows marked skipped, by id, with the reason.
  returned: always
  type: dict
  sample: {"1043": "hostname 'bad name-idrac' is not a valid DNS name"}
not_pending:
  description: Ids given that were not pending (acknowledged before, skipped, or unknown); left alone.
  returned: always
  type: list
  elements: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ddi.kea_dns.plugins.module_utils._module.argspec import dns_argspec, kea_db_argspec, kea_source_argspec, outbox_argspec, vault_argspec
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.dns_sync import sync_rows
from ansible_collections.ddi.kea_dns.plugins.module_utils._module.edge import run, summarise_long_list


def main() -> None:
    argument_spec = {
        **kea_db_argspec(),
        **dns_argspec(),
        **vault_argspec(),
        "outbox_ids": {"type": "list", "elements": "int", "required": True},
        "zone": {"type": "str"},
        "ttl": {"type": "int", "default": 600},
        **kea_source_argspec(),
        **outbox_argspec("events_schema", "events_channel", "retry_max_interval"),
    }
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)

    def action(module: AnsibleModule) -> dict:
        outcome = sync_rows(module)
        summarise_long_list(outcome, module.params, "outbox_ids")
        return outcome

    run(module, action)


if __name__ == "__main__":
    main()
