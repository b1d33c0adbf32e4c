"""deploy/k8s: rendered by `kubectl kustomize`, every object validated (kubernetes-validate and
the operators' CRD schemas), then this project's own rules: settings, reachability through the
NetworkPolicies, the KEDA cap from the Meet quota -- and proof that the checks bite."""
from __future__ import annotations

import copy
import math
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import kube
import pytest
import yaml
from deploy_support import FETCH_QUEUE, MEET_PROJECT_READS_PER_MINUTE, REPO, SERVICES, settings_class
from k8s_rules import connectivity_checks, containers, settings_checks
from kube import K8S, find, ident, render, validation_errors, with_example_secrets

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
SECRETS = {"academy-secrets", "academy-db-app", "academy-google-credentials", "academy-keda-rabbitmq"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, list[dict]]:
    tree = with_example_secrets(tmp_path_factory.mktemp("deploy") / "k8s")
    return {"base": render(K8S / "base"), "overlays/example": render(tree / "overlays" / "example")}


@pytest.fixture
def base(rendered: dict[str, list[dict]]) -> list[dict]:
    return copy.deepcopy(rendered["base"])


@pytest.fixture
def overlay(rendered: dict[str, list[dict]]) -> list[dict]:
    return copy.deepcopy(rendered["overlays/example"])


# ---------------------------------------------------------------- rendering and validity


@pytest.mark.parametrize("target", ["base", "overlays/example"])
def test_every_object_is_valid(rendered, target: str) -> None:
    assert validation_errors(rendered[target]) == []


@pytest.mark.parametrize("target", ["base", "overlays/example"])
def test_project_rules_hold(rendered, target: str) -> None:
    assert settings_checks(rendered[target]) == []
    assert connectivity_checks(rendered[target]) == []


def test_custom_resources_are_all_checked(overlay) -> None:
    kinds = {o["kind"] for o in overlay if kube.is_custom(o)}
    assert kinds == {"ScaledObject", "TriggerAuthentication", "RabbitmqCluster", "Cluster",
                     "PrometheusRule", "ServiceMonitor"}
    assert {k for _, k in kube.crd_schemas()} == kinds


def test_a_missing_kubectl_fails_in_ci(monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="kubectl is missing"):
        render(K8S / "base")


def test_a_hanging_kubectl_fails(monkeypatch, tmp_path: Path) -> None:
    fake = tmp_path / "kubectl"
    fake.write_text("#!/bin/sh\nexec /bin/sleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(kube, "KUSTOMIZE_TIMEOUT_S", 0.5)
    with pytest.raises(pytest.fail.Exception, match="did not finish"):
        render(K8S / "base")


# ---------------------------------------------------------------- what the base must contain


def test_the_services_share_one_template(base) -> None:
    """The four Deployments differ only in what each service's kustomization patches in."""
    shapes = []
    for name in (n for n, s in SERVICES.items() if s.in_k8s):
        pod = copy.deepcopy(find(base, "Deployment", name)["spec"]["template"]["spec"])
        (c,) = pod["containers"]
        for key in ("name", "image", "ports", "env", "volumeMounts"):
            c.pop(key)
        pod.pop("volumes")
        pod["topologySpreadConstraints"][0].pop("labelSelector")
        shapes.append(pod)
    assert all(s == shapes[0] for s in shapes)
    for name in (n for n, s in SERVICES.items() if s.in_k8s):
        assert yaml.safe_load((K8S / "base" / name / "kustomization.yaml").read_text())["resources"] \
            == ["../academy-service"]


def test_every_service_has_its_deployment_service_and_pdb(base) -> None:
    for name, svc in SERVICES.items():
        kinds = {o["kind"] for o in base if o["metadata"]["name"] == name}
        if not svc.in_k8s:
            assert not kinds, f"{name} is for demos only and must stay out of the base"
            continue
        assert {"Deployment", "Service", "PodDisruptionBudget"} <= kinds, name
        dep = find(base, "Deployment", name)
        (container,) = dep["spec"]["template"]["spec"]["containers"]
        assert container["name"] == name
        assert container["image"].startswith(f"academy/{name}:")
        assert container["ports"] == [{"name": "http", "containerPort": svc.port, "protocol": "TCP"}]
        assert {"name": "HTTP_PORT", "value": str(svc.port)} in container["env"]
        assert find(base, "Service", name)["spec"]["ports"][0]["port"] == svc.port
        labels = dep["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == name
        assert dep["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == name
        assert find(base, "Service", name)["spec"]["selector"]["app.kubernetes.io/name"] == name
        assert find(base, "PodDisruptionBudget", name)["spec"]["selector"]["matchLabels"][
            "app.kubernetes.io/name"] == name
        assert dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 40
        assert container["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
        mounts = {v["name"] for v in dep["spec"]["template"]["spec"]["volumes"]}
        assert ("google-credentials" in mounts) == svc.calls_meet, name


def test_the_base_applies_no_secret_but_names_them(base) -> None:
    assert not [ident(o) for o in base if o["kind"] == "Secret"], "the overlay provides the Secrets"
    assert _secrets_referenced(base) == SECRETS


def _secrets_referenced(objs: list[dict]) -> set[str]:
    names = set()
    for o in objs:
        for c in containers(o):
            names |= {ef["secretRef"]["name"] for ef in c.get("envFrom") or [] if "secretRef" in ef}
        if o["kind"] in {"Deployment", "Job"}:
            names |= {v["secret"]["secretName"] for v in o["spec"]["template"]["spec"].get("volumes") or []
                      if "secret" in v}
        if o["kind"] == "TriggerAuthentication":
            names |= {r["name"] for r in o["spec"]["secretTargetRef"]}
        if o["kind"] == "Cluster":
            names.add(o["spec"]["bootstrap"]["initdb"]["secret"]["name"])
    return names


def test_configmap_carries_no_secret(base) -> None:
    config = find(base, "ConfigMap", "academy-config")["data"]
    assert not {"API_TOKENS", "AMQP_URL", "DATABASE_URL"} & set(config), "secrets do not belong in the ConfigMap"
    assert "MEET_API_ENDPOINT" not in config and "PEOPLE_API_ENDPOINT" not in config, "unset means Google"
    assert config["HTTP_HOST"] == "0.0.0.0", "a container must listen on its pod's address"


def test_brokers_and_databases(base) -> None:
    assert find(base, "RabbitmqCluster", "academy-rabbitmq")["spec"]["replicas"] == 3
    assert find(base, "Cluster", "academy-db")["spec"]["instances"] >= 2


def test_migration_job_migrates_every_schema_owner(base) -> None:
    job = find(base, "Job", "academy-migrate")
    migrators = {c["name"]: c for c in job["spec"]["template"]["spec"]["containers"]}
    owners = [n for n, s in SERVICES.items() if s.uses_db]
    assert {f"{n}-migrate" for n in owners} <= set(migrators)
    assert migrators["topology"]["args"] == ["topology"]  # the whole bus topology, before any service runs
    for name in owners:
        c = migrators[f"{name}-migrate"]
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
    assert so["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "meet-fetcher"}
    (trigger,) = so["triggers"]
    assert trigger["type"] == "rabbitmq"
    # The rabbitmq scaler's own parameters (the CRD only says: a map of strings).
    assert trigger["metadata"] == {"protocol": "http", "vhostName": "/", "queueName": FETCH_QUEUE,
                                   "mode": "QueueLength", "value": trigger["metadata"]["value"]}
    # http (management API) counts unacknowledged messages too: in-flight fetches keep replicas.
    assert trigger["authenticationRef"]["name"] == find(base, "TriggerAuthentication", "meet-fetcher-rabbitmq")[
        "metadata"]["name"]
    assert find(base, "TriggerAuthentication", "meet-fetcher-rabbitmq")["spec"]["secretTargetRef"] == [
        {"parameter": "host", "name": "academy-keda-rabbitmq", "key": "host"}]
    assert so["minReplicaCount"] >= 1
    assert "replicas" not in find(base, "Deployment", "meet-fetcher")["spec"], "KEDA owns the replica count"


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
    assert "(the fetchers use `FETCH_CONCURRENCY`)" in doc, "the fetcher's knob is FETCH_CONCURRENCY, not CONSUMER_PREFETCH"


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
    manifest = (K8S / "base" / "scheduler" / "kustomization.yaml").read_text()
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
        for c in containers(o):
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


def test_overlay_generates_the_secrets_from_the_operators_files(overlay) -> None:
    secrets = {o["metadata"]["name"]: o for o in overlay if o["kind"] == "Secret"}
    assert set(secrets) == SECRETS == _secrets_referenced(overlay), "stable names: CRDs refer to them by name"
    env = {k: _b64(v) for k, v in secrets["academy-secrets"]["data"].items()}
    assert set(env) == {"API_TOKENS", "AMQP_URL", "DATABASE_URL", "CONSOLE_SESSION_KEY"}
    db = secrets["academy-db-app"]
    assert db["type"] == "kubernetes.io/basic-auth" and set(db["data"]) == {"username", "password"}
    assert set(secrets["academy-google-credentials"]["data"]) == {"credentials.json"}
    assert set(secrets["academy-keda-rabbitmq"]["data"]) == {"host"}
    # The example URLs point at what the operators create for our clusters.
    pg = find(overlay, "Cluster", "academy-db")["spec"]["bootstrap"]["initdb"]
    assert urlsplit(env["AMQP_URL"]).hostname == "academy-rabbitmq"
    url = urlsplit(env["DATABASE_URL"])
    assert (url.hostname, url.path, url.username) == ("academy-db-rw", f"/{pg['database']}", pg["owner"])
    assert _b64(db["data"]["username"]) == pg["owner"]
    assert all("REPLACE" in v for v in env.values()), "the repository ships placeholders only"


def _b64(value: str) -> str:
    import base64

    return base64.b64decode(value).decode()


def test_git_keeps_the_operators_secret_files_out() -> None:
    folder = K8S / "overlays" / "example" / "secrets"
    examples = sorted(folder.glob("*.example"))
    assert {p.name for p in examples} == {"academy.env.example", "db-username.example", "db-password.example",
                                          "google-credentials.json.example", "keda-rabbitmq-host.example"}
    real = [str(p.with_suffix("")) for p in examples]
    ignored = subprocess.run(["git", "check-ignore", *real, *map(str, examples)], cwd=REPO,
                             capture_output=True, text=True, check=False).stdout.split()
    assert sorted(ignored) == sorted(real)


# ---------------------------------------------------------------- the checks catch breakage


def _spec(objs, kind, name):
    return find(objs, kind, name)["spec"]


def _pod(objs, name):
    return _spec(objs, "Deployment", name)["template"]["spec"]


def _container(objs, name):
    return _pod(objs, name)["containers"][0]


def _env(objs, name, var):
    return next(e for e in _container(objs, name)["env"] if e["name"] == var)


def _config(objs, name="academy-config"):
    return find(objs, "ConfigMap", name)["data"]


BROKEN = [
    ("unknown Deployment field",
     lambda o: _container(o, "billing").update({"readinessprobe": {}}), "'readinessprobe' was unexpected"),
    ("wrong Deployment field type",
     lambda o: _spec(o, "Deployment", "billing").update({"replicas": "two"}), "'two' is not of type"),
    ("Secret data not a map",
     lambda o: find(o, "Secret", "academy-secrets").update({"data": ["API_TOKENS"]}), "is not of type 'object'"),
    ("PrometheusRule with a spoken duration",
     lambda o: _spec(o, "PrometheusRule", "academy")["groups"][0]["rules"][0].update({"for": "5 minutes"}),
     "'5 minutes' does not match"),
    ("ServiceMonitor on an unknown scheme",
     lambda o: _spec(o, "ServiceMonitor", "billing")["endpoints"][0].update({"scheme": "tcp"}),
     "'tcp' is not one of"),
    ("ScaledObject numeric trigger value",
     lambda o: _spec(o, "ScaledObject", "meet-fetcher")["triggers"][0]["metadata"].update({"value": 50}),
     "50 is not of type 'string'"),
    ("ScaledObject misspelt field",
     lambda o: _spec(o, "ScaledObject", "meet-fetcher").update({"maxReplicas": 3}), "'maxReplicas' was unexpected"),
    ("TriggerAuthentication without a key",
     lambda o: _spec(o, "TriggerAuthentication", "meet-fetcher-rabbitmq")["secretTargetRef"][0].pop("key"),
     "'key' is a required property"),
    ("RabbitmqCluster replicas as text",
     lambda o: _spec(o, "RabbitmqCluster", "academy-rabbitmq").update({"replicas": "3"}), "'3' is not of type"),
    ("CNPG Cluster without instances",
     lambda o: _spec(o, "Cluster", "academy-db").pop("instances"), "'instances' is a required property"),
    ("CNPG unknown update strategy",
     lambda o: _spec(o, "Cluster", "academy-db").update({"primaryUpdateStrategy": "auto"}), "'auto' is not one of"),
    ("unknown custom resource",
     lambda o: o.append({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}),
     "no CRD schema for example.com/v1 Widget"),
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
     lambda o: _config(o, "meet-fetcher-config").update({"CONSUMER_PREFETCH": "8"}),
     "ConfigMap/meet-fetcher-config: key CONSUMER_PREFETCH is read by no container"),
    ("misspelt shared setting",
     lambda o: _config(o).update({"RETRY_MAX_GAP": _config(o).pop("RETRY_MAX_GAP_S")}),
     "ConfigMap/academy-config: key RETRY_MAX_GAP is a setting of none of its readers"),
    ("invalid setting value",
     lambda o: _config(o).update({"JOIN_WINDOW_S": "half an hour"}),
     "JOIN_WINDOW_S='half an hour' is invalid for attendance"),
    ("invalid fetcher knob",
     lambda o: _config(o, "meet-fetcher-config").update({"FETCH_CONCURRENCY": "0"}),
     "FETCH_CONCURRENCY='0' is invalid for meet-fetcher"),
]


@pytest.mark.parametrize("mutate, fragment", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_checks_catch_a_broken_manifest(overlay, mutate, fragment: str) -> None:
    pristine = copy.deepcopy(overlay)
    mutate(overlay)
    changed = [o for o in overlay if o not in pristine]  # validating only these keeps the test fast
    errors = validation_errors(changed) + settings_checks(overlay) + connectivity_checks(overlay)
    assert any(fragment in e for e in errors), errors
