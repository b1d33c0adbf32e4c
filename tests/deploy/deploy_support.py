"""What the deployment checks share (the services, their settings classes) and the offline
checks of the Dockerfile, the requirement locks and docker-compose.yml (no Docker engine
needed). deploy/k8s is checked with the real tools: see kube.py and k8s_rules.py.

Every check returns a list of problems (empty = fine) instead of asserting, so the tests can
also feed it broken copies and prove that each check really catches what it is meant to catch.
"""
from __future__ import annotations

import functools
import io
import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pydantic
import yaml
from dockerfile_parse import DockerfileParser

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SCHEMAS = HERE / "schemas"


@dataclass(frozen=True)
class Svc:
    folder: str   # services/<folder>, the Dockerfile's SERVICE build arg
    package: str  # python -m <package>
    port: int     # HTTP_PORT
    in_k8s: bool  # deployed by deploy/k8s/base
    uses_db: bool  # owns a schema (has migrations)
    calls_meet: bool  # talks to the Google Meet / People APIs
    uses_bus: bool = True  # talks to RabbitMQ (the console talks to the three APIs only)


SERVICES: dict[str, Svc] = {
    "scheduler": Svc("scheduler", "scheduler", 8081, True, True, True),
    "attendance": Svc("attendance", "attendance", 8082, True, True, False),
    "billing": Svc("billing", "billing", 8083, True, True, False),
    # The fetcher owns schema meet_fetcher: its caches and the Meet read limiter all replicas share.
    "meet-fetcher": Svc("meet-fetcher", "meet_fetcher", 8084, True, True, True),
    "meet-emulator": Svc("meet-emulator", "meet_emulator", 8090, False, False, False),
    # The console: pages over the three APIs; no schema, no broker.
    "console": Svc("console", "console", 8080, True, False, False, uses_bus=False),
}
FETCH_QUEUE = "meet-fetcher.fetch-requests"
MEET_PROJECT_READS_PER_MINUTE = 6000  # Google's read quota per project


# Environment variables a service's Settings class defines but that it does not act on.
IGNORED_SETTINGS = {
    "meet-fetcher": {"CONSUMER_PREFETCH": "its queue prefetch is FETCH_CONCURRENCY"},
}


@functools.cache
def settings_class(name: str) -> type | None:
    """The pydantic-settings class of a service (`<package>.settings.Settings`), or None for a
    service configured otherwise (the emulator takes flags)."""
    import importlib

    try:
        return importlib.import_module(f"{SERVICES[name].package}.settings").Settings
    except ModuleNotFoundError as exc:
        if exc.name == f"{SERVICES[name].package}.settings":
            return None
        raise


def setting_names(name: str) -> set[str]:
    cls = settings_class(name)
    return {f.upper() for f in cls.model_fields} if cls else set()


def settings_errors(name: str, env: dict[str, str], where: str, *, strict: bool = True) -> list[str]:
    """`env` as the service `name` would read it: every value must validate; with `strict`,
    every key must also be one of its settings (a typo or a retired name is silently ignored
    by the service, so it is an error here)."""
    cls = settings_class(name)
    if cls is None:
        return []
    errors = []
    known = setting_names(name)
    for key in env:
        if key.upper() in IGNORED_SETTINGS.get(name, {}):
            errors.append(f"{where}: {key} is ignored by {name} ({IGNORED_SETTINGS[name][key.upper()]})")
        elif strict and key.upper() not in known:
            errors.append(f"{where}: {key} is not a setting of {name}")
    values = {k.lower(): v for k, v in env.items() if k.upper() in known}
    try:
        cls(_env_file=None, **values)
    except pydantic.ValidationError as exc:  # report each field given here
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]).upper()
            if field.lower() in values:
                errors.append(f"{where}: {field}={values[field.lower()]!r} is invalid for {name}: {err['msg']}")
    return errors


def load_yaml_docs(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc is not None]


# --------------------------------------------------------------------------------------
# Dockerfile


def parse_dockerfile(text: str) -> list[dict]:
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()), env_replace=False)
    return parser.structure


def _image_is_pinned(ref: str) -> bool:
    if "@sha256:" in ref:
        return True
    name = ref.split("/")[-1]
    if ":" not in name:
        return False
    tag = name.rsplit(":", 1)[1]
    # A tag naming at least a minor version (3.11, 3.11.14-slim-bookworm), never latest.
    return tag != "latest" and re.match(r"^\d+\.\d+", tag) is not None


def check_dockerfile(text: str) -> list[str]:
    errors: list[str] = []
    structure = parse_dockerfile(text)
    instr = [(s["instruction"], s["value"]) for s in structure]
    froms = [v for i, v in instr if i == "FROM"]
    if not froms:
        return ["no FROM instruction"]
    stage_names = set()
    for value in froms:
        parts = value.split()
        image = parts[0]
        if len(parts) >= 3 and parts[1].lower() == "as":
            stage_names.add(parts[2])
        if image in stage_names or image == "scratch":
            continue
        if "$" in image:
            errors.append(f"FROM {image}: base image must be a literal, pinned reference")
        elif not _image_is_pinned(image):
            errors.append(f"FROM {image}: base image is not pinned to a version tag or digest")
    # The final stage must switch to a non-root user.
    last_from = max(idx for idx, (i, _) in enumerate(instr) if i == "FROM")
    users = [v for i, v in instr[last_from:] if i == "USER"]
    if not users:
        errors.append("no USER in the final stage: the image would run as root")
    else:
        user = users[-1].split(":")[0].strip()
        if user in ("root", "0", ""):
            errors.append(f"USER {users[-1]}: runs as root")
        elif not user.isdigit():
            errors.append(f"USER {users[-1]}: use a numeric uid so Kubernetes can verify runAsNonRoot")
    for i, v in instr:
        if i == "ADD" and re.search(r"(^|\s)(https?|ftp)://", v):
            errors.append(f"ADD {v}: fetches a URL at build time (download in a RUN step with a checksum)")
        if i == "ADD" and re.search(r"(^|\s)git@|\.git(\s|$)", v):
            errors.append(f"ADD {v}: fetches a git repository at build time")
    args = {v.split("=", 1)[0].strip() for i, v in instr if i == "ARG"}
    if "SERVICE" not in args:
        errors.append("ARG SERVICE is not declared")
    uses = [v for i, v in instr if i in ("COPY", "RUN", "ENV", "LABEL") and re.search(r"\$\{?SERVICE\b", v)]
    if not any(re.search(r"services/\$\{?SERVICE\}?", v) for v in uses):
        errors.append("SERVICE is never used to pick services/${SERVICE}")
    runs = " ".join(v for i, v in instr if i == "RUN")
    if not re.search(r"pip install[^&;]*-r requirements\.txt", runs):
        errors.append("requirements.txt is not installed with pip install -r")
    elif not re.search(r"pip install[^&;]*--require-hashes[^&;]*-r requirements\.txt", runs):
        errors.append("requirements.txt is installed without --require-hashes")
    if re.search(r"requirements-dev", " ".join(v for i, v in instr if i in ("COPY", "ADD", "RUN"))):
        errors.append("requirements-dev.txt (test and lint tools) must not be copied into or installed in an image")
    if not re.search(r"pip install[^&;]*--no-deps[^&;]*-e libs/common[^&;]*-e \"?services/\$\{?SERVICE", runs):
        errors.append("libs/common and services/${SERVICE} are not installed with pip install --no-deps -e")
    entry = [v for i, v in instr if i == "ENTRYPOINT"]
    if not entry:
        errors.append("no ENTRYPOINT")
    else:
        try:
            parsed = json.loads(entry[-1])
            if not isinstance(parsed, list):
                raise ValueError
        except ValueError:
            errors.append("ENTRYPOINT must use the exec (JSON) form so the service gets SIGTERM")
    if "python -m" not in text:
        errors.append("the entrypoint does not run python -m <package>")
    return errors


def dockerfile_copy_sources(text: str, service: str) -> list[str]:
    """The build-context paths COPY reads for one SERVICE value."""
    sources = []
    for s in parse_dockerfile(text):
        if s["instruction"] not in ("COPY", "ADD"):
            continue
        parts = [p for p in shlex.split(s["value"]) if not p.startswith("--")]
        for src in parts[:-1]:
            sources.append(re.sub(r"\$\{?SERVICE\}?", service, src))
    return sources


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Docker's rule: a pattern applies to a path when it matches the path or one of its
    parent folders; the last pattern that applies wins, and `!` re-includes."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for raw in patterns:
        neg = raw.startswith("!")
        pat = (raw[1:] if neg else raw).strip().lstrip("/")
        if any(_dockerignore_match(pat, p) for p in prefixes):
            excluded = not neg
    return excluded


def _dockerignore_match(pattern: str, path: str) -> bool:
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex += "(.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            regex += ".*"
            i += 2
        elif pattern[i] == "*":
            regex += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            regex += "[^/]"
            i += 1
        else:
            regex += re.escape(pattern[i])
            i += 1
    return re.fullmatch(regex, path) is not None


def read_dockerignore() -> list[str]:
    path = REPO / ".dockerignore"
    lines = path.read_text().splitlines() if path.exists() else []
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


# --------------------------------------------------------------------------------------
# requirements.txt (run time, what the images install) and requirements-dev.txt (everything a
# developer's venv holds): locks with hashes, generated by `make lock` from the packages' pyprojects
# and requirements*.in

DEV_ONLY = {"pytest", "pytest-asyncio", "pytest-timeout", "hypothesis", "ruff", "jsonschema",
            "kubernetes-validate", "dockerfile-parse", "check-jsonschema", "uv"}
LOCAL_PACKAGES = {"academy_common", *(s.package for s in SERVICES.values())}
LOCAL_DISTRIBUTIONS = {"academy-common", *SERVICES}
PACKAGE_FOLDERS = [REPO / "libs" / "common", *(REPO / "services" / s.folder for s in SERVICES.values())]
RUNTIME_SOURCES = [REPO / "libs" / "common" / "academy_common",
                   *(REPO / "services" / s.folder / s.package for s in SERVICES.values())]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(text: str) -> tuple[dict[str, str], list[str], list[str]]:
    """`name==version --hash=sha256:...` entries -> ({canonical name: version}, included files, problems)."""
    pins: dict[str, str] = {}
    includes, problems = [], []
    for n, raw in enumerate(text.replace("\\\n", " ").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "-c ")):
            includes.append(line[3:].strip())
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][^\s;]*)((?:\s+--hash=sha256:[0-9a-f]{64})*)", line)
        if not m:
            problems.append(f"entry {n}: {line[:60]!r} is not pinned as name==version --hash=sha256:...")
            continue
        name = canonical(m.group(1))
        if not m.group(3):
            problems.append(f"entry {n}: {m.group(1)} has no hash (pip install --require-hashes refuses it)")
        if name in pins:
            problems.append(f"entry {n}: {m.group(1)} is pinned twice")
        pins[name] = m.group(2)
    return pins, includes, problems


def declared_dependencies(folders: Iterable[Path] = PACKAGE_FOLDERS) -> dict[str, list[str]]:
    """pyproject `[project] dependencies` of every monorepo package -> {package folder: requirements}."""
    import tomllib

    return {str(folder.relative_to(REPO)): tomllib.loads((folder / "pyproject.toml").read_text())["project"]
            .get("dependencies", []) for folder in folders}


def imported_distributions(sources: Iterable[Path] = RUNTIME_SOURCES) -> dict[str, set[str]]:
    """Third-party top-level modules the run-time code imports -> distributions providing them."""
    import ast
    import sys
    from importlib.metadata import packages_distributions

    modules: set[str] = set()
    for root in sources:
        for path in root.rglob("*.py"):
            if "tests" in path.relative_to(root).parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    modules.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    providers = packages_distributions()
    return {m: {canonical(d) for d in providers.get(m, [])} for m in sorted(modules)
            if m not in sys.stdlib_module_names and m not in LOCAL_PACKAGES}


def lock_errors(runtime_text: str, dev_text: str, imports: dict[str, set[str]] | None = None,
                declared: dict[str, list[str]] | None = None) -> list[str]:
    """requirements.txt: hashed pins of the packages' declared dependencies, the services' imports
    and their whole dependency closure, no tools; requirements-dev.txt: all of that at the same
    versions, plus the tools and their closure, hashed too."""
    runtime, rt_includes, problems = parse_lock(runtime_text)
    errors = [f"requirements.txt {p}" for p in problems]
    if rt_includes:
        errors.append(f"requirements.txt includes {rt_includes}: it must be self-contained")
    dev, dev_includes, problems = parse_lock(dev_text)
    errors += [f"requirements-dev.txt {p}" for p in problems]
    if dev_includes:
        errors.append(f"requirements-dev.txt includes {dev_includes}: a lock is self-contained")
    errors += [f"requirements-dev.txt lacks {name}=={version} of requirements.txt"
               for name, version in sorted(runtime.items()) if dev.get(name) != version]
    errors += [f"requirements.txt pins {name}, a test/lint tool: it belongs in requirements-dev.in"
               for name in sorted(DEV_ONLY & set(runtime))]
    errors += _declared_errors(runtime, declared if declared is not None else declared_dependencies())
    for module, dists in (imports if imports is not None else imported_distributions()).items():
        if not dists:
            errors.append(f"run-time code imports {module}, which no installed distribution provides")
        elif not dists & set(runtime):
            errors.append(f"run-time code imports {module} ({', '.join(sorted(dists))}), not in requirements.txt")
    return errors + _closure_errors(runtime, runtime, "requirements.txt") + _closure_errors(dev, dev, "requirements-dev.txt")


def _declared_errors(runtime: dict[str, str], declared: dict[str, list[str]]) -> list[str]:
    from packaging.requirements import Requirement

    errors = []
    for folder, specs in declared.items():
        for req in map(Requirement, specs):
            name = canonical(req.name)
            if name in LOCAL_DISTRIBUTIONS:
                continue
            if name not in runtime:
                errors.append(f"{folder} declares {req.name}, which requirements.txt does not pin (make lock)")
            elif not req.specifier.contains(runtime[name], prereleases=True):
                errors.append(f"{folder} declares {req}, requirements.txt pins {runtime[name]} (make lock)")
    return errors


def _closure_errors(lock: dict[str, str], pins: dict[str, str], label: str) -> list[str]:
    """Every pin is what is installed here, and every dependency of a pin is pinned, compatibly."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    errors = []
    for name, version in sorted(pins.items()):
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            errors.append(f"{label}: {name} is not installed here; cannot check its dependencies")
            continue
        if dist.version != version:
            errors.append(f"{label}: {name}=={version} but {dist.version} is installed")
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker and not req.marker.evaluate({"extra": ""}):
                continue
            dep = canonical(req.name)
            if dep not in lock:
                errors.append(f"{label}: {name} needs {req.name}, which is not pinned in {label}")
            elif not req.specifier.contains(lock[dep], prereleases=True):
                errors.append(f"{label}: {name} needs {req}, pinned {dep}=={lock[dep]}")
    return errors


# --------------------------------------------------------------------------------------
# docker-compose.yml


@functools.cache
def compose_schemas() -> dict[str, dict]:
    schemas = {"reduced": json.loads((SCHEMAS / "compose-spec.reduced.json").read_text())}
    try:  # the official compose-spec schema, as vendored by check-jsonschema (optional)
        from importlib import resources

        ref = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
        schemas["upstream"] = json.loads(ref.read_text())
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    return schemas


def schema_errors(instance: Any, schema: dict) -> list[str]:
    cls = jsonschema.validators.validator_for(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
            for e in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))]


def _duration_s(text: str) -> float:
    units = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    total = 0.0
    for num, unit in re.findall(r"([0-9.]+)(ns|us|ms|s|m|h)", str(text)):
        total += float(num) * units[unit]
    return total


def _env_dict(env: Any) -> dict[str, str]:
    if isinstance(env, dict):
        return {k: "" if v is None else str(v) for k, v in env.items()}
    out = {}
    for item in env or []:
        key, _, value = str(item).partition("=")
        out[key] = value
    return out


def _hosts_in(value: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"://(?:[^@/\s]*@)?([A-Za-z0-9._-]+)(?::\d+)?", value)]


ENV_EXAMPLE = REPO / ".env.example"
_VARIABLE = re.compile(r"\$\{(\w+)(?::?([?-])([^}]*))?\}")
# Settings that must not be written in docker-compose.yml: they come from .env.
FROM_ENV_FILE = ("API_TOKENS",)


def env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """KEY=VALUE lines of a compose .env file (comments and blank lines skipped)."""
    lines = (line.strip() for line in path.read_text().splitlines())
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def compose_variables(doc: Any) -> set[str]:
    return {m.group(1) for m in _VARIABLE.finditer(json.dumps(doc))}


def interpolate(doc: Any, env: dict[str, str]) -> Any:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}` in every string, from `env`;
    a required variable that is missing raises KeyError (compose refuses to start)."""
    def value(m: re.Match) -> str:
        name, op, arg = m.groups()
        if env.get(name):
            return env[name]
        if op == "?":
            raise KeyError(f"{name}: {arg}")
        return arg if op == "-" else ""

    if isinstance(doc, dict):
        return {k: interpolate(v, env) for k, v in doc.items()}
    if isinstance(doc, list):
        return [interpolate(v, env) for v in doc]
    return _VARIABLE.sub(value, doc) if isinstance(doc, str) else doc


def exposure_errors(doc: dict) -> list[str]:
    """The raw file: published ports on the host's loopback only; no token written in it."""
    errors = []
    for name, svc in (doc.get("services") or {}).items():
        for port in svc.get("ports") or []:
            if not str(port).startswith("127.0.0.1:"):
                errors.append(f"{name}: port {port} is published on every interface, not on 127.0.0.1")
        env = _env_dict(svc.get("environment"))
        for key in FROM_ENV_FILE:
            if key in env and not _VARIABLE.fullmatch(env[key]):
                errors.append(f"{name}: {key} is written in the file; take it from .env (${{{key}:?...}})")
    return errors


def check_compose(raw: dict, env: dict[str, str] | None = None) -> list[str]:
    """The raw file's exposure rules, then the file as compose runs it with `env` (by
    default .env.example) against the schema and this project's rules."""
    errors = exposure_errors(raw)
    try:
        doc = interpolate(raw, env_file() if env is None else env)
    except KeyError as exc:
        return [*errors, f"variable {exc.args[0]}"]
    errors += [f"schema: {e}" for e in schema_errors(doc, compose_schemas()["reduced"])]
    services: dict = doc.get("services") or {}
    names = set(services)
    for required in ("postgres", "rabbitmq", *SERVICES):
        if required not in names:
            errors.append(f"service {required} is missing")
    pg = services.get("postgres") or {}
    if not str(pg.get("image", "")).startswith("postgres:16"):
        errors.append("postgres must run image postgres:16")
    if "pg_isready" not in json.dumps((pg.get("healthcheck") or {}).get("test", "")):
        errors.append("postgres healthcheck must use pg_isready")
    mq = services.get("rabbitmq") or {}
    if not str(mq.get("image", "")).startswith("rabbitmq:3.13-management"):
        errors.append("rabbitmq must run image rabbitmq:3.13-management")
    mq_test = json.dumps((mq.get("healthcheck") or {}).get("test", ""))
    if "rabbitmq-diagnostics" not in mq_test or "ping" not in mq_test:
        errors.append("rabbitmq healthcheck must use rabbitmq-diagnostics ping")

    for name, svc in services.items():
        image = svc.get("image")
        if image and not svc.get("build") and (":" not in image.split("/")[-1] or image.endswith(":latest")):
            errors.append(f"{name}: image {image} has no explicit version tag")
        # depends_on: existing services, waited on until healthy.
        deps = svc.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        for dep, spec in deps.items():
            if dep not in names:
                errors.append(f"{name}: depends_on unknown service {dep}")
                continue
            if dep == name:
                errors.append(f"{name}: depends on itself")
            cond = (spec or {}).get("condition")
            if cond != "service_healthy":
                errors.append(f"{name}: depends_on {dep} with condition {cond}, expected service_healthy")
            elif not (services[dep].get("healthcheck") or {}).get("test"):
                errors.append(f"{name}: waits for {dep} to be healthy but {dep} has no healthcheck")
        # URLs in the environment point at services of this file.
        env = _env_dict(svc.get("environment"))
        for key, value in env.items():
            if key.endswith(("_URL", "_ENDPOINT")):
                for host in _hosts_in(value):
                    if host not in names and host not in ("localhost", "127.0.0.1"):
                        errors.append(f"{name}: {key} points at {host}, which is not a service")
                    elif host in names and host not in deps:
                        errors.append(f"{name}: {key} uses {host} but does not depend on it")

    for name, spec in SERVICES.items():
        svc = services.get(name)
        if not svc:
            continue
        build = svc.get("build")
        if not isinstance(build, dict):
            errors.append(f"{name}: build must be an object with context, dockerfile and args")
            continue
        if build.get("context") not in (".", "./"):
            errors.append(f"{name}: build context must be the repository root")
        if build.get("dockerfile", "Dockerfile") != "Dockerfile":
            errors.append(f"{name}: must build with the root Dockerfile")
        service_arg = _env_dict(build.get("args")).get("SERVICE")
        if service_arg != spec.folder:
            errors.append(f"{name}: build arg SERVICE={service_arg!r}, expected {spec.folder!r}")
        env = _env_dict(svc.get("environment"))
        if name == "meet-emulator":  # configured by flags (python -m meet_emulator --host H --port P)
            cmd = svc.get("command") or []
            cmd = cmd.split() if isinstance(cmd, str) else [str(c) for c in cmd]
            if "--port" not in cmd or cmd[cmd.index("--port") + 1:][:1] != [str(spec.port)]:
                errors.append(f"{name}: command must pass --port {spec.port}")
            if "--host" not in cmd or cmd[cmd.index("--host") + 1:][:1] != ["0.0.0.0"]:
                errors.append(f"{name}: command must pass --host 0.0.0.0 (it listens on 127.0.0.1 by default)")
        elif env.get("HTTP_PORT") != str(spec.port):
            errors.append(f"{name}: HTTP_PORT={env.get('HTTP_PORT')!r}, expected {spec.port}")
        if name != "meet-emulator":
            for key in ("AMQP_URL", "API_TOKENS", "ACADEMY_TIMEZONE"):
                if not env.get(key) and (key != "AMQP_URL" or spec.uses_bus):
                    errors.append(f"{name}: environment {key} is not set")
            if spec.calls_meet:
                for key in ("MEET_API_ENDPOINT", "PEOPLE_API_ENDPOINT"):
                    if not env.get(key):
                        errors.append(f"{name}: environment {key} is not set (compose runs against the emulator)")
            if spec.uses_db and not env.get("DATABASE_URL"):
                errors.append(f"{name}: environment DATABASE_URL is not set")
            if name == "meet-fetcher":
                for key in ("MEET_READS_PER_MINUTE", "FETCH_CONCURRENCY"):
                    if not env.get(key):
                        errors.append(f"{name}: environment {key} is not set")
            errors.extend(settings_errors(name, env, f"{name}: environment"))
            if _duration_s(svc.get("stop_grace_period", "10s")) < 30:
                errors.append(f"{name}: stop_grace_period must cover the 25 s drain")
        test = json.dumps((svc.get("healthcheck") or {}).get("test", ""))
        if "/healthz" not in test or str(spec.port) not in test:
            errors.append(f"{name}: healthcheck must probe /healthz on port {spec.port}")
        published = [str(p) for p in svc.get("ports") or []]
        if not any(p.endswith(f":{spec.port}") or p == str(spec.port) for p in published):
            errors.append(f"{name}: port {spec.port} is not published")

    # No dependency cycles (compose would refuse to start).
    graph = {n: set((s.get("depends_on") or {}) if isinstance(s.get("depends_on"), dict)
                    else (s.get("depends_on") or [])) for n, s in services.items()}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            errors.append("depends_on cycle: " + " -> ".join(path + [node]))
            return
        state[node] = 1
        for nxt in graph.get(node, ()):
            if nxt in graph:
                visit(nxt, path + [node])
        state[node] = 2

    for node in graph:
        visit(node, [])
    return errors


