"""Validate rendered Kubernetes manifests offline, before they replace the live files.

The role ddi.kea_dns.route_dns runs it through the template module's ``validate`` (one file at a time); the tests
run it on the static kustomize base too.

- Built-in kinds are validated against the Kubernetes JSON schemas that the kubernetes-validate package bundles
  (no cluster, no network), in strict mode (an unknown or misspelt field fails), for the version given with
  ``--kubernetes-version``.
- ServiceMonitor (monitoring.coreos.com/v1) is a custom resource of the Prometheus operator: kubernetes-validate has
  no schema for it. It is validated against SERVICE_MONITOR_SCHEMA below, the subset of the CRD's fields that
  this collection writes, with unknown fields refused.
- A manifest must hold exactly one object, with a name, and never a Secret: secrets are referenced, not shipped.

Exit status: 0 valid, 1 invalid (the reason on stderr), 2 kubernetes-validate missing.
"""

from __future__ import annotations

import argparse
import sys

import yaml

DNS_1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DURATION = r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

SERVICE_MONITOR_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "pattern": DNS_1123_SUBDOMAIN, "maxLength": 253},
                "namespace": {"type": "string", "pattern": DNS_1123_SUBDOMAIN, "maxLength": 63},
                "labels": STRING_MAP,
                "annotations": STRING_MAP,
            },
        },
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "jobLabel": {"type": "string"},
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "minProperties": 1,
                    "properties": {"matchLabels": STRING_MAP, "matchExpressions": {"type": "array"}},
                },
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"any": {"type": "boolean"}, "matchNames": {"type": "array", "items": {"type": "string"}}},
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "anyOf": [{"required": ["port"]}, {"required": ["targetPort"]}],
                        "properties": {
                            "port": {"type": "string"},
                            "targetPort": {"type": ["string", "integer"]},
                            "path": {"type": "string", "pattern": "^/"},
                            "scheme": {"enum": ["http", "https"]},
                            "interval": {"type": "string", "pattern": DURATION},
                            "scrapeTimeout": {"type": "string", "pattern": DURATION},
                            "honorLabels": {"type": "boolean"},
                            "relabelings": {"type": "array"},
                            "metricRelabelings": {"type": "array"},
                        },
                    },
                },
            },
        },
    },
}


class ManifestError(Exception):
    """A manifest that must not go live."""


def validate_object(obj: object, kubernetes_version: str) -> None:
    """Raise ManifestError when ``obj`` is not a valid object of its kind."""
    import jsonschema  # pylint: disable=import-outside-toplevel
    import kubernetes_validate  # pylint: disable=import-outside-toplevel

    if not isinstance(obj, dict) or not obj.get("apiVersion") or not obj.get("kind"):
        raise ManifestError("not a Kubernetes object (apiVersion and kind are needed)")
    if not isinstance(obj.get("metadata"), dict) or not obj["metadata"].get("name"):
        raise ManifestError(f"{obj['kind']} without metadata.name")
    where = f"{obj['kind']} {obj['metadata']['name']}"
    if obj["kind"] == "Secret":
        raise ManifestError(f"{where}: a Secret must not be shipped in a manifest; reference it with secretKeyRef")
    if obj["kind"] == "ServiceMonitor":
        try:
            jsonschema.Draft202012Validator(SERVICE_MONITOR_SCHEMA).validate(obj)
        except jsonschema.ValidationError as error:
            path = ".".join(str(part) for part in error.absolute_path) or "(top)"
            raise ManifestError(f"{where}: {path}: {error.message}") from None
        return
    try:
        kubernetes_validate.validate(obj, kubernetes_version, strict=True)
    except kubernetes_validate.SchemaNotFoundError as error:
        raise ManifestError(f"{where}: {error.message}") from None
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(part) for part in error.absolute_path) or "(top)"
        raise ManifestError(f"{where}: {path}: {error.message} (Kubernetes {kubernetes_version} schema)") from None


def validate_file(path: str, kubernetes_version: str) -> None:
    """Raise ManifestError unless ``path`` holds exactly one valid object."""
    try:
        with open(path, encoding="utf-8") as handle:
            documents = [doc for doc in yaml.safe_load_all(handle) if doc is not None]
    except (OSError, yaml.YAMLError) as error:
        raise ManifestError(f"cannot read {path}: {error}") from None
    if len(documents) != 1:
        raise ManifestError(f"{path}: one object per file is expected, found {len(documents)}")
    validate_object(documents[0], kubernetes_version)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--kubernetes-version", default="1.30", help="Kubernetes version of the schemas (default 1.30)")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    try:
        import kubernetes_validate  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        print(f"kubernetes-validate is not installed for {sys.executable}: pip install kubernetes-validate, "
              "or point route_dns_validate_python at an interpreter that has it", file=sys.stderr)
        return 2
    failed = False
    for path in args.files:
        try:
            validate_file(path, args.kubernetes_version)
        except ManifestError as error:
            print(error, file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
