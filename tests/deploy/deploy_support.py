"""Offline checks of the deployment files: Dockerfile, docker-compose.yml, deploy/k8s.

No Docker engine, kubectl or cluster is needed. Every check returns a list of problems
(empty = fine) instead of asserting, so the tests can also feed it broken copies of the
manifests and prove that each check really catches what it is meant to catch.
"""
from __future__ import annotations

import copy
import functools
import io
import json
import re
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pydantic
import yaml
from dockerfile_parse import DockerfileParser
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SCHEMAS = HERE / "schemas"
K8S = REPO / "deploy" / "k8s"
K8S_VERSION = "1.30"  # schemas shipped with kubernetes-validate


@dataclass(frozen=True)
class Svc:
    folder: str   # services/<folder>, the Dockerfile's SERVICE build arg
    package: str  # python -m <package>
    port: int     # HTTP_PORT
    in_k8s: bool  # deployed by deploy/k8s/base
    uses_db: bool  # owns a schema (has migrations)
    calls_meet: bool  # talks to the Google Meet / People APIs


SERVICES: dict[str, Svc] = {
    "scheduler": Svc("scheduler", "scheduler", 8081, True, True, True),
    "attendance": Svc("attendance", "attendance", 8082, True, True, False),
    "billing": Svc("billing", "billing", 8083, True, True, False),
    # The fetcher owns schema meet_fetcher: its caches and the Meet read limiter all replicas share.
    "meet-fetcher": Svc("meet-fetcher", "meet_fetcher", 8084, True, True, True),
    "meet-emulator": Svc("meet-emulator", "meet_emulator", 8090, False, False, False),
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
# requirements.txt (run time, what the images install) and requirements-dev.txt (tools)

DEV_ONLY = {"pytest", "pytest-asyncio", "pytest-timeout", "hypothesis", "ruff", "jsonschema",
            "kubernetes-validate", "dockerfile-parse", "check-jsonschema"}
LOCAL_PACKAGES = {"academy_common", *(s.package for s in SERVICES.values())}
RUNTIME_SOURCES = [REPO / "libs" / "common" / "academy_common",
                   *(REPO / "services" / s.folder / s.package for s in SERVICES.values())]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(text: str) -> tuple[dict[str, str], list[str], list[str]]:
    """`name==version` lines -> ({canonical name: version}, included files, problems)."""
    pins: dict[str, str] = {}
    includes, problems = [], []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            includes.append(line[3:].strip())
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][^\s;]*)", line)
        if not m:
            problems.append(f"line {n}: {line!r} is not pinned as name==version")
            continue
        name = canonical(m.group(1))
        if name in pins:
            problems.append(f"line {n}: {m.group(1)} is pinned twice")
        pins[name] = m.group(2)
    return pins, includes, problems


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


def lock_errors(runtime_text: str, dev_text: str, imports: dict[str, set[str]] | None = None) -> list[str]:
    """requirements.txt: pinned, the services' imports and their whole dependency closure, no
    tools; requirements-dev.txt: -r requirements.txt, then the rest of the environment, pinned."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    errors = []
    runtime, rt_includes, problems = parse_lock(runtime_text)
    errors += [f"requirements.txt {p}" for p in problems]
    if rt_includes:
        errors.append(f"requirements.txt includes {rt_includes}: it must be self-contained")
    dev, dev_includes, problems = parse_lock(dev_text)
    errors += [f"requirements-dev.txt {p}" for p in problems]
    if dev_includes != ["requirements.txt"]:
        errors.append(f"requirements-dev.txt must include requirements.txt (-r), not {dev_includes}")
    for name in sorted(set(runtime) & set(dev)):
        errors.append(f"{name} is pinned in both files")
    for name in sorted(DEV_ONLY & set(runtime)):
        errors.append(f"requirements.txt pins {name}, a test/lint tool: it belongs in requirements-dev.txt")
    for module, dists in (imports if imports is not None else imported_distributions()).items():
        if not dists:
            errors.append(f"run-time code imports {module}, which no installed distribution provides")
        elif not dists & set(runtime):
            errors.append(f"run-time code imports {module} ({', '.join(sorted(dists))}), not in requirements.txt")
    for lock, pins, label in ((runtime, runtime, "requirements.txt"), (runtime | dev, dev, "requirements-dev.txt")):
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
                    errors.append(f"{label}: {name} needs {req.name}, which is not pinned"
                                  + (" in requirements.txt" if label == "requirements.txt" else ""))
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


def check_compose(doc: dict) -> list[str]:
    errors = [f"schema: {e}" for e in schema_errors(doc, compose_schemas()["reduced"])]
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
                if not env.get(key):
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


# --------------------------------------------------------------------------------------
# Kustomize, the subset this project uses (resources, namespace, images, replicas and
# strategic-merge patches). Anything else makes the loader fail loudly rather than render
# something kustomize would not.

KUSTOMIZATION_KEYS = {"apiVersion", "kind", "resources", "namespace", "images", "replicas", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PersistentVolume", "StorageClass", "PriorityClass", "ClusterTriggerAuthentication",
                  "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
# Strategic-merge keys of the built-in list fields we may patch.
MERGE_KEYS = {"containers": "name", "initContainers": "name", "volumes": "name", "env": "name",
              "volumeMounts": "mountPath", "imagePullSecrets": "name"}


class KustomizeError(Exception):
    pass


def render(kdir: Path) -> list[dict]:
    kfile = next((kdir / n for n in ("kustomization.yaml", "kustomization.yml", "Kustomization")
                  if (kdir / n).exists()), None)
    if kfile is None:
        raise KustomizeError(f"no kustomization in {kdir}")
    k = yaml.safe_load(kfile.read_text()) or {}
    unknown = set(k) - KUSTOMIZATION_KEYS
    if unknown:
        raise KustomizeError(f"{kfile}: unsupported kustomization fields {sorted(unknown)}")
    objs: list[dict] = []
    for entry in k.get("resources") or []:
        path = (kdir / entry).resolve()
        if path.is_dir():
            objs.extend(render(path))
        elif path.is_file():
            objs.extend(load_yaml_docs(path))
        else:
            raise KustomizeError(f"{kfile}: resource {entry} does not exist")
    seen = set()
    for o in objs:
        key = ident(o)
        if key in seen:
            raise KustomizeError(f"{kfile}: duplicate resource {key}")
        seen.add(key)
    for p in k.get("patches") or []:
        if "path" in p:
            patch_docs = load_yaml_docs(kdir / p["path"])
        elif "patch" in p:
            patch_docs = [d for d in yaml.safe_load_all(p["patch"]) if d is not None]
        else:
            raise KustomizeError(f"{kfile}: patch without path or patch")
        for patch in patch_docs:
            if not isinstance(patch, dict):
                raise KustomizeError(f"{kfile}: only strategic-merge patches are supported")
            _apply_patch(objs, patch, p.get("target"), kfile)
    ns = k.get("namespace")
    if ns:
        for o in objs:
            if o.get("kind") not in CLUSTER_SCOPED:
                o.setdefault("metadata", {})["namespace"] = ns
    for img in k.get("images") or []:
        for o in objs:
            for c in iter_containers(o):
                name, tag, digest = split_image(c.get("image", ""))
                if name == img["name"]:
                    new_name = img.get("newName", name)
                    if "digest" in img:
                        c["image"] = f"{new_name}@{img['digest']}"
                    elif "newTag" in img:
                        c["image"] = f"{new_name}:{img['newTag']}"
                    else:
                        c["image"] = new_name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    for rep in k.get("replicas") or []:
        hits = [o for o in objs if o.get("kind") in ("Deployment", "StatefulSet", "ReplicaSet")
                and o["metadata"]["name"] == rep["name"]]
        if not hits:
            raise KustomizeError(f"{kfile}: replicas for unknown workload {rep['name']}")
        for o in hits:
            o["spec"]["replicas"] = rep["count"]
    return objs


def _apply_patch(objs: list[dict], patch: dict, target: dict | None, kfile: Path) -> None:
    def matches(o: dict) -> bool:
        if target:
            for field, value in target.items():
                if field == "name" and o["metadata"]["name"] != value:
                    return False
                if field == "kind" and o.get("kind") != value:
                    return False
                if field not in ("name", "kind", "group", "version"):
                    raise KustomizeError(f"{kfile}: unsupported patch target field {field}")
            return True
        return (o.get("kind") == patch.get("kind") and o["metadata"]["name"] == patch["metadata"]["name"]
                and o.get("apiVersion", "").split("/")[0] == patch.get("apiVersion", "").split("/")[0])

    hits = [o for o in objs if matches(o)]
    if not hits:
        what = f"{patch.get('kind')}/{(patch.get('metadata') or {}).get('name')}"
        raise KustomizeError(f"{kfile}: patch {what} matches nothing")
    for o in hits:
        body = {k: v for k, v in patch.items() if k not in ("apiVersion", "kind")}
        if target:
            body.get("metadata", {}).pop("name", None)
        merged = strategic_merge(o, body, builtin=is_builtin(o))
        o.clear()
        o.update(merged)


def strategic_merge(base: Any, patch: Any, *, builtin: bool, key: str | None = None) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            elif k in out:
                out[k] = strategic_merge(out[k], v, builtin=builtin, key=k)
            else:
                out[k] = copy.deepcopy(v)
        return out
    if isinstance(base, list) and isinstance(patch, list) and builtin and key in MERGE_KEYS:
        mk = MERGE_KEYS[key]
        out = copy.deepcopy(base)
        for item in patch:
            idx = next((i for i, b in enumerate(out) if isinstance(b, dict) and b.get(mk) == item.get(mk)), None)
            if idx is None:
                out.append(copy.deepcopy(item))
            else:
                out[idx] = strategic_merge(out[idx], item, builtin=builtin)
        return out
    return copy.deepcopy(patch)


def split_image(ref: str) -> tuple[str, str | None, str | None]:
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    name, tag = ref, None
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = ref.rsplit(":", 1)
    return name, tag, digest


def ident(o: dict) -> tuple[str, str, str, str]:
    meta = o.get("metadata") or {}
    return (o.get("apiVersion", ""), o.get("kind", ""), meta.get("namespace") or "", meta.get("name", ""))


# --------------------------------------------------------------------------------------
# Kubernetes objects

CRD_GROUPS = {"keda.sh", "rabbitmq.com", "postgresql.cnpg.io"}
CRD_SCHEMAS = {
    ("keda.sh", "ScaledObject"): "scaledobject.keda.sh.yaml",
    ("keda.sh", "TriggerAuthentication"): "triggerauthentication.keda.sh.yaml",
    ("rabbitmq.com", "RabbitmqCluster"): "rabbitmqcluster.rabbitmq.com.yaml",
    ("postgresql.cnpg.io", "Cluster"): "cluster.postgresql.cnpg.io.yaml",
}


def _group(o: dict) -> str:
    api = o.get("apiVersion", "")
    return api.split("/")[0] if "/" in api else ""


def is_builtin(o: dict) -> bool:
    """Core and *.k8s.io API groups are built in; any other dotted group is a custom resource."""
    group = _group(o)
    return group not in CRD_GROUPS and ("." not in group or group.endswith(".k8s.io"))


def pod_spec(o: dict) -> dict | None:
    kind = o.get("kind")
    if kind == "Pod":
        return o.get("spec")
    if kind in WORKLOAD_KINDS:
        return ((o.get("spec") or {}).get("template") or {}).get("spec")
    if kind == "CronJob":
        return o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def pod_labels(o: dict) -> dict | None:
    kind = o.get("kind")
    if kind == "Pod":
        return (o.get("metadata") or {}).get("labels") or {}
    if kind in WORKLOAD_KINDS:
        return ((o["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
    return None


def iter_containers(o: dict, init: bool = True) -> Iterator[dict]:
    spec = pod_spec(o)
    if not spec:
        return
    yield from spec.get("containers") or []
    if init:
        yield from spec.get("initContainers") or []


@dataclass
class PodGroup:
    """Pods that a resource creates: its labels and named/numbered container ports."""
    owner: str
    namespace: str
    labels: dict
    ports: dict  # name -> number, and str(number) -> number


def pod_groups(objs: list[dict]) -> list[PodGroup]:
    groups = []
    for o in objs:
        ns = (o.get("metadata") or {}).get("namespace") or ""
        labels = pod_labels(o)
        if labels is not None:
            ports = {}
            for c in iter_containers(o):
                for p in c.get("ports") or []:
                    ports[str(p["containerPort"])] = p["containerPort"]
                    if p.get("name"):
                        ports[p["name"]] = p["containerPort"]
            groups.append(PodGroup(f"{o['kind']}/{o['metadata']['name']}", ns, labels, ports))
        elif o.get("kind") == "RabbitmqCluster":  # labels set by the RabbitMQ cluster operator
            name = o["metadata"]["name"]
            groups.append(PodGroup(f"RabbitmqCluster/{name}", ns,
                                   {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "rabbitmq",
                                    "app.kubernetes.io/part-of": "rabbitmq"},
                                   {"amqp": 5672, "5672": 5672, "management": 15672, "15672": 15672,
                                    "prometheus": 15692, "15692": 15692}))
        elif o.get("kind") == "Cluster" and _group(o) == "postgresql.cnpg.io":  # labels set by CloudNativePG
            name = o["metadata"]["name"]
            groups.append(PodGroup(f"Cluster/{name}", ns, {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance"},
                                   {"postgresql": 5432, "5432": 5432, "metrics": 9187, "9187": 9187,
                                    "status": 8000, "8000": 8000}))
    return groups


def selector_matches(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) against a label set; an empty
    selector matches everything."""
    selector = selector or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _by_kind(objs: list[dict], kind: str) -> dict[tuple[str, str], dict]:
    return {((o["metadata"].get("namespace") or ""), o["metadata"]["name"]): o for o in objs if o.get("kind") == kind}


def _data_keys(o: dict) -> set[str]:
    return set(o.get("data") or {}) | set(o.get("stringData") or {}) | set(o.get("binaryData") or {})


@functools.cache
def _k8s_validator(api_version: str, kind: str, version: str) -> jsonschema.protocols.Validator | None:
    """The validator kubernetes_validate.validate() builds (its strict offline schemas),
    kept so that every error of an object is reported, not just the first."""
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    schema_version = [v for v in utils.all_versions() if Version(v) <= Version(version)][-1]
    schema_dir = f"kubernetes-json-schema/v{schema_version}-local-strict"
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = utils.schema_contents(f"{schema_dir}/{kind.lower()}-{api}.json", version)
    except FileNotFoundError:
        return None
    defs = utils.schema_contents(f"{schema_dir}/_definitions.json", version)
    registry = Resource.from_contents(defs) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def validate_builtin(objs: list[dict], version: str = K8S_VERSION) -> list[str]:
    """Every built-in object against the Kubernetes OpenAPI schemas shipped with
    kubernetes-validate (strict: unknown fields are errors)."""
    errors = []
    for o in objs:
        if not is_builtin(o):
            continue
        where = f"{o.get('kind')}/{(o.get('metadata') or {}).get('name')}"
        validator = _k8s_validator(o.get("apiVersion", ""), o.get("kind", ""), version)
        if validator is None:
            errors.append(f"{where}: no Kubernetes {version} schema for {o.get('apiVersion')} {o.get('kind')}")
            continue
        for e in sorted(validator.iter_errors(o), key=lambda e: list(map(str, e.absolute_path))):
            errors.append(f"{where}: {'/'.join(str(p) for p in e.absolute_path)}: {e.message}")
    return errors


def validate_builtin_with_library(o: dict, version: str = K8S_VERSION) -> str | None:
    """kubernetes_validate's own entry point (first error only), as a cross-check."""
    try:
        kubernetes_validate.validate(o, version, strict=True)
    except kubernetes_validate.ValidationError as e:
        return e.message
    return None


@functools.cache
def _crd_schema(filename: str) -> dict:
    return yaml.safe_load((SCHEMAS / "crds" / filename).read_text())


def validate_crds(objs: list[dict]) -> list[str]:
    errors = []
    for o in objs:
        if is_builtin(o):
            continue
        where = f"{o.get('kind')}/{(o.get('metadata') or {}).get('name')}"
        schema_file = CRD_SCHEMAS.get((_group(o), o.get("kind")))
        if schema_file is None:
            errors.append(f"{where}: custom resource {o.get('apiVersion')} {o.get('kind')} has no structural schema")
            continue
        errors.extend(f"{where}: {e}" for e in schema_errors(o, _crd_schema(schema_file)))
    return errors


def _port_ok(port: Any, ports: dict) -> bool:
    return str(port) in ports


def cross_references(objs: list[dict]) -> list[str]:
    errors: list[str] = []
    groups = pod_groups(objs)
    configmaps, secrets = _by_kind(objs, "ConfigMap"), _by_kind(objs, "Secret")
    deployments = _by_kind(objs, "Deployment")
    sas = _by_kind(objs, "ServiceAccount")
    trigger_auths = _by_kind(objs, "TriggerAuthentication")

    def pods_for(ns: str, selector: dict | None) -> list[PodGroup]:
        return [g for g in groups if g.namespace == ns and selector_matches(selector, g.labels)]

    for o in objs:
        kind, meta = o.get("kind"), o.get("metadata") or {}
        ns, name = meta.get("namespace") or "", meta.get("name")
        where = f"{kind}/{name}"
        spec = o.get("spec") or {}

        if kind in WORKLOAD_KINDS and kind != "Job":
            sel = spec.get("selector") or {}
            if not sel or not selector_matches(sel, pod_labels(o) or {}):
                errors.append(f"{where}: spec.selector does not match its own pod template labels")

        ps = pod_spec(o)
        if ps is not None:
            sa = ps.get("serviceAccountName")
            if sa and (ns, sa) not in sas:
                errors.append(f"{where}: serviceAccountName {sa} does not exist")
            volumes = {v["name"]: v for v in ps.get("volumes") or []}
            for v in volumes.values():
                if "configMap" in v:
                    ref, keys = v["configMap"], [i["key"] for i in v["configMap"].get("items") or []]
                    target = configmaps.get((ns, ref["name"]))
                    if target is None and not ref.get("optional"):
                        errors.append(f"{where}: volume {v['name']} uses missing ConfigMap {ref['name']}")
                    for k in keys if target else []:
                        if k not in _data_keys(target):
                            errors.append(f"{where}: volume {v['name']} uses missing key {k} "
                                          f"of ConfigMap {ref['name']}")
                if "secret" in v:
                    ref, keys = v["secret"], [i["key"] for i in v["secret"].get("items") or []]
                    target = secrets.get((ns, ref["secretName"]))
                    if target is None and not ref.get("optional"):
                        errors.append(f"{where}: volume {v['name']} uses missing Secret {ref['secretName']}")
                    for k in keys if target else []:
                        if k not in _data_keys(target):
                            errors.append(f"{where}: volume {v['name']} uses missing key {k} "
                                          f"of Secret {ref['secretName']}")
            for c in iter_containers(o):
                cname = f"{where} container {c.get('name')}"
                ports = {}
                for p in c.get("ports") or []:
                    ports[str(p["containerPort"])] = p["containerPort"]
                    if p.get("name"):
                        ports[p["name"]] = p["containerPort"]
                for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
                    probe = c.get(probe_name) or {}
                    for handler in ("httpGet", "tcpSocket", "grpc"):
                        if handler in probe and not _port_ok(probe[handler].get("port"), ports):
                            port = probe[handler].get("port")
                            errors.append(f"{cname}: {probe_name} port {port} is not a container port")
                for ef in c.get("envFrom") or []:
                    if "configMapRef" in ef:
                        ref = ef["configMapRef"]
                        if (ns, ref["name"]) not in configmaps and not ref.get("optional"):
                            errors.append(f"{cname}: envFrom ConfigMap {ref['name']} does not exist")
                    if "secretRef" in ef:
                        ref = ef["secretRef"]
                        if (ns, ref["name"]) not in secrets and not ref.get("optional"):
                            errors.append(f"{cname}: envFrom Secret {ref['name']} does not exist")
                for env in c.get("env") or []:
                    vf = env.get("valueFrom") or {}
                    for ref_kind, store, label in (("configMapKeyRef", configmaps, "ConfigMap"),
                                                   ("secretKeyRef", secrets, "Secret")):
                        if ref_kind in vf:
                            ref = vf[ref_kind]
                            target = store.get((ns, ref["name"]))
                            if target is None:
                                if not ref.get("optional"):
                                    errors.append(f"{cname}: env {env['name']} uses missing {label} {ref['name']}")
                            elif ref["key"] not in _data_keys(target):
                                errors.append(f"{cname}: env {env['name']} uses missing key {ref['key']} "
                                              f"of {label} {ref['name']}")
                for vm in c.get("volumeMounts") or []:
                    if vm["name"] not in volumes:
                        errors.append(f"{cname}: volumeMount {vm['name']} has no volume")

        if kind == "Service" and spec.get("selector"):
            matched = pods_for(ns, {"matchLabels": spec["selector"]})
            if not matched:
                errors.append(f"{where}: selector {spec['selector']} matches no pods")
            for p in spec.get("ports") or []:
                target = p.get("targetPort", p.get("port"))
                for g in matched:
                    if not _port_ok(target, g.ports):
                        errors.append(f"{where}: targetPort {target} is not a port of {g.owner}")

        if kind == "PodDisruptionBudget" and all(g.owner.startswith("Job/") for g in pods_for(ns, spec.get("selector"))):
            errors.append(f"{where}: selector matches no long-running pods")

        if kind == "NetworkPolicy":
            selected = pods_for(ns, spec.get("podSelector"))
            if not selected:
                errors.append(f"{where}: podSelector matches no pods")
            for rule in spec.get("ingress") or []:
                for peer in rule.get("from") or []:
                    within = "podSelector" in peer and "namespaceSelector" not in peer
                    if within and not pods_for(ns, peer["podSelector"]):
                        errors.append(f"{where}: ingress from podSelector {peer['podSelector']} matches no pods")
                for port in rule.get("ports") or []:
                    p = port.get("port")
                    if isinstance(p, str) and selected and not any(p in g.ports for g in selected):
                        errors.append(f"{where}: named port {p} is not a port of the selected pods")

        if kind == "ScaledObject":
            ref = spec.get("scaleTargetRef") or {}
            if ref.get("kind", "Deployment") != "Deployment" or (ns, ref.get("name")) not in deployments:
                target_name = f"{ref.get('kind', 'Deployment')}/{ref.get('name')}"
                errors.append(f"{where}: scaleTargetRef {target_name} does not exist")
            else:
                target = deployments[(ns, ref["name"])]
                if "replicas" in target["spec"]:
                    errors.append(f"{where}: Deployment {ref['name']} sets spec.replicas, which fights the autoscaler")
            for trig in spec.get("triggers") or []:
                auth = (trig.get("authenticationRef") or {}).get("name")
                if auth and (ns, auth) not in trigger_auths:
                    errors.append(f"{where}: authenticationRef {auth} does not exist")

        if kind == "TriggerAuthentication":
            for ref in spec.get("secretTargetRef") or []:
                target = secrets.get((ns, ref["name"]))
                if target is None:
                    errors.append(f"{where}: secretTargetRef Secret {ref['name']} does not exist")
                elif ref["key"] not in _data_keys(target):
                    errors.append(f"{where}: secretTargetRef key {ref['key']} is not in Secret {ref['name']}")

        if kind == "Cluster" and _group(o) == "postgresql.cnpg.io":
            secret = (((spec.get("bootstrap") or {}).get("initdb") or {}).get("secret") or {}).get("name")
            if secret:
                target = secrets.get((ns, secret))
                if target is None:
                    errors.append(f"{where}: bootstrap secret {secret} does not exist")
                elif (target.get("type") != "kubernetes.io/basic-auth"
                      or not {"username", "password"} <= _data_keys(target)):
                    errors.append(f"{where}: bootstrap secret {secret} must be basic-auth with username and password")
    return errors


def policy_checks(objs: list[dict]) -> list[str]:
    """This project's operating rules for its own workloads."""
    errors: list[str] = []
    deployments = [o for o in objs if o.get("kind") == "Deployment"]
    pdbs = [o for o in objs if o.get("kind") == "PodDisruptionBudget"]
    services = [o for o in objs if o.get("kind") == "Service"]
    for d in deployments:
        name = d["metadata"]["name"]
        ps = pod_spec(d)
        labels = pod_labels(d)
        if (ps.get("terminationGracePeriodSeconds") or 30) < 40:
            errors.append(f"Deployment/{name}: terminationGracePeriodSeconds < 40 (drain 25 s + preStop 5 s + margin)")
        pod_sc = ps.get("securityContext") or {}
        if not any(pdb["metadata"].get("namespace") == d["metadata"].get("namespace")
                   and selector_matches(pdb["spec"].get("selector"), labels) for pdb in pdbs):
            errors.append(f"Deployment/{name}: no PodDisruptionBudget")
        if not any(s["spec"].get("selector") and selector_matches({"matchLabels": s["spec"]["selector"]}, labels)
                   for s in services):
            errors.append(f"Deployment/{name}: no Service")
        for c in ps.get("containers") or []:
            cname = f"Deployment/{name} container {c['name']}"
            sc = c.get("securityContext") or {}
            if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
                errors.append(f"{cname}: runAsNonRoot is not true")
            if (sc.get("runAsUser", pod_sc.get("runAsUser")) or 0) == 0:
                errors.append(f"{cname}: runAsUser must be a non-zero uid")
            if sc.get("allowPrivilegeEscalation") is not False:
                errors.append(f"{cname}: allowPrivilegeEscalation must be false")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                errors.append(f"{cname}: capabilities must drop ALL")
            res = c.get("resources") or {}
            for section in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in (res.get(section) or {}):
                        errors.append(f"{cname}: resources.{section}.{r} is not set")
            expected = {"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"}
            for probe, path in expected.items():
                got = ((c.get(probe) or {}).get("httpGet") or {}).get("path")
                if got != path:
                    errors.append(f"{cname}: {probe} must GET {path} (has {got})")
            pre = ((c.get("lifecycle") or {}).get("preStop") or {})
            if not pre:
                errors.append(f"{cname}: no preStop hook")
            if not c.get("envFrom"):
                errors.append(f"{cname}: settings must come from the ConfigMap/Secret via envFrom")
            image = c.get("image", "")
            _, tag, digest = split_image(image)
            if not (tag or digest) or tag == "latest":
                errors.append(f"{cname}: image {image} has no explicit tag")
    return errors


def settings_checks(objs: list[dict]) -> list[str]:
    """What the academy containers read from their environment is what the services know:
    every ConfigMap loaded with envFrom carries only keys some consumer reads, every explicit
    env name is a setting of its service, and every value validates (services/*/settings.py)."""
    errors: list[str] = []
    configmaps = _by_kind(objs, "ConfigMap")
    readers: dict[tuple[str, str], set[str]] = {}
    key_reads: set[tuple[str, str, str]] = set()
    for o in objs:
        ns = (o.get("metadata") or {}).get("namespace") or ""
        for c in iter_containers(o):
            name = _service_of_image(c.get("image", ""))
            if name is None or settings_class(name) is None:
                continue
            where = f"{o['kind']}/{o['metadata']['name']} container {c['name']}"
            env: dict[str, str] = {}
            for ef in c.get("envFrom") or []:
                ref = (ef.get("configMapRef") or {}).get("name")
                if ref and (ns, ref) in configmaps:
                    readers.setdefault((ns, ref), set()).add(name)
                    env.update({k: str(v) for k, v in (configmaps[(ns, ref)].get("data") or {}).items()})
            for e in c.get("env") or []:
                ref = ((e.get("valueFrom") or {}).get("configMapKeyRef") or {})
                if ref:
                    key_reads.add((ns, ref.get("name"), ref.get("key")))
                if "value" in e:
                    env[e["name"]] = str(e["value"])
                elif ref and (ns, ref["name"]) in configmaps:
                    env[e["name"]] = str((configmaps[(ns, ref["name"])].get("data") or {}).get(ref["key"], ""))
                if e["name"].upper() not in setting_names(name) or e["name"].upper() in IGNORED_SETTINGS.get(name, {}):
                    errors.extend(settings_errors(name, {e["name"]: env.get(e["name"], "")}, f"{where}: env"))
            # envFrom keys are checked per ConfigMap below; here only that the values validate.
            errors.extend(settings_errors(name, env, f"{where}: environment", strict=False))
    for (ns, cm), o in configmaps.items():
        if (o["metadata"].get("labels") or {}).get("app.kubernetes.io/part-of") != "academy" or (ns, cm) in readers:
            continue
        for k in o.get("data") or {}:
            if (ns, cm, k) not in key_reads:
                errors.append(f"ConfigMap/{cm}: key {k} is read by no container")
    for key, names in readers.items():
        known = set().union(*(setting_names(n) for n in names))
        for k in (configmaps[key].get("data") or {}):
            if k.upper() not in known:
                errors.append(f"ConfigMap/{key[1]}: key {k} is a setting of none of its readers {sorted(names)}")
            for n in names:
                if k.upper() in IGNORED_SETTINGS.get(n, {}):
                    errors.append(f"ConfigMap/{key[1]}: {k} is ignored by {n} ({IGNORED_SETTINGS[n][k.upper()]})")
    return sorted(set(errors))


def _service_of_image(image: str) -> str | None:
    """academy/<service> (or REGISTRY/academy/<service>) -> the service name."""
    name = split_image(image)[0].rsplit("/", 1)[-1]
    return name if name in SERVICES and "academy/" in image else None


def _namespace_labels(objs: list[dict], ns: str) -> dict:
    for o in objs:
        if o.get("kind") == "Namespace" and o["metadata"]["name"] == ns:
            return {**(o["metadata"].get("labels") or {}), "kubernetes.io/metadata.name": ns}
    return {"kubernetes.io/metadata.name": ns}


def _peer_matches(objs: list[dict], peer: dict, policy_ns: str, pod: PodGroup) -> bool:
    if "ipBlock" in peer:
        return False  # pod IPs are not planned: never rely on ipBlock for in-cluster traffic
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], _namespace_labels(objs, pod.namespace)):
            return False
    elif pod.namespace != policy_ns:
        return False
    return "podSelector" not in peer or selector_matches(peer["podSelector"], pod.labels)


def _port_matches(rule_ports: list[dict] | None, target: PodGroup, port: int) -> bool:
    if not rule_ports:
        return True
    for rp in rule_ports:
        if rp.get("protocol", "TCP") != "TCP":
            continue
        p = rp.get("port")
        if p is None:
            return True
        number = target.ports.get(p) if isinstance(p, str) else p
        if number is not None and number <= port <= rp.get("endPort", number):
            return True
    return False


def network_allows(objs: list[dict], src: PodGroup, dst: PodGroup, port: int) -> list[str]:
    """Which directions (ingress at dst, egress at src) the NetworkPolicies block for TCP
    src -> dst:port; empty = allowed. A pod selected by no policy of a direction is open in it."""
    blocked = []
    for direction, selected, other, rules_key, peers_key in (("ingress", dst, src, "ingress", "from"),
                                                             ("egress", src, dst, "egress", "to")):
        policies = []
        for o in objs:
            if o.get("kind") != "NetworkPolicy":
                continue
            spec = o.get("spec") or {}
            types = spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))
            ns = o["metadata"].get("namespace") or ""
            if direction.capitalize() in types and ns == selected.namespace \
                    and selector_matches(spec.get("podSelector"), selected.labels):
                policies.append((ns, spec))
        if not policies:
            continue
        if not any(_port_matches(rule.get("ports"), dst, port)
                   and (not rule.get(peers_key) or any(_peer_matches(objs, peer, ns, other)
                                                       for peer in rule[peers_key]))
                   for ns, spec in policies for rule in spec.get(rules_key) or []):
            blocked.append(direction)
    return blocked


def connectivity_checks(objs: list[dict]) -> list[str]:
    """The paths the system needs are open: every service to RabbitMQ (AMQP), every schema
    owner and the migration Job to PostgreSQL."""
    groups = pod_groups(objs)
    postgres = [g for g in groups if g.owner.startswith("Cluster/")]
    rabbitmq = [g for g in groups if g.owner.startswith("RabbitmqCluster/")]
    errors = []
    for g in groups:
        kind, _, name = g.owner.partition("/")
        needs = []
        if kind == "Deployment" and name in SERVICES:
            needs.append((rabbitmq, 5672))
            if SERVICES[name].uses_db:
                needs.append((postgres, 5432))
        if kind == "Job" and name == "academy-migrate":
            needs.append((postgres, 5432))
        for targets, port in needs:
            for dst in targets:
                if dst.namespace != g.namespace:
                    continue
                for direction in network_allows(objs, g, dst, port):
                    errors.append(f"NetworkPolicy: {g.owner} cannot reach {dst.owner} on port {port} ({direction})")
    return errors


def all_k8s_errors(objs: list[dict]) -> list[str]:
    return (validate_builtin(objs) + validate_crds(objs) + cross_references(objs) + policy_checks(objs)
            + settings_checks(objs) + connectivity_checks(objs))


def find(objs: Iterable[dict], kind: str, name: str) -> dict:
    for o in objs:
        if o.get("kind") == kind and o["metadata"]["name"] == name:
            return o
    raise KeyError(f"{kind}/{name}")
