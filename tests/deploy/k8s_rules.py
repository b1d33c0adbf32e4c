"""The checks of the rendered manifests that no generic tool knows: every setting a container
reads is one its service has (with a valid value), and the NetworkPolicies let each service
reach RabbitMQ and PostgreSQL. Each returns its problems (empty = fine), so the tests can feed
it broken copies and prove it bites."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from deploy_support import IGNORED_SETTINGS, SERVICES, setting_names, settings_class, settings_errors

WORKLOADS = {"Deployment", "Job"}


def containers(o: dict) -> Iterator[dict]:
    if o.get("kind") in WORKLOADS:
        yield from o["spec"]["template"]["spec"].get("containers") or []


def service_of(image: str) -> str | None:
    """[REGISTRY/]academy/<service>:TAG -> the service."""
    name = image.rsplit(":", 1)[0].rsplit("/", 1)[-1]
    return name if name in SERVICES and "academy/" in image else None


def settings_checks(objs: list[dict]) -> list[str]:
    """What the academy containers read is what their services know: an envFrom ConfigMap
    carries only settings of its readers, an explicit env name is a setting of its service,
    a key of a ConfigMap read key by key is read by someone, and every value validates."""
    configmaps = {o["metadata"]["name"]: o.get("data") or {} for o in objs if o["kind"] == "ConfigMap"}
    readers: dict[str, set[str]] = {}
    keys_read: set[tuple[str, str]] = set()
    errors: list[str] = []
    for o in objs:
        for c in containers(o):
            name = service_of(c.get("image", ""))
            if name is None or settings_class(name) is None:
                continue
            where = f"{o['kind']}/{o['metadata']['name']} container {c['name']}"
            env: dict[str, str] = {}
            for ref in (ef["configMapRef"]["name"] for ef in c.get("envFrom") or [] if "configMapRef" in ef):
                readers.setdefault(ref, set()).add(name)
                env.update(configmaps.get(ref, {}))
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
                if ref:
                    keys_read.add((ref["name"], ref["key"]))
                env[e["name"]] = str(e["value"]) if "value" in e else configmaps.get(ref["name"], {}).get(ref["key"], "")
                errors += settings_errors(name, {e["name"]: env[e["name"]]}, f"{where}: env")
            errors += settings_errors(name, env, f"{where}: environment", strict=False)
    for cm, data in configmaps.items():
        if cm in readers:
            known = set().union(*(setting_names(n) for n in readers[cm]))
            errors += [f"ConfigMap/{cm}: key {k} is a setting of none of its readers {sorted(readers[cm])}"
                       for k in data if k.upper() not in known]
            errors += [f"ConfigMap/{cm}: {k} is ignored by {n} ({IGNORED_SETTINGS[n][k.upper()]})"
                       for k in data for n in readers[cm] if k.upper() in IGNORED_SETTINGS.get(n, {})]
        elif any(k == cm for k, _ in keys_read):
            errors += [f"ConfigMap/{cm}: key {k} is read by no container" for k in data if (cm, k) not in keys_read]
    return sorted(set(errors))


@dataclass
class Pods:
    """The pods a workload (or an operator) creates: their labels and named ports."""
    owner: str
    labels: dict
    ports: dict  # port name -> number


def pods(objs: list[dict]) -> list[Pods]:
    out = []
    for o in objs:
        name = o["metadata"]["name"]
        if o["kind"] in WORKLOADS:
            ports = {p.get("name", ""): p["containerPort"] for c in containers(o) for p in c.get("ports") or []}
            out.append(Pods(f"{o['kind']}/{name}", o["spec"]["template"]["metadata"].get("labels") or {}, ports))
        elif o["kind"] == "RabbitmqCluster":  # the labels and ports the RabbitMQ cluster operator gives its pods
            out.append(Pods(f"RabbitmqCluster/{name}", {"app.kubernetes.io/name": name,
                                                        "app.kubernetes.io/component": "rabbitmq",
                                                        "app.kubernetes.io/part-of": "rabbitmq"},
                            {"amqp": 5672, "management": 15672, "prometheus": 15692}))
        elif o["kind"] == "Cluster" and o["apiVersion"].startswith("postgresql.cnpg.io/"):  # CloudNativePG's
            out.append(Pods(f"Cluster/{name}", {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance"},
                            {"postgresql": 5432, "metrics": 9187, "status": 8000}))
    return out


def selects(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector against a label set; an empty selector selects everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    tests = {"In": lambda k, vs: labels.get(k) in vs, "NotIn": lambda k, vs: labels.get(k) not in vs,
             "Exists": lambda k, vs: k in labels, "DoesNotExist": lambda k, vs: k not in labels}
    return all(tests[e["operator"]](e["key"], e.get("values") or []) for e in selector.get("matchExpressions") or [])


def _port_open(rule_ports: list[dict] | None, dst: Pods, port: int) -> bool:
    if not rule_ports:
        return True
    for rp in rule_ports:
        p = rp.get("port")
        number = dst.ports.get(p) if isinstance(p, str) else p
        if rp.get("protocol", "TCP") == "TCP" and (p is None or number is not None
                                                   and number <= port <= rp.get("endPort", number)):
            return True
    return False


def _peer_is(peer: dict, pod: Pods) -> bool:
    """Within the one namespace the manifests use: a pod peer without namespaceSelector."""
    return "namespaceSelector" not in peer and "ipBlock" not in peer and selects(peer.get("podSelector"), pod.labels)


def blocked(objs: list[dict], src: Pods, dst: Pods, port: int) -> list[str]:
    """The directions (ingress at dst, egress at src) in which NetworkPolicies block TCP
    src -> dst:port. A pod no policy of a direction selects is open in it."""
    out = []
    for direction, selected, other, peers in (("ingress", dst, src, "from"), ("egress", src, dst, "to")):
        rules, isolated = [], False
        for o in objs:
            spec = o["spec"] if o["kind"] == "NetworkPolicy" else None
            types = spec and (spec.get("policyTypes") or ["Ingress"] + (["Egress"] if "egress" in spec else []))
            if spec and direction.capitalize() in types and selects(spec.get("podSelector"), selected.labels):
                isolated = True
                rules += spec.get(direction) or []
        if isolated and not any(_port_open(r.get("ports"), dst, port)
                                and (not r.get(peers) or any(_peer_is(p, other) for p in r[peers])) for r in rules):
            out.append(direction)
    return out


def connectivity_checks(objs: list[dict]) -> list[str]:
    """Every service on the bus reaches RabbitMQ (AMQP); every schema owner and the migration Job
    reach PostgreSQL."""
    groups = pods(objs)
    postgres = [g for g in groups if g.owner.startswith("Cluster/")]
    rabbitmq = [g for g in groups if g.owner.startswith("RabbitmqCluster/")]
    errors = []
    for g in groups:
        kind, _, name = g.owner.partition("/")
        needs = []
        if kind == "Deployment" and name in SERVICES:
            needs = ([(rabbitmq, 5672)] if SERVICES[name].uses_bus else []) \
                + ([(postgres, 5432)] if SERVICES[name].uses_db else [])
        elif g.owner == "Job/academy-migrate":
            needs = [(postgres, 5432)]
        errors += [f"NetworkPolicy: {g.owner} cannot reach {dst.owner} on port {port} ({direction})"
                   for targets, port in needs for dst in targets for direction in blocked(objs, g, dst, port)]
    return errors
