# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the HTTP plumbing the REST backends (PowerDNS, Technitium, SOLIDserver) share.

A session with certificate checking, one call whose network failures become the collection's TransportError
with a one-line cause (the URL, which never carries a secret, is not repeated; headers and form bodies never are),
and bounded parallel calls (a batch's per-name reads). A pooled connection the server closed fails its call with a
TransportError; the caller (``base.run_batch``) drops the pool and runs the batch again.
"""

from __future__ import annotations

import typing as t
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import MissingLibraryError, TransportError

requests: t.Any = None  # imported on first use (_libraries): the registry reads every backend's declaration without its client library


def _libraries() -> None:
    global requests
    if requests is None:
        try:
            import requests as library
        except ImportError:  # pragma: no cover - the collection's requirements include requests
            raise MissingLibraryError("requests", "requests") from None
        requests = library


def session(validate_certs: bool | str, headers: t.Mapping[str, str] | None = None) -> t.Any:
    """A requests session; MissingLibraryError when requests is not installed."""
    _libraries()
    new = requests.Session()
    new.verify = validate_certs
    new.headers.update(headers or {})
    return new


def send(http: t.Any, method: str, url: str, timeout: float, where: str, what: str, **kwargs: t.Any) -> t.Any:
    """One request; a timeout or an unreachable server raises TransportError naming ``where`` and ``what``."""
    try:
        return http.request(method, url, timeout=timeout, **kwargs)
    except requests.exceptions.Timeout:
        raise TransportError(f"{where} did not answer within {timeout} s ({what})") from None
    except requests.exceptions.RequestException as exc:
        raise TransportError(f"{where} is unreachable ({what}): {exc.__class__.__name__}") from None


def parallel(function: t.Callable[[t.Any], t.Any], items: t.Sequence, workers: int) -> list:
    """``function`` on each item, at most ``workers`` at a time; results in the order of ``items``; the first error
    is raised once every started call has ended."""
    if len(items) <= 1 or workers <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(function, items))
