"""Defaults are stated once, in the settings classes: the settings table of docs/operations.md is
generated from them (scripts/config_table.py) and the Kubernetes base's ConfigMaps restate them."""
from __future__ import annotations

import pytest

from scheduler.settings import Settings as SchedulerSettings
from scripts import config_table

# ConfigMap values that differ from the settings' defaults on purpose, and why.
DELIBERATE = {
    "HTTP_HOST": "a container listens on its pod's address; the default stays on loopback for development",
    "LOG_FORMAT": "JSON on stdout for the cluster's log collector, whatever a terminal would get",
    "GOOGLE_CREDENTIALS_FILE": "where the academy-google-credentials Secret is mounted",
    "MEET_READS_PER_MINUTE": "10 % of Google's quota left for the scheduler's calls and operators",
    **{f"{api}_URL": "the console reaches each API by its Service's name, not on loopback"
       for api in ("SCHEDULER", "ATTENDANCE", "BILLING")},
}


def test_the_settings_table_is_what_the_settings_classes_generate() -> None:
    doc = config_table.DOC.read_text()
    assert config_table.with_table(doc, config_table.table()) == doc, \
        "docs/operations.md differs from the settings classes: run `make config-table`"


def test_every_setting_has_one_description() -> None:
    problems = []
    for variable in config_table.variables():
        try:
            variable.meaning()
        except ValueError as exc:
            problems.append(str(exc))
    assert problems == []


@pytest.mark.parametrize(("attribute", "value", "row"), [
    ("default", 121.0, "| `TICK_INTERVAL_S` | scheduler | 121 | 120 | scheduler ticker:"),
    ("description", "a new meaning", "| `TICK_INTERVAL_S` | scheduler | 120 | 120 | a new meaning |"),
])
def test_a_changed_default_or_description_changes_the_table(monkeypatch, attribute: str, value, row: str) -> None:
    monkeypatch.setattr(SchedulerSettings.model_fields["tick_interval_s"], attribute, value)
    assert row in config_table.table()
    doc = config_table.DOC.read_text()
    assert config_table.with_table(doc, config_table.table()) != doc


@pytest.mark.parametrize(("key", "value"), sorted(config_table.configmap_values().items()))
def test_a_configmap_value_restates_the_default(key: str, value: str) -> None:
    readers = {service: cls for service, cls in config_table.settings_classes().items()
               if key.lower() in cls.model_fields}
    assert readers, f"{key}: no service has this setting"
    for service, cls in readers.items():
        default = cls.model_fields[key.lower()].get_default(call_default_factory=True)
        parsed = getattr(cls(**{key.lower(): value}), key.lower())
        if key in DELIBERATE:
            assert parsed != default, f"{key} is back at its default: drop it from DELIBERATE"
        else:
            assert parsed == default, f"{key}={value!r} ({service}): restate the default ({default}) or say why not"
