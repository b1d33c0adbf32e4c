"""deploy/k8s through the real tools: `kubectl kustomize` renders, kubernetes-validate checks
every built-in object (strict, each supported Kubernetes version) and the operators' CRD
schemas (schemas/crds) check the custom resources."""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
CRDS = Path(__file__).resolve().parent / "schemas" / "crds"
# The oldest and the newest Kubernetes minor the manifests are meant for (docs/operations.md):
# a field too new shows at the first, an API removed since at the second.
SUPPORTED_VERSIONS = ("1.30", "1.37")
KUSTOMIZE_TIMEOUT_S = 120


def _kubectl() -> str:
    """The kubectl binary; outside CI its absence skips, in CI (CI=true) it fails."""
    path = shutil.which("kubectl")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("kubectl is missing: CI must render the manifests with `kubectl kustomize`")
        pytest.skip("kubectl is not installed")
    return path


def render(target: Path) -> list[dict]:
    """`kubectl kustomize target`, parsed. A hang or an error fails the test."""
    try:
        out = subprocess.run([_kubectl(), "kustomize", str(target)], capture_output=True, text=True,
                             timeout=KUSTOMIZE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"kubectl kustomize {target} did not finish in {KUSTOMIZE_TIMEOUT_S} s")
    if out.returncode != 0:
        pytest.fail(f"kubectl kustomize {target} failed:\n{out.stderr}")
    return [o for o in yaml.safe_load_all(out.stdout) if o]


def with_example_secrets(tree: Path) -> Path:
    """A copy of deploy/k8s in `tree` with every overlay's secrets/*.example written under
    its real name, as an operator would before applying the overlay."""
    shutil.copytree(K8S, tree, ignore=shutil.ignore_patterns(*_real_secret_files()))
    for example in tree.glob("overlays/*/secrets/*.example"):
        shutil.copyfile(example, example.with_suffix(""))
    return tree


def _real_secret_files() -> list[str]:
    return [p.with_suffix("").name for p in K8S.glob("overlays/*/secrets/*.example")]


def ident(o: dict) -> str:
    return f"{o.get('kind')}/{(o.get('metadata') or {}).get('name')}"


def _group_kind(o: dict) -> tuple[str, str]:
    api = o.get("apiVersion", "")
    return (api.split("/")[0] if "/" in api else "", o.get("kind", ""))


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict]:
    """(group, kind) -> a JSON Schema validator input made from the CRD's openAPIV3Schema."""
    out = {}
    for path in sorted(CRDS.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        schema = _strict(doc["openAPIV3Schema"])
        schema["properties"]["apiVersion"] = {"const": doc["apiVersion"]}
        schema["$defs"] = {k: _strict(v) for k, v in (doc.get("$defs") or {}).items()}
        out[(doc["apiVersion"].split("/")[0], doc["kind"])] = schema
    return out


def _strict(node):
    """OpenAPI v3 structural schema -> JSON Schema with the API server's strict field
    validation: an object listing `properties` takes no other key unless it preserves them."""
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
    if node.get("nullable"):
        out.pop("nullable")
        out["type"] = [out["type"], "null"]
    if "properties" in node and "additionalProperties" not in node \
            and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def is_custom(o: dict) -> bool:
    group = _group_kind(o)[0]
    return "." in group and not group.endswith(".k8s.io")


def validation_errors(objs: Iterable[dict], versions: Iterable[str] = SUPPORTED_VERSIONS) -> list[str]:
    """Every problem of every object: built-ins per Kubernetes version, custom resources
    against their operator's CRD schema (an unknown custom kind is an error)."""
    errors = []
    versions = tuple(versions)
    for o in objs:
        if is_custom(o):
            schema = crd_schemas().get(_group_kind(o))
            if schema is None:
                errors.append(f"{ident(o)}: no CRD schema for {o.get('apiVersion')} {o.get('kind')} in {CRDS}")
                continue
            validator = jsonschema.Draft202012Validator(schema)
            errors.extend(f"{ident(o)}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
                          for e in validator.iter_errors(o))
            continue
        for version in versions:
            try:
                kubernetes_validate.validate(o, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                errors.append(f"{ident(o)} (Kubernetes {version}): {'/'.join(map(str, e.path))}: {e.message}")
            except kubernetes_validate.SchemaNotFoundError:
                errors.append(f"{ident(o)}: Kubernetes {version} has no {o.get('apiVersion')} {o.get('kind')}")
    return errors


def find(objs: Iterable[dict], kind: str, name: str) -> dict:
    for o in objs:
        if o.get("kind") == kind and o["metadata"]["name"] == name:
            return o
    raise KeyError(f"{kind}/{name}")
