# Run by the ddi.kea_dns route_dns Deployment (or by hand with a kubeconfig) with a Python that has the collection's
# requirements. The program's code is the collection's core (plugins/module_utils/), imported from the collection
# this file belongs to.
"""Kubernetes Ingress, IngressRoute and HTTPRoute hostnames -> DNS records (ddi.kea_dns route program)."""

import os
import sys

_COLLECTIONS = os.path.dirname(os.path.abspath(__file__))
for _level in range(5):  # files, route_dns, roles, kea_dns, ddi -> ansible_collections
    _COLLECTIONS = os.path.dirname(_COLLECTIONS)
if os.path.basename(_COLLECTIONS) == "ansible_collections":
    sys.path.insert(0, os.path.dirname(_COLLECTIONS))

from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon.routes import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
