# Installed by the ddi.kea_dns.dns_listener role; run with the daemon's venv interpreter (as the unit does). The daemon's code is the collection's core
# (plugins/module_utils/_daemon/), copied next to this file under lib/.
"""Kea reservations -> DNS and site-cabinet inventory files (ddi.kea_dns listener daemon)."""

import os
import sys

_LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib")
_COLLECTIONS = os.path.dirname(os.path.abspath(__file__))
for _level in range(5):  # dns_listener, roles, kea_dns, ddi, ansible_collections
    _COLLECTIONS = os.path.dirname(_COLLECTIONS)
if os.path.isdir(_LIB):
    sys.path.insert(0, _LIB)  # installed by the dns_listener role, with the collection's core
elif os.path.basename(_COLLECTIONS) == "ansible_collections":
    sys.path.insert(0, os.path.dirname(_COLLECTIONS))  # run from an installed collection (playbooks/dns_reconcile.yml)

from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
