"""Run real ansible-playbook processes against the collection and read back the registered results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def collections_path() -> str:
    """A directory holding ansible_collections/ddi/kea_dns for this source tree."""
    parts = REPO_ROOT.split(os.sep)
    if parts[-3:] == ["ansible_collections", "ddi", "kea_dns"]:
        return os.sep.join(parts[:-3])
    farm = os.path.join(tempfile.gettempdir(), f"kea-dns-collections-{os.getuid()}")
    link = os.path.join(farm, "ansible_collections", "ddi", "kea_dns")
    if os.path.realpath(link) != REPO_ROOT:  # made beside and renamed over: test processes running at once may race here
        os.makedirs(os.path.dirname(link), exist_ok=True)
        fresh = f"{link}.{os.getpid()}"
        if os.path.lexists(fresh):
            os.unlink(fresh)
        os.symlink(REPO_ROOT, fresh)
        os.replace(fresh, link)
    return farm


def tool(name: str) -> str:
    """An executable of the Python environment running the tests (the project's venv)."""
    return os.path.join(os.path.dirname(sys.executable), name)


def ansible_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": collections_path(),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
    })
    for name in [n for n in env if n.startswith(("KEA_DB_", "VAULT_"))]:
        del env[name]  # each test says which credentials it gives
    env.update(extra or {})
    return env


@dataclass
class PlaybookRun:
    returncode: int
    output: str
    results: list[dict]

    def __getitem__(self, index: int) -> dict:
        return self.results[index]


def run_tasks(tasks: list[dict], env: dict[str, str] | None = None, args: list[str] | None = None,
              variables: dict | None = None) -> PlaybookRun:
    """Run ``tasks`` in one play on localhost; each result is registered, failures do not stop the play."""
    with tempfile.TemporaryDirectory(prefix="kea-dns-play-") as work:
        names = []
        play_tasks = []
        for index, task in enumerate(tasks):
            name = f"r{index}"
            names.append(name)
            play_tasks.append(dict(task, register=name, ignore_errors=True))
        out_file = os.path.join(work, "results.json")
        dump = "{{ [" + ", ".join(f"{name} | default({{}})" for name in names) + "] | to_json }}"
        play_tasks.append({"name": "Dump results", "ansible.builtin.copy": {"content": dump, "dest": out_file, "mode": "0600"},
                           "check_mode": False, "diff": False})
        play = [{"name": "Test", "hosts": "localhost", "gather_facts": False, "tasks": play_tasks}]
        if variables is not None:
            vars_file = os.path.join(work, "vars.json")
            with open(vars_file, "w", encoding="utf-8") as handle:
                json.dump(variables, handle)
            play[0]["vars_files"] = [vars_file]
        playbook = os.path.join(work, "play.yml")
        with open(playbook, "w", encoding="utf-8") as handle:
            json.dump(play, handle)
        inventory = os.path.join(work, "inventory.ini")
        with open(inventory, "w", encoding="utf-8") as handle:
            handle.write(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
        proc = subprocess.run([tool("ansible-playbook"), "-i", inventory, playbook, *(args or [])],
                              env=ansible_env(env), capture_output=True, text=True, check=False)
        results: list[dict] = []
        if os.path.exists(out_file):
            with open(out_file, encoding="utf-8") as handle:
                results = json.load(handle)
        return PlaybookRun(proc.returncode, proc.stdout + proc.stderr, results)


def plain(value):
    """A value of ``ansible-inventory --list`` without the unsafe markers of values read from the database."""
    if isinstance(value, dict):
        return value["__ansible_unsafe"] if set(value) == {"__ansible_unsafe"} else {k: plain(v) for k, v in value.items()}
    return [plain(item) for item in value] if isinstance(value, list) else value
