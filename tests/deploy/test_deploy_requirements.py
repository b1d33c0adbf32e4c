"""requirements.txt (run time: what every image installs) and requirements-dev.txt (a developer's
whole venv): locks with hashes made by `make lock` from the packages' pyprojects, checked against
the packages' declared dependencies, the code's imports and the installed distributions' metadata."""
from __future__ import annotations

import re

import pytest
from deploy_support import PACKAGE_FOLDERS, REPO, declared_dependencies, imported_distributions, lock_errors, parse_lock

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


def test_every_package_declares_its_dependencies() -> None:
    declared = declared_dependencies()
    assert set(declared) == {str(f.relative_to(REPO)) for f in PACKAGE_FOLDERS}
    assert all(declared.values()), f"packages without dependencies: {[f for f, d in declared.items() if not d]}"
    assert all(not re.search(r"==", spec) for specs in declared.values() for spec in specs), \
        "a pyproject states ranges; the exact versions are the lock's"
    lock_input = (REPO / "requirements.in").read_text()
    for folder in declared:
        assert f"-e ./{folder}\n" in lock_input, f"requirements.in does not lock {folder}'s dependencies"
    assert "-r requirements.in" in (REPO / "requirements-dev.in").read_text()


def test_makefile_installs_the_dev_lock_with_hashes() -> None:
    makefile = (REPO / "Makefile").read_text()
    rule = re.search(r"^\$\(VENV\)/\.installed:(.*)$", makefile, re.MULTILINE)
    assert rule and {"requirements.txt", "requirements-dev.txt"} <= set(rule.group(1).split())
    assert re.search(r"pip install[^\n]*--require-hashes -r requirements-dev\.txt", makefile)
    assert re.search(r"pip install[^\n]*--no-deps \$\(addprefix -e ", makefile), "the packages: editable, apart"
    assert not re.search(r"pip install[^\n]*-r requirements\.txt", makefile), "the dev lock holds it"
    assert re.search(r"^lock:", makefile, re.MULTILINE) and "--generate-hashes" in makefile


def _drop(name: str):
    """The entry of `name` (its pin, hashes and comments) gone from the run-time lock."""
    return lambda rt, dev: (re.sub(rf"(?im)^{re.escape(name)}==.*\n(    .*\n)*", "", rt), dev)


def _without_hashes(name: str):
    return lambda rt, dev: (re.sub(rf"(?im)^({re.escape(name)}==\S+)(?: \\\n\s+--hash=\S+)+", r"\1", rt), dev)


BROKEN = [
    ("transitive dependency missing", _drop("yarl"), "aiohttp needs yarl, which is not pinned in requirements.txt"),
    ("declared dependency missing", _drop("tenacity"), "libs/common declares tenacity"),
    ("direct dependency missing", _drop("PyYAML"), "run-time code imports yaml (pyyaml), not in requirements.txt"),
    ("test tool at run time", lambda rt, dev: (rt + "pytest==9.2.0 --hash=sha256:" + "0" * 64 + "\n", dev),
     "requirements.txt pins pytest"),
    ("no hash", _without_hashes("structlog"), "structlog has no hash"),
    ("unpinned", lambda rt, dev: (rt.replace("structlog==26.1.0", "structlog>=26"), dev), "is not pinned"),
    ("version drift", lambda rt, dev: (rt.replace("structlog==26.1.0", "structlog==25.1.0"), dev),
     "structlog==25.1.0 but 26.1.0 is installed"),
    ("declared range not met", lambda rt, dev: (rt.replace("structlog==26.1.0", "structlog==25.1.0"), dev),
     "declares structlog>=26.1, requirements.txt pins 25.1.0"),
    ("dev lock at another version", lambda rt, dev: (rt, dev.replace("structlog==26.1.0", "structlog==25.1.0")),
     "requirements-dev.txt lacks structlog==26.1.0"),
    ("dev tool dependency missing", lambda rt, dev: (rt, re.sub(r"(?m)^pluggy==.*\n(    .*\n)*", "", dev)),
     "pytest needs pluggy"),
    ("pinned twice", lambda rt, dev: (rt, dev + "aiohttp==3.14.5 --hash=sha256:" + "0" * 64 + "\n"),
     "aiohttp is pinned twice"),
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
