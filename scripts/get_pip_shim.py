"""Offline stand-in for the get-pip bootstrap ansible-test downloads: installs pip from ensurepip's bundled wheel."""

from __future__ import annotations

import ensurepip
import glob
import os
import sys


def main() -> int:
    wheel = sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl")))[-1]
    sys.path.insert(0, wheel)
    from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel

    args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
    return pip_main(["install", "--upgrade", "--force-reinstall", *args])


if __name__ == "__main__":
    sys.exit(main())
