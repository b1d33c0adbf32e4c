"""The root Dockerfile (one recipe, SERVICE build arg) and .dockerignore, checked offline."""
from __future__ import annotations

import re

import pytest
from deploy_support import (
    REPO,
    SERVICES,
    check_dockerfile,
    dockerfile_copy_sources,
    dockerignore_excludes,
    parse_dockerfile,
    read_dockerignore,
)

DOCKERFILE = REPO / "Dockerfile"


@pytest.fixture(scope="module")
def dockerfile_text() -> str:
    return DOCKERFILE.read_text()


def test_dockerfile_passes_every_check(dockerfile_text: str) -> None:
    assert check_dockerfile(dockerfile_text) == []


def test_dockerfile_shape(dockerfile_text: str) -> None:
    structure = parse_dockerfile(dockerfile_text)
    froms = [s["value"] for s in structure if s["instruction"] == "FROM"]
    assert len(froms) == 1 and re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", froms[0]), \
        f"single stage on a pinned Python 3.11 slim image, not {froms}"
    users = [s["value"] for s in structure if s["instruction"] == "USER"]
    assert users[-1].split(":")[0] == "10001"
    # The user switch comes after every install step, so nothing runs as root at run time.
    last_user = max(i for i, s in enumerate(structure) if s["instruction"] == "USER")
    last_run = max(i for i, s in enumerate(structure) if s["instruction"] == "RUN")
    assert last_user > last_run
    assert not [s for s in structure if s["instruction"] == "ADD"], "COPY only: ADD can fetch URLs and unpack archives"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_folder_is_buildable(name: str) -> None:
    """Every SERVICE the Dockerfile may be built for is a package with `python -m` support."""
    svc = SERVICES[name]
    folder = REPO / "services" / svc.folder
    assert (folder / "pyproject.toml").is_file(), f"services/{svc.folder}/pyproject.toml is missing"
    mains = [folder / svc.package / "__main__.py", folder / "src" / svc.package / "__main__.py"]
    assert any(m.is_file() for m in mains), \
        f"python -m {svc.package} needs {svc.package}/__main__.py in services/{svc.folder}"


def test_shared_inputs_exist() -> None:
    assert (REPO / "requirements.txt").is_file(), "the Dockerfile installs the hashed lock requirements.txt"
    assert (REPO / "libs" / "common" / "pyproject.toml").is_file()


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_copy_sources_exist_and_reach_the_build_context(dockerfile_text: str, name: str) -> None:
    patterns = read_dockerignore()
    for src in dockerfile_copy_sources(dockerfile_text, SERVICES[name].folder):
        assert (REPO / src).exists(), f"COPY {src}: not in the repository"
        assert not dockerignore_excludes(patterns, src), f"COPY {src}: excluded by .dockerignore"


def test_dockerignore_keeps_the_context_small() -> None:
    patterns = read_dockerignore()
    for path in (".git", ".venv", "tests", "deploy", "libs/common/academy_common/__pycache__",
                 "services/billing/tests/test_x.py", "libs/common/academy_common.egg-info",
                 "requirements-dev.txt", "bench/fetcher_capacity.py"):
        assert dockerignore_excludes(patterns, path), f"{path} should not be sent to the builder"
    for path in ("requirements.txt", "libs/common/academy_common/db.py", "services/meet-fetcher/pyproject.toml",
                 "libs/common/academy_common/migrations/001_x.sql"):
        assert not dockerignore_excludes(patterns, path), f"{path} is needed in the image"


def test_dockerignore_matcher_semantics() -> None:
    """The matcher itself: last match wins, `!` re-includes, `**/` spans folders."""
    assert dockerignore_excludes(["**/tests"], "services/x/tests/a.py")
    assert not dockerignore_excludes(["*.md", "!README.md"], "README.md")
    assert dockerignore_excludes(["*.md"], "README.md")
    assert not dockerignore_excludes(["*.md"], "libs/common/README.md")  # `*` does not cross folders


BROKEN = [
    ("unpinned base", ("FROM python:3.11.14-slim-bookworm", "FROM python"), "not pinned"),
    ("latest base", ("FROM python:3.11.14-slim-bookworm", "FROM python:latest"), "not pinned"),
    ("root user", ("USER 10001:10001", "USER root"), "runs as root"),
    ("no user", ("USER 10001:10001", ""), "no USER"),
    ("named user", ("USER 10001:10001", "USER app"), "numeric uid"),
    ("ADD of a URL", ("COPY requirements.txt ./requirements.txt",
                      "ADD https://example.com/requirements.txt ./requirements.txt"), "fetches a URL"),
    ("no SERVICE arg", ("ARG SERVICE\n", "\n"), "ARG SERVICE is not declared"),
    ("shell-form entrypoint", ('ENTRYPOINT ["/usr/local/bin/academy-service"]',
                               "ENTRYPOINT /usr/local/bin/academy-service"), "exec (JSON) form"),
    ("no editable install", ("pip install --no-deps -e libs/common", "pip install libs/common"), "--no-deps -e"),
    ("dev tools in the image", ("RUN pip install --require-hashes -r requirements.txt",
                                "COPY requirements-dev.txt ./\nRUN pip install -r requirements.txt -r requirements-dev.txt"),
     "requirements-dev.txt"),
    ("only the dev lock", ("pip install --require-hashes -r requirements.txt",
                           "pip install --require-hashes -r requirements-dev.txt"), "requirements.txt is not installed"),
    ("hashes not required", ("pip install --require-hashes -r requirements.txt", "pip install -r requirements.txt"),
     "without --require-hashes"),
]


@pytest.mark.parametrize("old_new, fragment", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_checks_catch_a_broken_dockerfile(dockerfile_text: str, old_new: tuple[str, str], fragment: str) -> None:
    old, new = old_new
    assert old in dockerfile_text, f"mutation anchor {old!r} is gone: update this test"
    errors = check_dockerfile(dockerfile_text.replace(old, new, 1))
    assert any(fragment in e for e in errors), errors
