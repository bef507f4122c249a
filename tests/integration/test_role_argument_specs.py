"""Every role's meta/argument_specs.yml documents exactly the variables of its defaults/main.yml, with the same defaults."""

from __future__ import annotations

import os

import pytest
import yaml

from tests.harness.ansible import REPO_ROOT

ROLES = sorted(os.listdir(os.path.join(REPO_ROOT, "roles")))


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_equal_defaults(role):
    with open(os.path.join(REPO_ROOT, "roles", role, "defaults", "main.yml"), encoding="utf-8") as handle:
        defaults = yaml.safe_load(handle) or {}
    with open(os.path.join(REPO_ROOT, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    assert sorted(options) == sorted(defaults)
    assert {name: spec.get("default") for name, spec in options.items()} == defaults
    assert all(name.startswith(role + "_") for name in options), "public variables carry the role's name"
