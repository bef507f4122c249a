# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: the error hierarchy raised by the core.

Core code raises these; each entry point translates them once at its edge
(modules call ``fail_json``, plugins raise ``AnsibleError``, the daemon logs
and retries). Messages name the field, value and cause and never contain a
secret.
"""

from __future__ import annotations

import difflib
import typing as t


class KeaDnsError(Exception):
    """Base class of every error the collection's core raises."""


class InvalidInputError(KeaDnsError):
    """A value given by the user (or read from a database row) is not valid."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}: invalid value {value!r}: {reason}")


class ConflictError(KeaDnsError):
    """The change would collide with data that already exists."""


class NotFoundError(KeaDnsError):
    """Something the task needs (database, schema, secret, zone) does not exist."""


class AuthenticationError(KeaDnsError):
    """Credentials were rejected or access was denied."""


class TransportError(KeaDnsError):
    """A server could not be reached or did not answer in time."""


class PartiallyAppliedError(KeaDnsError):
    """A batch failed after part of it was applied (the backend has no atomic batch, or a later zone failed).

    ``applied`` lists every write that was done, in the form ``create|update|delete <name> <type> ...``;
    modules return it next to the message.
    """

    SHOWN = 10

    def __init__(self, cause: KeaDnsError, applied: list[str], failed: t.Sequence[str] = ()) -> None:
        """``failed``: the changes of the write that failed (named in the message, as its cause may not name them)."""
        self.cause = cause
        self.applied = list(applied)
        self.failed = list(failed)
        done = "nothing was applied"
        if applied:
            done = f"{len(applied)} change(s) were applied before the failure (result key 'applied'): {_shown(applied, self.SHOWN)}"
        writing = f" (writing {_shown(failed, 3)})" if failed else ""
        super().__init__(f"{cause}{writing}; {done}")


def partial_failure(exc: KeaDnsError, applied: list[str], writing: t.Sequence[str]) -> PartiallyAppliedError:
    """``exc`` raised by a write of the changes ``writing`` after the changes ``applied``: the error that names them
    all. A PartiallyAppliedError of the write itself keeps its own lists after ``applied``; a refusal names
    ``writing``, a state of the backend (down, credentials, zone) does not."""
    if isinstance(exc, PartiallyAppliedError):
        return PartiallyAppliedError(exc.cause, applied + exc.applied, exc.failed)
    return PartiallyAppliedError(exc, applied, () if backend_state(exc) else writing)


def _shown(labels: t.Sequence[str], most: int) -> str:
    return ", ".join(labels[:most]) + (f" and {len(labels) - most} more" if len(labels) > most else "")


# A DNS backend unreachable, refusing the credentials or lacking the zone: a state of the backend (retry the change
# later), not a refusal of the change itself.
BACKEND_STATE = (TransportError, AuthenticationError, NotFoundError)


def backend_state(exc: BaseException) -> bool:
    """Whether a DNS error (or the cause of a PartiallyAppliedError) is a state of the backend, not a refusal."""
    return isinstance(exc, BACKEND_STATE) or isinstance(getattr(exc, "cause", None), BACKEND_STATE)


class MissingLibraryError(KeaDnsError):
    """A Python library the collection needs is not installed where the code runs."""

    def __init__(self, library: str, package: str) -> None:
        self.library = library
        self.package = package
        super().__init__(f"the Python library {library} is required (pip install {package}) but is not installed")


def did_you_mean(name: str, known: t.Iterable[str]) -> str:
    """A hint for a mistyped option name: `` (did you mean X?)``, or nothing."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""
