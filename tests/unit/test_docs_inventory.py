"""docs/inventory.md: the AWX credential types inject only environment variables the collection reads."""

from __future__ import annotations

import os
import re

import yaml

from ansible_collections.ddi.kea_dns.plugins.module_utils._options import environment

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs", "inventory.md")


def test_injected_variables_are_read_by_the_collection():
    with open(DOC, encoding="utf-8") as handle:
        blocks = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", handle.read(), re.S)]
    injectors = [block["env"] for block in blocks if isinstance(block, dict) and "env" in block]
    inputs = [block for block in blocks if isinstance(block, dict) and "fields" in block]
    assert len(injectors) == len(inputs) == 2
    known = {name for names in environment().values() for name in names}
    for injector, fields in zip(injectors, inputs, strict=True):
        assert set(injector) <= known
        ids = {field["id"] for field in fields["fields"]}
        used = {name for value in injector.values() for name in re.findall(r"{{ (\w+) }}", value)}
        assert used <= ids and set(fields["required"]) <= ids
