"""meta/execution-environment.yml and bindep.txt as ansible-builder reads them from the installed collection, and a
valid build context from docs/ee/execution-environment.yml (building the image needs a container engine: not here)."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess

from tests.harness.ansible import REPO_ROOT, ansible_env, tool


def build_and_install(tmp_path) -> tuple[str, str]:
    subprocess.run([tool("ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), REPO_ROOT], capture_output=True, check=True)
    tarball = str(tmp_path / "ddi-kea_dns-0.1.0.tar.gz")
    installed = str(tmp_path / "installed")
    subprocess.run([tool("ansible-galaxy"), "collection", "install", "--offline", "-p", installed, tarball],
                   env=ansible_env({"ANSIBLE_COLLECTIONS_PATH": installed, "ANSIBLE_GALAXY_SERVER": "http://127.0.0.1:9/"}), capture_output=True, check=True)
    return tarball, installed


def test_introspection_reads_the_collections_requirements(tmp_path):
    _tarball, installed = build_and_install(tmp_path)
    out = subprocess.run([tool("ansible-builder"), "introspect", os.path.join(installed)], capture_output=True, text=True, check=True)
    with open(os.path.join(REPO_ROOT, "requirements.txt"), encoding="utf-8") as handle:
        pins = [line.split("#")[0].strip() for line in handle if line.split("#")[0].strip()]
    # ansible-builder leaves out what ansible-core itself requires (PyYAML): the EE has it already.
    core = {re.split(r"[<>=!~ ;\[]", r)[0].lower() for r in importlib.metadata.requires("ansible-core") or []}
    for pin in pins:
        name = pin.split("==")[0].lower()
        assert f"'{pin}  # from collection ddi.kea_dns'" in out.stdout or name in core, (pin, out.stdout)
    assert "libknot13 [platform:dpkg]" in out.stdout and "knot-libs [platform:rpm]" in out.stdout, out.stdout


def test_builder_creates_a_build_context(tmp_path):
    tarball, _installed = build_and_install(tmp_path)
    definition = tmp_path / "ee"
    shutil.copytree(os.path.join(REPO_ROOT, "docs", "ee"), definition)
    shutil.copy(tarball, definition)
    context = tmp_path / "context"
    out = subprocess.run([tool("ansible-builder"), "create", "-f", str(definition / "execution-environment.yml"), "-c", str(context),
                          "--output-filename", "Containerfile"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile or "install-from-bindep" in containerfile, containerfile
    assert (context / "_build" / "requirements.yml").exists()
    assert (context / "_build" / "collections" / "ddi-kea_dns-0.1.0.tar.gz").exists()
