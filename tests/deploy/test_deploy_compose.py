"""docker-compose.yml: the Compose schema, then the cross-references between its services, and
what it exposes (ports on loopback only, tokens from .env)."""
from __future__ import annotations

import copy
import subprocess

import pytest
import yaml
from deploy_support import (
    ENV_EXAMPLE,
    REPO,
    SERVICES,
    check_compose,
    compose_schemas,
    compose_variables,
    env_file,
    schema_errors,
)

COMPOSE = REPO / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose_doc() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture
def doc(compose_doc: dict) -> dict:
    return copy.deepcopy(compose_doc)


def test_valid_against_reduced_compose_schema(compose_doc: dict) -> None:
    assert schema_errors(compose_doc, compose_schemas()["reduced"]) == []


def test_valid_against_upstream_compose_spec(compose_doc: dict) -> None:
    assert "upstream" in compose_schemas(), "check-jsonschema (pinned in requirements-dev.txt) ships compose-spec.json"
    assert schema_errors(compose_doc, compose_schemas()["upstream"]) == []


def test_services_are_consistent(compose_doc: dict) -> None:
    assert check_compose(compose_doc) == []


def test_every_app_service_builds_from_the_root_dockerfile(compose_doc: dict) -> None:
    for name, spec in SERVICES.items():
        build = compose_doc["services"][name]["build"]
        assert build == {"context": ".", "dockerfile": "Dockerfile", "args": {"SERVICE": spec.folder}}
        assert (REPO / "services" / build["args"]["SERVICE"]).is_dir(), f"services/{spec.folder} is missing"


def test_startup_order(compose_doc: dict) -> None:
    deps = {n: set(s.get("depends_on") or {}) for n, s in compose_doc["services"].items()}
    assert deps["scheduler"] == {"postgres", "rabbitmq", "meet-emulator"}
    assert deps["meet-fetcher"] == {"postgres", "rabbitmq", "meet-emulator"}, "its caches and limiter live in PostgreSQL"
    assert deps["attendance"] == deps["billing"] == {"postgres", "rabbitmq"}
    assert not deps["postgres"] and not deps["rabbitmq"] and not deps["meet-emulator"]


def test_tokens_come_from_the_env_file(compose_doc: dict) -> None:
    example = env_file()
    assert compose_variables(compose_doc) <= set(example), ".env.example must give every variable compose reads"
    tokens = [pair.split("=", 1)[1] for pair in example["API_TOKENS"].split(",")]
    assert len(tokens) == 3 and all(len(token) >= 16 for token in tokens)
    assert "dev-admin" not in COMPOSE.read_text().replace("dev-admin-token", ""), "no token in the compose file"
    assert check_compose(compose_doc, env={}) == ["variable API_TOKENS: set API_TOKENS in .env (cp .env.example .env)"]


def test_git_ignores_the_env_file() -> None:
    out = subprocess.run(["git", "check-ignore", str(REPO / ".env"), str(ENV_EXAMPLE)], cwd=REPO,
                         capture_output=True, text=True, check=False).stdout.split()
    assert out == [str(REPO / ".env")]


def _set(path: list, value):
    def mutate(doc: dict) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        if value is _DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return mutate


_DELETE = object()


def _rename(service: str, old: str, new: str):
    def mutate(doc: dict) -> None:
        env = doc["services"][service]["environment"]
        env[new] = env.pop(old)
    return mutate

BROKEN = [
    ("depends on a missing service",
     _set(["services", "billing", "depends_on", "redis"], {"condition": "service_healthy"}),
     "depends_on unknown service redis"),
    ("waits only for start", _set(["services", "attendance", "depends_on", "postgres", "condition"], "service_started"),
     "expected service_healthy"),
    ("dependency without healthcheck", _set(["services", "rabbitmq", "healthcheck"], _DELETE),
     "rabbitmq has no healthcheck"),
    ("misspelt key", _set(["services", "scheduler", "healtcheck"], {"test": ["CMD", "true"]}),
     "schema:"),
    ("bad condition", _set(["services", "scheduler", "depends_on", "postgres", "condition"], "healthy"),
     "schema:"),
    ("wrong build arg", _set(["services", "billing", "build", "args", "SERVICE"], "biling"),
     "build arg SERVICE='biling'"),
    ("wrong port", _set(["services", "attendance", "environment", "HTTP_PORT"], "8080"),
     "HTTP_PORT='8080'"),
    ("URL to an unknown host", _set(["services", "billing", "environment", "DATABASE_URL"],
                                    "postgresql://academy:academy@db:5432/academy"), "points at db"),
    ("healthcheck not on /healthz", _set(["services", "billing", "healthcheck", "test"], ["CMD", "true"]),
     "must probe /healthz"),
    ("emulator on loopback", _set(["services", "meet-emulator", "command"], ["--port", "8090"]), "--host 0.0.0.0"),
    ("short grace period", _set(["services", "meet-fetcher", "stop_grace_period"], "10s"), "stop_grace_period"),
    ("cycle", _set(["services", "postgres", "depends_on"], {"billing": {"condition": "service_healthy"}}),
     "depends_on cycle"),
    ("fetcher without its database", _set(["services", "meet-fetcher", "environment", "DATABASE_URL"], _DELETE),
     "meet-fetcher: environment DATABASE_URL is not set"),
    ("fetcher starts before PostgreSQL", _set(["services", "meet-fetcher", "depends_on", "postgres"], _DELETE),
     "meet-fetcher: DATABASE_URL uses postgres but does not depend on it"),
    ("fetcher concurrency under its retired name", _rename("meet-fetcher", "FETCH_CONCURRENCY", "CONSUMER_PREFETCH"),
     "CONSUMER_PREFETCH is ignored by meet-fetcher"),
    ("misspelt setting", _rename("attendance", "LATE_THRESHOLD_S", "LATE_THRESHOLD"),
     "LATE_THRESHOLD is not a setting of attendance"),
    ("invalid setting", _set(["services", "scheduler", "environment", "START_TOLERANCE_S"], "-5"),
     "START_TOLERANCE_S='-5' is invalid for scheduler"),
    ("port on every interface", _set(["services", "billing", "ports"], ["8083:8083"]),
     "billing: port 8083:8083 is published on every interface"),
    ("UI on every interface", _set(["services", "rabbitmq", "ports"], ["0.0.0.0:15672:15672"]),
     "rabbitmq: port 0.0.0.0:15672:15672 is published on every interface"),
    ("token written in the file", _set(["services", "attendance", "environment", "API_TOKENS"], "admin=dev-admin"),
     "attendance: API_TOKENS is written in the file"),
]


@pytest.mark.parametrize("mutate, fragment", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_checks_catch_a_broken_compose_file(doc: dict, mutate, fragment: str) -> None:
    mutate(doc)
    errors = check_compose(doc)
    assert any(fragment in e for e in errors), errors


def test_upstream_schema_catches_a_broken_file(doc: dict) -> None:
    assert "upstream" in compose_schemas(), "check-jsonschema (pinned in requirements-dev.txt) ships compose-spec.json"
    doc["services"]["scheduler"]["depends_on"]["postgres"]["condition"] = "healthy"
    assert schema_errors(doc, compose_schemas()["upstream"])
