"""deploy/k8s: render the kustomizations offline, validate every object, check the
cross-references and this project's operating rules -- and prove the checks bite."""
from __future__ import annotations

import copy
import math
import shutil
import subprocess
from urllib.parse import urlsplit

import pytest
import yaml
from deploy_support import (
    FETCH_QUEUE,
    K8S,
    MEET_PROJECT_READS_PER_MINUTE,
    REPO,
    SERVICES,
    KustomizeError,
    all_k8s_errors,
    connectivity_checks,
    cross_references,
    find,
    ident,
    is_builtin,
    iter_containers,
    policy_checks,
    render,
    settings_class,
    strategic_merge,
    validate_builtin,
    validate_builtin_with_library,
    validate_crds,
)

TARGETS = ["base", "overlays/example"]
# Figures of docs/operations.md ("Scaling the fetchers") for the KEDA cap. Measured by
# bench/fetcher_capacity.py: one replica, the emulator in its own process with +50 ms per
# call, the limiter lifted, FETCH_CONCURRENCY=64 and MEET_API_THREADS=32.
BENCH_FETCH_CONCURRENCY, BENCH_API_THREADS = 64, 32
BENCH_FULL_FETCHES_PER_S = 16          # cold round: every fetch full
BENCH_CALLS_PER_FULL_FETCH = 13
BENCH_INCREMENTAL_FETCHES_PER_S = 99   # steady round
BENCH_CALLS_PER_INCREMENTAL_FETCH = 1
MEET_CALL_SECONDS = 0.5     # planning latency of a Google Meet list call (p90)
DRAIN_SECONDS = 25          # a fetcher finishes its in-flight work within this after SIGTERM


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return {t: render(K8S / t) for t in TARGETS}


@pytest.fixture
def base(rendered: dict[str, list[dict]]) -> list[dict]:
    return copy.deepcopy(rendered["base"])


@pytest.fixture
def overlay(rendered: dict[str, list[dict]]) -> list[dict]:
    return copy.deepcopy(rendered["overlays/example"])


# ---------------------------------------------------------------- validity of what we ship


@pytest.mark.parametrize("target", TARGETS)
def test_builtin_objects_match_kubernetes_schemas(rendered, target: str) -> None:
    assert validate_builtin(rendered[target]) == []


@pytest.mark.parametrize("target", TARGETS)
def test_kubernetes_validate_accepts_every_builtin_object(rendered, target: str) -> None:
    problems = {}
    for o in rendered[target]:
        if is_builtin(o):
            msg = validate_builtin_with_library(o)
            if msg:
                problems[ident(o)] = msg
    assert problems == {}


@pytest.mark.parametrize("target", TARGETS)
def test_custom_resources_are_structurally_valid(rendered, target: str) -> None:
    kinds = {o["kind"] for o in rendered[target]}
    assert {"ScaledObject", "TriggerAuthentication", "RabbitmqCluster", "Cluster"} <= kinds
    assert validate_crds(rendered[target]) == []


@pytest.mark.parametrize("target", TARGETS)
def test_cross_references_resolve(rendered, target: str) -> None:
    assert cross_references(rendered[target]) == []


@pytest.mark.parametrize("target", TARGETS)
def test_operating_rules(rendered, target: str) -> None:
    assert policy_checks(rendered[target]) == []


# ---------------------------------------------------------------- what the base must contain


def test_every_service_has_its_deployment_service_and_pdb(base) -> None:
    for name, svc in SERVICES.items():
        kinds = {o["kind"] for o in base if o["metadata"]["name"] == name}
        if not svc.in_k8s:
            assert not kinds, f"{name} is for demos only and must stay out of the base"
            continue
        assert {"Deployment", "Service", "PodDisruptionBudget"} <= kinds, name
        dep = find(base, "Deployment", name)
        (container,) = dep["spec"]["template"]["spec"]["containers"]
        assert container["image"].startswith(f"academy/{name}:")
        assert container["ports"] == [{"name": "http", "containerPort": svc.port, "protocol": "TCP"}]
        assert {"name": "HTTP_PORT", "value": str(svc.port)} in container["env"]
        assert find(base, "Service", name)["spec"]["ports"][0]["port"] == svc.port
        grace = dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace >= 40
        assert container["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]


def test_settings_are_split_between_configmap_and_secret(base) -> None:
    secret = find(base, "Secret", "academy-secrets")["stringData"]
    assert {"API_TOKENS", "AMQP_URL", "DATABASE_URL"} <= set(secret)
    config = find(base, "ConfigMap", "academy-config")["data"]
    assert not {"API_TOKENS", "AMQP_URL", "DATABASE_URL"} & set(config), "secrets do not belong in the ConfigMap"
    assert "MEET_API_ENDPOINT" not in config and "PEOPLE_API_ENDPOINT" not in config, "unset means Google"
    # The example URLs point at what the operators create for our clusters.
    rabbit = find(base, "RabbitmqCluster", "academy-rabbitmq")["metadata"]["name"]
    pg = find(base, "Cluster", "academy-db")
    assert urlsplit(secret["AMQP_URL"]).hostname == rabbit
    db = urlsplit(secret["DATABASE_URL"])
    assert db.hostname == f"{pg['metadata']['name']}-rw"
    assert db.path.lstrip("/") == pg["spec"]["bootstrap"]["initdb"]["database"]
    assert db.username == pg["spec"]["bootstrap"]["initdb"]["owner"]
    for value in (secret["API_TOKENS"], secret["AMQP_URL"], secret["DATABASE_URL"]):
        assert "change-me" in value, "the base ships example values only"


def test_brokers_and_databases(base) -> None:
    assert find(base, "RabbitmqCluster", "academy-rabbitmq")["spec"]["replicas"] == 3
    assert find(base, "Cluster", "academy-db")["spec"]["instances"] >= 2


def test_migration_job_migrates_every_schema_owner(base) -> None:
    job = find(base, "Job", "academy-migrate")
    containers = {c["name"]: c for c in job["spec"]["template"]["spec"]["containers"]}
    owners = [n for n, s in SERVICES.items() if s.uses_db]
    assert set(containers) == {f"{n}-migrate" for n in owners}
    for name in owners:
        c = containers[f"{name}-migrate"]
        assert c["args"] == ["migrate"]
        deployed = find(base, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        assert c["image"] == deployed["image"], "migrate with the image that will run"
        assert c["envFrom"] == deployed["envFrom"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")
    assert job["spec"]["backoffLimit"] >= 1


def test_network_policies_deny_by_default(base) -> None:
    deny = find(base, "NetworkPolicy", "default-deny-ingress")["spec"]
    assert deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress"] and not deny.get("ingress")


def test_fetchers_scale_on_their_queue(base) -> None:
    so = find(base, "ScaledObject", "meet-fetcher")["spec"]
    assert so["scaleTargetRef"]["name"] == "meet-fetcher"
    (trigger,) = so["triggers"]
    assert trigger["type"] == "rabbitmq"
    assert trigger["metadata"]["queueName"] == FETCH_QUEUE
    assert trigger["metadata"]["vhostName"] == "/"
    assert trigger["metadata"]["mode"] == "QueueLength"
    # http (management API) counts unacknowledged messages too: in-flight fetches keep replicas.
    assert trigger["metadata"]["protocol"] == "http"
    assert so["minReplicaCount"] >= 1
    assert "replicas" not in find(base, "Deployment", "meet-fetcher")["spec"]


def test_keda_cap_follows_the_meet_quota(base) -> None:
    """maxReplicaCount = ceil(B / R1): the smallest fleet that saturates the read budget B,
    which the PostgreSQL limiter enforces for all replicas together -- more replicas never
    read faster, they only wait on the limiter while holding messages unacked."""
    knobs = find(base, "ConfigMap", "meet-fetcher-config")["data"]
    budget = int(knobs["MEET_READS_PER_MINUTE"])
    concurrency, threads = int(knobs["FETCH_CONCURRENCY"]), int(knobs["MEET_API_THREADS"])
    assert 0 < budget <= MEET_PROJECT_READS_PER_MINUTE
    assert int(knobs["MEET_READS_PER_USER_PER_MINUTE"]) <= 600, "Google's per-user quota"
    assert (concurrency, threads) == (BENCH_FETCH_CONCURRENCY, BENCH_API_THREADS), \
        "the measured figures hold for the benchmarked settings: re-run bench/fetcher_capacity.py"
    # R1, reads/min of one replica the limiter does not hold back: the slower of what the bench
    # measured (full, incremental) and what its API threads allow at Google's latency.
    full = BENCH_FULL_FETCHES_PER_S * BENCH_CALLS_PER_FULL_FETCH * 60                     # 12480
    incremental = BENCH_INCREMENTAL_FETCHES_PER_S * BENCH_CALLS_PER_INCREMENTAL_FETCH * 60  # 5940
    thread_bound = threads * 60 / MEET_CALL_SECONDS                                          # 3840
    per_replica = min(full, incremental, thread_bound)
    so = find(base, "ScaledObject", "meet-fetcher")["spec"]
    cap = so["maxReplicaCount"]
    assert cap == math.ceil(budget / per_replica)
    assert so["minReplicaCount"] <= cap
    # At the cap, quota-bound, a replica's share of the budget still finishes the full fetches
    # it holds within the drain after SIGTERM.
    share_per_second = budget / cap / 60
    assert concurrency * BENCH_CALLS_PER_FULL_FETCH / share_per_second <= DRAIN_SECONDS
    # KEDA's target per replica is one replica's in-flight window.
    assert so["triggers"][0]["metadata"]["value"] == str(concurrency)
    doc = (REPO / "docs" / "operations.md").read_text()
    for fact in (f"maxReplicaCount: {cap}", f"**{budget}**", f"**{concurrency}**", f"**{threads}**",
                 f"= {int(per_replica)}", f"= {full}", f"= {incremental}"):
        assert fact in doc, f"docs/operations.md must state {fact!r} like the manifests"
    assert "CONSUMER_PREFETCH" not in doc, "the fetcher's knob is FETCH_CONCURRENCY"


def test_fetcher_reads_its_knobs_and_owns_a_schema(base) -> None:
    container = _container(base, "meet-fetcher")
    refs = {e["name"]: e["valueFrom"]["configMapKeyRef"] for e in container["env"] if "valueFrom" in e}
    knobs = find(base, "ConfigMap", "meet-fetcher-config")["data"]
    assert set(refs) == set(knobs) >= {"MEET_READS_PER_MINUTE", "MEET_READS_PER_USER_PER_MINUTE", "FETCH_CONCURRENCY"}
    assert all(r == {"name": "meet-fetcher-config", "key": n} for n, r in refs.items())
    assert {"secretRef": {"name": "academy-secrets"}} in container["envFrom"], "DATABASE_URL comes from the Secret"
    job = find(base, "Job", "academy-migrate")["spec"]["template"]["spec"]["containers"]
    assert "meet-fetcher-migrate" in {c["name"] for c in job}


# Settings the base states explicitly (at the services' defaults) so that operators see them.
VISIBLE_DEFAULTS = {
    "scheduler": ["TICK_INTERVAL_S", "FETCH_INTERVAL_S", "RETRY_INTERVAL_S", "RETRY_MAX_GAP_S",
                  "RETRY_WINDOW_DAYS", "START_TOLERANCE_S"],
    "attendance": ["LATE_THRESHOLD_S", "EARLY_LEAVE_THRESHOLD_S", "FINALIZE_GRACE_S", "JOIN_WINDOW_S"],
    "billing": ["REPORT_PAGE_SIZE", "REPORT_MAX_PAGE_SIZE", "EXPORT_CHUNK_SIZE"],
}


@pytest.mark.parametrize("service", sorted(VISIBLE_DEFAULTS))
def test_configmap_shows_the_service_settings(base, service: str) -> None:
    config = find(base, "ConfigMap", "academy-config")["data"]
    fields = settings_class(service).model_fields
    for key in VISIBLE_DEFAULTS[service]:
        assert key in config, f"{key} ({service}) is missing from academy-config"
        assert float(config[key]) == float(fields[key.lower()].default), f"{key}: the base ships the default"
    doc = (REPO / "docs" / "operations.md").read_text()
    for key in VISIBLE_DEFAULTS[service]:
        assert f"`{key}`" in doc, f"docs/operations.md does not explain {key}"


def test_scheduler_replicas_are_safe(base) -> None:
    """Two scheduler replicas: the ticker is exactly-once across replicas (see
    tests/integration/scheduler/test_sched_replicas.py), and the manifest and guide say so."""
    assert find(base, "Deployment", "scheduler")["spec"]["replicas"] >= 2
    manifest = (K8S / "base" / "scheduler.yaml").read_text()
    doc = (REPO / "docs" / "operations.md").read_text()
    for text in (manifest, doc):
        assert "exactly once" in text and "test_sched_replicas.py" in text
    assert (REPO / "tests" / "integration" / "scheduler" / "test_sched_replicas.py").is_file()


def test_connectivity_check_understands_egress_policies(base) -> None:
    """Adding egress policies that open exactly the needed paths keeps the check quiet."""
    assert connectivity_checks(base) == []
    base.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                 "metadata": {"name": "egress-to-data"},
                 "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "academy"}},
                          "policyTypes": ["Egress"],
                          "egress": [{"to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": "academy-db"}}}],
                                      "ports": [{"protocol": "TCP", "port": 5432}]},
                                     {"to": [{"podSelector": {"matchLabels": {
                                         "app.kubernetes.io/name": "academy-rabbitmq"}}}],
                                      "ports": [{"protocol": "TCP", "port": "amqp"}]}]}})
    assert connectivity_checks(base) == []
    base[-1]["spec"]["egress"].pop(0)
    errors = connectivity_checks(base)
    assert "NetworkPolicy: Deployment/meet-fetcher cannot reach Cluster/academy-db on port 5432 (egress)" in errors
    assert not [e for e in errors if "RabbitmqCluster" in e]


# ---------------------------------------------------------------- the example overlay


def test_overlay_sets_namespace_images_replicas_and_patches(overlay, base) -> None:
    for o in overlay:
        if o["kind"] != "Namespace":
            assert o["metadata"]["namespace"] == "academy", ident(o)
    assert find(overlay, "Namespace", "academy")
    for o in overlay:
        for c in iter_containers(o):
            assert c["image"].startswith("registry.example.com/academy/") and c["image"].endswith(":1.0.0"), c["image"]
    assert {n: find(overlay, "Deployment", n)["spec"].get("replicas") for n in ("scheduler", "attendance", "billing")} \
        == {"scheduler": 2, "attendance": 3, "billing": 2}
    assert "replicas" not in find(overlay, "Deployment", "meet-fetcher")["spec"]
    assert find(overlay, "ConfigMap", "academy-config")["data"]["ACADEMY_TIMEZONE"] == "Europe/Madrid"
    assert find(overlay, "ConfigMap", "academy-config")["data"]["LOG_LEVEL"] == "INFO", "patch merges, not replaces"
    assert find(overlay, "Cluster", "academy-db")["spec"]["storage"] == {"size": "50Gi", "storageClass": "standard"}
    att = find(overlay, "Deployment", "attendance")["spec"]["template"]["spec"]["containers"][0]
    assert att["resources"]["limits"]["memory"] == "512Mi"
    assert att["readinessProbe"] == _container(base, "attendance")["readinessProbe"], "patch merges containers by name"


def _kustomize_cmd() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


@pytest.mark.parametrize("target", TARGETS)
def test_loader_renders_what_kustomize_renders(rendered, target: str) -> None:
    """Where a kustomize binary exists, the offline loader must agree with it exactly."""
    cmd = _kustomize_cmd()
    if cmd is None:
        pytest.skip("no kustomize or kubectl binary")
    try:
        out = subprocess.run([*cmd, str(K8S / target)], check=False, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"{cmd[0]} did not run: {exc}")
    if out.returncode != 0 and "unknown command" in out.stderr:
        pytest.skip(f"{cmd[0]} cannot build kustomizations here")
    assert out.returncode == 0, out.stderr
    theirs = {ident(o): o for o in yaml.safe_load_all(out.stdout) if o}
    ours = {ident(o): o for o in rendered[target]}
    assert set(ours) == set(theirs)
    for key, value in ours.items():
        assert value == theirs[key], key


def test_loader_strategic_merge_and_refusals(tmp_path) -> None:
    base = {"spec": {"containers": [{"name": "a", "image": "x:1", "env": [{"name": "A", "value": "1"}]},
                                    {"name": "b", "image": "y:1"}]}}
    patch = {"spec": {"containers": [{"name": "a", "env": [{"name": "B", "value": "2"}]}]}}
    merged = strategic_merge(base, patch, builtin=True)
    assert merged["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert merged["spec"]["containers"][1] == {"name": "b", "image": "y:1"}
    (tmp_path / "kustomization.yaml").write_text("resources: []\nconfigMapGenerator: []\n")
    with pytest.raises(KustomizeError, match="unsupported"):
        render(tmp_path)


# ---------------------------------------------------------------- the checks catch breakage


def _spec(objs, kind, name):
    return find(objs, kind, name)["spec"]


def _pod(objs, name):
    return _spec(objs, "Deployment", name)["template"]["spec"]


def _container(objs, name):
    return _pod(objs, name)["containers"][0]


def _env(objs, name, var):
    return next(e for e in _container(objs, name)["env"] if e["name"] == var)


BROKEN = [
    ("service selector typo",
     lambda o: _spec(o, "Service", "billing")["selector"].update({"app.kubernetes.io/name": "biling"}),
     "Service/billing: selector"),
    ("service targetPort unknown",
     lambda o: _spec(o, "Service", "attendance")["ports"][0].update({"targetPort": "web"}),
     "targetPort web"),
    ("probe on a port the container lacks",
     lambda o: _container(o, "scheduler")["readinessProbe"]["httpGet"].update({"port": "metrics"}),
     "readinessProbe port metrics is not a container port"),
    ("deployment selector does not match its pods",
     lambda o: _spec(o, "Deployment", "billing")["selector"]["matchLabels"].update({"app.kubernetes.io/name": "x"}),
     "does not match its own pod template"),
    ("envFrom a missing Secret",
     lambda o: _container(o, "attendance")["envFrom"][1]["secretRef"].update({"name": "academy-secret"}),
     "envFrom Secret academy-secret does not exist"),
    ("configMapKeyRef to a missing key",
     lambda o: _container(o, "meet-fetcher")["env"][1]["valueFrom"]["configMapKeyRef"].update({"key": "READS"}),
     "missing key READS"),
    ("secret volume of a missing Secret",
     lambda o: _pod(o, "scheduler")["volumes"][1]["secret"].update(
         {"secretName": "google"}), "missing Secret google"),
    ("ScaledObject targets a missing Deployment",
     lambda o: _spec(o, "ScaledObject", "meet-fetcher")["scaleTargetRef"].update({"name": "fetcher"}),
     "scaleTargetRef Deployment/fetcher does not exist"),
    ("ScaledObject target pins replicas",
     lambda o: _spec(o, "Deployment", "meet-fetcher").update({"replicas": 2}),
     "fights the autoscaler"),
    ("ScaledObject invalid mode",
     lambda o: _spec(o, "ScaledObject", "meet-fetcher")["triggers"][0]["metadata"].update({"mode": "Length"}),
     "'Length' is not one of"),
    ("ScaledObject numeric value",
     lambda o: _spec(o, "ScaledObject", "meet-fetcher")["triggers"][0]["metadata"].update({"value": 50}),
     "50 is not of type 'string'"),
    ("ScaledObject unknown auth",
     lambda o: _spec(o, "ScaledObject", "meet-fetcher")["triggers"][0]["authenticationRef"].update({"name": "x"}),
     "authenticationRef x does not exist"),
    ("TriggerAuthentication missing key",
     lambda o: _spec(o, "TriggerAuthentication", "meet-fetcher-rabbitmq")["secretTargetRef"][0].update({"key": "url"}),
     "key url is not in Secret"),
    ("PDB selects nothing",
     lambda o: _spec(o, "PodDisruptionBudget", "scheduler")["selector"]["matchLabels"].update(
         {"app.kubernetes.io/name": "sched"}), "PodDisruptionBudget/scheduler: selector matches no"),
    ("NetworkPolicy selects nothing",
     lambda o: _spec(o, "NetworkPolicy", "allow-postgres")["podSelector"]["matchLabels"].update(
         {"cnpg.io/cluster": "db"}), "NetworkPolicy/allow-postgres: podSelector matches no pods"),
    ("NetworkPolicy peer selects nothing",
     lambda o: _spec(o, "NetworkPolicy", "allow-rabbitmq")["ingress"][0]["from"][0]["podSelector"][
         "matchLabels"].update(
         {"app.kubernetes.io/part-of": "acadmy"}), "ingress from podSelector"),
    ("unknown Deployment field",
     lambda o: _container(o, "billing").update({"readinessprobe": {}}), "'readinessprobe' was unexpected"),
    ("wrong Deployment field type",
     lambda o: _spec(o, "Deployment", "billing").update({"replicas": "two"}), "'two' is not of type"),
    ("RabbitmqCluster replicas as text",
     lambda o: _spec(o, "RabbitmqCluster", "academy-rabbitmq").update({"replicas": "3"}), "'3' is not of type"),
    ("CNPG Cluster without storage",
     lambda o: _spec(o, "Cluster", "academy-db").pop("storage"), "'storage' is a required property"),
    ("CNPG bootstrap secret missing",
     lambda o: _spec(o, "Cluster", "academy-db")["bootstrap"]["initdb"]["secret"].update({"name": "db"}),
     "bootstrap secret db does not exist"),
    ("short grace period",
     lambda o: _pod(o, "attendance").update({"terminationGracePeriodSeconds": 30}),
     "terminationGracePeriodSeconds < 40"),
    ("readiness on the liveness endpoint",
     lambda o: _container(o, "billing")["readinessProbe"]["httpGet"].update({"path": "/healthz"}),
     "readinessProbe must GET /readyz"),
    ("no memory limit",
     lambda o: _container(o, "scheduler")["resources"]["limits"].pop("memory"), "resources.limits.memory is not set"),
    ("runs as root",
     lambda o: _pod(o, "billing")["securityContext"].update(
         {"runAsNonRoot": False}), "runAsNonRoot is not true"),
    ("unknown custom resource",
     lambda o: o.append({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}),
     "has no structural schema"),
    ("fetcher cut off from PostgreSQL",
     lambda o: _spec(o, "NetworkPolicy", "allow-postgres")["ingress"][0]["from"][0]["podSelector"][
         "matchLabels"].update({"app.kubernetes.io/component": "api"}),
     "Deployment/meet-fetcher cannot reach Cluster/academy-db on port 5432 (ingress)"),
    ("migration Job cut off from PostgreSQL",
     lambda o: _spec(o, "NetworkPolicy", "allow-postgres")["ingress"][0]["ports"][0].update({"port": 5433}),
     "Job/academy-migrate cannot reach Cluster/academy-db on port 5432 (ingress)"),
    ("egress denied",
     lambda o: o.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                         "metadata": {"name": "deny-egress"}, "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}),
     "Deployment/meet-fetcher cannot reach RabbitmqCluster/academy-rabbitmq on port 5672 (egress)"),
    ("fetcher concurrency under its retired name",
     lambda o: _env(o, "meet-fetcher", "FETCH_CONCURRENCY").update({"name": "CONSUMER_PREFETCH"}),
     "CONSUMER_PREFETCH is ignored by meet-fetcher"),
    ("fetcher knob nobody reads",
     lambda o: find(o, "ConfigMap", "meet-fetcher-config")["data"].update({"CONSUMER_PREFETCH": "8"}),
     "ConfigMap/meet-fetcher-config: key CONSUMER_PREFETCH is read by no container"),
    ("misspelt shared setting",
     lambda o: find(o, "ConfigMap", "academy-config")["data"].update(
         {"RETRY_MAX_GAP": find(o, "ConfigMap", "academy-config")["data"].pop("RETRY_MAX_GAP_S")}),
     "ConfigMap/academy-config: key RETRY_MAX_GAP is a setting of none of its readers"),
    ("invalid setting value",
     lambda o: find(o, "ConfigMap", "academy-config")["data"].update({"JOIN_WINDOW_S": "half an hour"}),
     "JOIN_WINDOW_S='half an hour' is invalid for attendance"),
    ("invalid fetcher knob",
     lambda o: find(o, "ConfigMap", "meet-fetcher-config")["data"].update({"FETCH_CONCURRENCY": "0"}),
     "FETCH_CONCURRENCY='0' is invalid for meet-fetcher"),
]


@pytest.mark.parametrize("mutate, fragment", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_checks_catch_a_broken_manifest(base, mutate, fragment: str) -> None:
    assert all_k8s_errors(base) == [], "the unmodified base must be clean"
    mutate(base)
    errors = all_k8s_errors(base)
    assert any(fragment in e for e in errors), errors
