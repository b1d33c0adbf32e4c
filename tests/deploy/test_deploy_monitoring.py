"""What an SRE installs next to the services (deploy/k8s/components/monitoring): the alerts are
those of docs/operations.md, every query of the alerts and the Grafana dashboard parses as
PromQL and uses only series that exist, and each service has its ServiceMonitor."""
from __future__ import annotations

import ast
import functools
import json
import re
from pathlib import Path

import promql_parser
import pytest
import yaml
from deploy_support import REPO, SERVICES
from kube import K8S, find, render, with_example_secrets

MONITORING = K8S / "components" / "monitoring"
DASHBOARD = MONITORING / "dashboards" / "academy.json"
# Series that come from the platform, not from this code: RabbitMQ's Prometheus plugin
# (detailed endpoint, scraped by the academy-rabbitmq-queues ServiceMonitor) and kube-state-metrics.
EXTERNAL = {
    "rabbitmq_detailed_queue_messages_ready", "rabbitmq_detailed_queue_messages_unacked",
    "rabbitmq_detailed_queue_consumers", "kube_deployment_status_replicas_available",
    "kube_deployment_spec_replicas", "kube_pod_container_status_restarts_total",
}
# The panels the dashboard must have (issue: what an operator looks at first).
PANELS = {"Queue depth", "Fetch latency", "Fetches and failures", "Meet quota used", "Outbox lag",
          "Consumer errors", "Bills closed"}


@functools.cache
def exported_series() -> frozenset[str]:
    """Every series the services expose: the prometheus_client metrics declared in libs/ and
    services/, with the suffixes the client adds (counter _total, histogram _bucket/_sum/_count)."""
    series = set()
    for path in [*REPO.glob("libs/**/*.py"), *REPO.glob("services/**/*.py")]:
        tree = ast.parse(path.read_text())
        kinds = {a.asname or a.name: a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                 and node.module == "prometheus_client" for a in node.names}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in kinds \
                    and node.args and isinstance(node.args[0], ast.Constant):
                series |= _series(kinds[node.func.id], node.args[0].value)
    return frozenset(series)


def _series(kind: str, name: str) -> set[str]:
    if kind == "Counter":
        return {name.removesuffix("_total") + "_total"}
    if kind in ("Histogram", "Summary"):
        return {name + s for s in ("_bucket", "_sum", "_count")} - ({f"{name}_bucket"} if kind == "Summary" else set())
    return {name}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects, from the parsed syntax tree."""
    names, todo = set(), [promql_parser.parse(expr.replace("$__rate_interval", "5m"))]
    while todo:
        node = todo.pop()
        if isinstance(node, promql_parser.VectorSelector):
            names.add(node.name)
        for attr in ("lhs", "rhs", "expr", "param", "vector_selector"):
            child = getattr(node, attr, None)
            if child is not None and not isinstance(child, (str, int, float)):
                todo.append(child)
        todo.extend(getattr(node, "args", None) or [])
    return names


def unknown_metrics(expr: str) -> set[str]:
    return metric_names(expr) - exported_series() - EXTERNAL


@pytest.fixture(scope="module")
def overlay(tmp_path_factory) -> list[dict]:
    return render(with_example_secrets(tmp_path_factory.mktemp("deploy") / "k8s") / "overlays" / "example")


@pytest.fixture(scope="module")
def rules(overlay) -> list[dict]:
    (group,) = find(overlay, "PrometheusRule", "academy")["spec"]["groups"]
    return group["rules"]


def test_the_code_scan_finds_the_metrics() -> None:
    series = exported_series()
    assert {"http_requests_total", "meet_fetch_seconds_bucket", "outbox_relay_lag_seconds",
            "billing_periods_closed_total", "bus_messages_consumed_total"} <= series
    assert "http_requests_total_total" not in series


def test_alerts_are_the_documented_ones(rules) -> None:
    guide = (REPO / "docs" / "operations.md").read_text()
    section = guide[guide.index("## Alerts"):]
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| `(.+?)` \| ([^|]+) \|", section, flags=re.MULTILINE)
    documented = {name: (expr.replace("\\|", "|"), when.strip()) for name, expr, when in rows}
    shipped = {r["alert"]: (r["expr"], r.get("for", "—")) for r in rules}
    assert shipped == documented


@pytest.mark.parametrize("index", range(16))
def test_alert_queries_use_real_metrics(rules, index: int) -> None:
    rule = rules[index]
    assert unknown_metrics(rule["expr"]) == set(), rule["alert"]
    assert rule["labels"]["severity"] in {"page", "ticket", "page-office-hours"}
    assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_the_metric_check_bites() -> None:
    assert unknown_metrics('sum(rate(meet_fetch_total{outcome!="ok"}[5m]))') == {"meet_fetch_total"}
    assert unknown_metrics("histogram_quantile(0.9, rate(meet_fetch_seconds[5m]))") == {"meet_fetch_seconds"}
    assert unknown_metrics("max(outbox_pending) > 100 or max(outbox_lag_seconds) > 60") == {"outbox_lag_seconds"}
    with pytest.raises(ValueError):
        metric_names("sum(rate(http_requests_total[5m])")


def test_every_service_has_a_service_monitor(overlay) -> None:
    for name in (n for n, s in SERVICES.items() if s.in_k8s):
        spec = find(overlay, "ServiceMonitor", name)["spec"]
        service = find(overlay, "Service", name)
        assert spec["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
        assert [e["port"] for e in spec["endpoints"]] == [p["name"] for p in service["spec"]["ports"]] == ["http"]
        assert spec["endpoints"][0]["path"] == "/metrics"
    monitors = [o for o in overlay if o["kind"] == "ServiceMonitor"]
    assert len(monitors) == sum(s.in_k8s for s in SERVICES.values()) + 1, "the services and RabbitMQ's queues"


def test_rabbitmq_queue_metrics_are_scraped(overlay) -> None:
    """The rabbitmq_detailed_* series of the alerts exist only on the plugin's detailed endpoint."""
    (endpoint,) = find(overlay, "ServiceMonitor", "academy-rabbitmq-queues")["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("prometheus", "/metrics/detailed")
    assert set(endpoint["params"]["family"]) == {"queue_coarse_metrics", "queue_consumer_count"}


def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def _queries(dashboard: dict) -> list[tuple[str, str]]:
    return [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p["targets"]]


def test_dashboard_shows_what_an_operator_looks_at() -> None:
    dashboard = _dashboard()
    assert PANELS <= {p["title"] for p in dashboard["panels"]}
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    assert dashboard["uid"] and dashboard["schemaVersion"] >= 36
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["datasource"]
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert [t["refId"] for t in panel["targets"]] == [chr(65 + i) for i in range(len(panel["targets"]))]
    cells = [(x, y) for p in dashboard["panels"] for x in range(p["gridPos"]["x"], p["gridPos"]["x"] + p["gridPos"]["w"])
             for y in range(p["gridPos"]["y"], p["gridPos"]["y"] + p["gridPos"]["h"])]
    assert len(cells) == len(set(cells)), "panels overlap"


@pytest.mark.parametrize("title, expr", _queries(json.loads(DASHBOARD.read_text())))
def test_dashboard_queries_use_real_metrics(title: str, expr: str) -> None:
    assert unknown_metrics(expr) == set(), title


def test_dashboard_ships_as_a_grafana_configmap(overlay) -> None:
    cm = find(overlay, "ConfigMap", "academy-grafana-dashboard")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(cm["data"]["academy.json"]) == _dashboard()


def test_the_example_overlay_installs_the_monitoring_component() -> None:
    overlay = yaml.safe_load((K8S / "overlays" / "example" / "kustomization.yaml").read_text())
    assert "../../components/monitoring" in overlay["components"]
    assert Path(MONITORING / "kustomization.yaml").is_file()
