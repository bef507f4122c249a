# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: what the route_records module runs: the routes of a cluster into DNS, once.

The same source and planner as the route program (``_daemon/routes.py``): each kind listed once (``route_watch.list_kind``),
the routes turned into records (``_sources/routes.py``), one reconcile against the records of the owner id
(``_dns/sync.py``), applied unless in check mode. A kind whose API is not installed is skipped with a warning; any other
failure of the Kubernetes API fails the task before DNS is read, so that a partial picture never deletes a record.
"""

from __future__ import annotations

import typing as t

from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.ownership import check_owner_id
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.plan import diff, result
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.registry import dns_backend
from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.sync import DnsSync
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import AuthenticationError, InvalidInputError, TransportError
from ansible_collections.ddi.kea_dns.plugins.module_utils._options import DEFAULT_ROUTE_KINDS
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources import route_watch
from ansible_collections.ddi.kea_dns.plugins.module_utils._sources.routes import RouteSource, held_names, records_of, route_settings


def _api(params: t.Mapping[str, t.Any]) -> route_watch.KubeApi:
    route_watch._libraries()  # pylint: disable=protected-access
    try:
        return route_watch.connect(params["kubeconfig"])
    except (route_watch.kubernetes.config.ConfigException, OSError) as exc:
        raise InvalidInputError("kubeconfig", params["kubeconfig"], f"cannot load a Kubernetes configuration: {exc}") from None


def list_routes(params: t.Mapping[str, t.Any], warn: t.Callable[[str], None]) -> dict:
    """Every object of the kinds asked (and the Gateways of HTTPRoutes), keyed like the route program's cache."""
    unknown = [kind for kind in params["kinds"] if kind not in DEFAULT_ROUTE_KINDS]
    if unknown or not params["kinds"]:
        raise InvalidInputError("kinds", params["kinds"], f"expected one or more of {', '.join(DEFAULT_ROUTE_KINDS)}")
    api = _api(params)
    kubernetes = route_watch.kubernetes
    objects: dict = {}
    for name in route_watch.watched_kinds(params["kinds"], params["traefik_legacy"]):
        for namespace in params["namespaces"] or [None]:
            try:
                objects.update(route_watch.list_kind(api, name, namespace, (10, params["api_timeout"]))[2])
            except route_watch.NotServed as exc:
                warn(f"{name}: {exc}: skipped")
            except kubernetes.client.ApiException as exc:
                error = AuthenticationError if exc.status in (401, 403) else TransportError
                raise error(f"the Kubernetes API refused to list {name}{' in ' + namespace if namespace else ''}: HTTP {exc.status} "
                            f"{exc.reason}; nothing was changed") from None
            except Exception as exc:  # noqa: BLE001 - urllib3's connection errors
                raise TransportError(f"the Kubernetes API is unreachable ({name}): {exc.__class__.__name__}; nothing was changed") from None
    return objects


def run_route_records(module: t.Any) -> dict:
    params = module.params
    settings = route_settings(params)
    owner = check_owner_id(params["owner_id"])
    objects = list_routes(params, module.warn)
    items = [item for item in records_of(objects, settings).values() if item is not None]
    backend = dns_backend(params, on_secret=module.no_log_values.add, owned=True)
    try:
        plan, desired = DnsSync(backend, RouteSource(settings, owner, held_names(items))).reconcile(items, dry_run=module.check_mode)
    finally:
        backend.close()
    for conflict in plan.conflicts:
        module.warn(conflict)
    found = dict(result(plan.changes, plan.unchanged), conflicts=plan.conflicts, skipped=dict(sorted(desired.invalid.items())),
                 pending=sorted(item.ref for item in items if item.pending), routes=len(items))
    if module._diff:
        found["diff"] = diff(plan.changes)
    return found
