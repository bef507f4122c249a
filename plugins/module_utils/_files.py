# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: files replaced atomically (archives, restored lease files, inventory files)."""

from __future__ import annotations

import contextlib
import os
import tempfile
import typing as t


@contextlib.contextmanager
def replacing(path: str, mode: int, prefix: str = ".partial-") -> t.Iterator[str]:
    """A temporary path next to ``path`` for the caller to fill. When the block ends without error the file is
    synced to disk, given ``mode`` and renamed onto ``path``, so a reader sees the old file or the whole new one;
    on error it is removed and ``path`` is left as it was."""
    handle, partial = tempfile.mkstemp(prefix=prefix, dir=os.path.dirname(os.path.abspath(path)))
    os.close(handle)
    try:
        yield partial
        with open(partial, "rb") as written:
            os.fsync(written.fileno())
        os.chmod(partial, mode)
        os.replace(partial, path)
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise
