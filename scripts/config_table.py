"""The settings table of docs/operations.md, generated from the settings classes (the one source of defaults).

    .venv/bin/python -m scripts.config_table            # print the table
    .venv/bin/python -m scripts.config_table --write    # rewrite it in docs/operations.md (`make config-table`)

One row per environment variable: the services that read it, its default and its meaning (the
field's `description`), and the value the Kubernetes base's ConfigMaps give it, when they do.
tests/deploy/test_deploy_config.py fails when the committed table is not what this prints.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic.fields import FieldInfo

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "operations.md"
CONFIGMAPS = REPO / "deploy" / "k8s" / "base" / "config.yaml"
SETTINGS_MODULES = {"scheduler": "scheduler.settings", "attendance": "attendance.settings",
                    "billing": "billing.settings", "meet-fetcher": "meet_fetcher.settings",
                    "console": "console.settings"}
BEGIN = "<!-- settings table: generated from the settings classes by `make config-table`; edit those, not this -->"
END = "<!-- end of the settings table -->"
HEADER = ["variable", "read by", "default", "k8s base", "meaning"]


@dataclass(frozen=True)
class Variable:
    name: str
    fields: dict[str, FieldInfo]  # service → its field
    inherited: dict[str, str]  # a field a service re-declares (another default) keeps its base's description

    def readers(self) -> str:
        return "every service" if len(self.fields) == len(SETTINGS_MODULES) else ", ".join(self.fields)

    def default(self) -> str:
        shown = {service: show(field.get_default(call_default_factory=True)) for service, field in self.fields.items()}
        if len(set(shown.values())) == 1:
            return next(iter(shown.values()))
        return ", ".join(f"{value} ({service})" for service, value in shown.items())

    def meaning(self) -> str:
        descriptions = {field.description for field in self.fields.values() if field.description}
        descriptions |= {self.inherited[name] for name in [self.name.lower()] if name in self.inherited}
        if len(descriptions) != 1:
            raise ValueError(f"{self.name}: {len(descriptions)} descriptions (give it one, in its settings class)")
        return descriptions.pop()


def settings_classes() -> dict[str, type]:
    return {service: importlib.import_module(module).Settings for service, module in SETTINGS_MODULES.items()}


def variables() -> list[Variable]:
    """Every setting: those of every service first, then each service's own, in class order."""
    found: dict[str, dict[str, FieldInfo]] = {}
    inherited: dict[str, str] = {}
    for service, cls in settings_classes().items():
        for name, field in cls.model_fields.items():
            found.setdefault(name.upper(), {})[service] = field
        inherited |= {name: field.description for base in cls.__mro__[1:]
                      for name, field in getattr(base, "model_fields", {}).items() if field.description}
    everyone = [Variable(n, f, inherited) for n, f in found.items() if len(f) == len(SETTINGS_MODULES)]
    return everyone + [Variable(n, f, inherited) for n, f in found.items() if len(f) < len(SETTINGS_MODULES)]


def configmap_values(path: Path = CONFIGMAPS) -> dict[str, str]:
    """Every key the base's ConfigMaps set, with its value."""
    return {key: str(value) for doc in yaml.safe_load_all(path.read_text())
            if doc and doc.get("kind") == "ConfigMap" for key, value in doc.get("data", {}).items()}


def show(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return f"`{value}`" if value else "empty"


def table() -> str:
    base = configmap_values()
    rows = [[f"`{v.name}`", v.readers(), v.default(), base.get(v.name, ""), v.meaning()] for v in variables()]
    lines = [HEADER, ["---"] * len(HEADER), *rows]
    return "\n".join("| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |" for line in lines) + "\n"


def with_table(doc: str, generated: str) -> str:
    """`doc` with the text between the markers replaced by `generated`."""
    head, begin, rest = doc.partition(BEGIN + "\n")
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"{DOC.name} lacks the settings table markers")
    return head + begin + generated + end + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite the table in {DOC.relative_to(REPO)}")
    args = parser.parse_args(argv)
    if not args.write:
        sys.stdout.write(table())
        return 0
    DOC.write_text(with_table(DOC.read_text(), table()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
