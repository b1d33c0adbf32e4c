"""requirements.txt (run time: what every image installs) and requirements-dev.txt (the tools),
checked against the code's imports and the installed distributions' metadata."""
from __future__ import annotations

import re

import pytest
from deploy_support import REPO, imported_distributions, lock_errors, parse_lock

RUNTIME = REPO / "requirements.txt"
DEV = REPO / "requirements-dev.txt"
# What the services need at run time (the emulator reads YAML scenarios); all else is pulled in.
DIRECT = {"aiohttp", "aio-pika", "asyncpg", "google-api-python-client", "google-auth", "google-auth-httplib2",
          "google-auth-oauthlib", "structlog", "pydantic", "pydantic-settings", "prometheus-client", "tenacity",
          "pyyaml"}


@pytest.fixture(scope="module")
def texts() -> tuple[str, str]:
    return RUNTIME.read_text(), DEV.read_text()


def test_locks_are_consistent(texts) -> None:
    assert lock_errors(*texts) == []


def test_runtime_lock_holds_the_direct_dependencies(texts) -> None:
    runtime, _, _ = parse_lock(texts[0])
    assert DIRECT <= set(runtime)
    imported = set().union(*imported_distributions().values())
    assert {"aiohttp", "asyncpg", "pydantic", "pyyaml"} <= imported, "the import scan must see the services' code"


def test_makefile_installs_the_dev_lock() -> None:
    makefile = (REPO / "Makefile").read_text()
    rule = re.search(r"^\$\(VENV\)/\.installed:(.*)$", makefile, re.MULTILINE)
    assert rule and {"requirements.txt", "requirements-dev.txt"} <= set(rule.group(1).split())
    assert re.search(r"pip install[^\n]*-r requirements-dev\.txt", makefile)
    assert not re.search(r"pip install[^\n]*-r requirements\.txt", makefile), "the dev lock includes it"


def _drop(name: str):
    return lambda rt, dev: (re.sub(rf"(?im)^{re.escape(name)}==.*\n", "", rt), dev)


BROKEN = [
    ("transitive dependency missing", _drop("yarl"), "aiohttp needs yarl, which is not pinned in requirements.txt"),
    ("direct dependency missing", _drop("PyYAML"), "run-time code imports yaml (pyyaml), not in requirements.txt"),
    ("test tool at run time", lambda rt, dev: (rt + "pytest==9.2.0\n", dev), "requirements.txt pins pytest"),
    ("unpinned", lambda rt, dev: (rt.replace("structlog==26.1.0", "structlog>=26"), dev), "is not pinned"),
    ("version drift", lambda rt, dev: (rt.replace("structlog==26.1.0", "structlog==25.1.0"), dev),
     "structlog==25.1.0 but 26.1.0 is installed"),
    ("dev lock without the run-time lock", lambda rt, dev: (rt, dev.replace("-r requirements.txt", "")),
     "requirements-dev.txt must include requirements.txt"),
    ("dev tool dependency missing", lambda rt, dev: (rt, re.sub(r"(?m)^pluggy==.*\n", "", dev)),
     "pytest needs pluggy"),
    ("pinned twice", lambda rt, dev: (rt, dev + "aiohttp==3.14.5\n"), "aiohttp is pinned in both files"),
]


@pytest.mark.parametrize("mutate, fragment", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_checks_catch_a_broken_lock(texts, mutate, fragment: str) -> None:
    runtime, dev = mutate(*texts)
    assert (runtime, dev) != texts, "mutation anchor is gone: update this test"
    errors = lock_errors(runtime, dev)
    assert any(fragment in e for e in errors), errors


def test_an_import_of_a_dev_tool_is_caught(texts) -> None:
    imports = {**imported_distributions(), "jsonschema": {"jsonschema"}}
    assert "run-time code imports jsonschema (jsonschema), not in requirements.txt" in lock_errors(*texts, imports)
