"""The probe plan: Kubernetes manifests that test the expectations from inside a live cluster.

For every source workload of the expectations, one ConfigMap (a POSIX shell script) and one Job in the
source's namespace whose pod carries the source's pod labels, so the cluster's NetworkPolicies treat it
as that workload. The script connects to each destination with ``nc`` (``-z`` TCP, ``-zu`` UDP, ``-w``
timeout) and prints ``PASS``/``FAIL``/``SKIP`` per probe; the Job fails when any probe fails.

Destinations are reached through a Service that selects them (``NAME.NAMESPACE.svc`` on the Service port
whose target is the probed pod port); without one the address is an environment variable holding a
placeholder to fill in with a pod IP. A ``cidr`` destination uses one address of the range (override it
through its variable). Ports omitted in an expectation are probed on the destination's declared container
ports. External (``cidr``) sources cannot be probed from inside the cluster and are left out.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from netpolscan.analysis.endpoints import owner_of
from netpolscan.analysis.ports import PortSet
from netpolscan.expectations.evaluate import resolve, resolve_workloads
from netpolscan.expectations.spec import EndpointSpec, Expectation, ExpectationsFile
from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import Service, Workload
from netpolscan.sources.goyaml import is_plain_string

DEFAULT_IMAGE = "busybox:1.36"
DEFAULT_TIMEOUT = 2
MANAGED_BY = {"app.kubernetes.io/managed-by": "netpolscan", "app.kubernetes.io/component": "probe-plan"}
PUBLIC_PROBE_ADDRESS = ipaddress.ip_address("1.1.1.1")  # answers on TCP 53/80/443: a useful default
DEFAULT_EXTERNAL_PORT = ("TCP", 443)


@dataclass
class Probe:
    entry: int
    expect: str
    protocol: str
    host: str  # a DNS name, an address, or "$VAR"
    port: int
    label: str


@dataclass
class SourcePlan:
    namespace: str
    name: str
    labels: dict[str, str]
    probes: list[Probe] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)  # env var -> placeholder / default value


def _service_for(
    inventory: Inventory, workload: Workload, protocol: str, port: int
) -> tuple[Service, int] | None:
    """A Service of the workload's namespace selecting it, and its port targeting ``port``/``protocol``."""
    for service in inventory.services:
        if service.namespace != workload.namespace or not service.selector:
            continue
        if any(workload.labels.get(k) != v for k, v in service.selector.items()):
            continue
        for service_port in service.ports:
            if service_port.protocol != protocol:
                continue
            target = service_port.target_port
            number = workload.resolve_port(target, protocol) if isinstance(target, str) else target
            if number == port:
                return service, service_port.port
    return None


def _probe_ports(expectation: Expectation, dst: Workload | None) -> list[tuple[str, int]]:
    ports: PortSet | None = expectation.ports
    if ports is not None:
        out: list[tuple[str, int]] = []
        for protocol in ("TCP", "UDP", "SCTP"):
            for lo, hi in ports.intervals(protocol):
                out.extend([(protocol, lo)] if lo == hi else [(protocol, lo), (protocol, hi)])
        return out
    if dst is None:
        return [DEFAULT_EXTERNAL_PORT]
    return sorted({(p.protocol, p.port) for p in dst.ports})


def _variable(plan: SourcePlan, stem: str, value: str) -> str:
    name = "ADDR_" + re.sub(r"[^A-Za-z0-9]+", "_", stem).strip("_").upper()
    plan.variables.setdefault(name, value)
    return "$" + name


def _cidr_address(spec: EndpointSpec) -> str:
    cidr = spec.cidr
    assert cidr is not None
    if cidr.num_addresses == 1:
        return str(cidr.network_address)
    if cidr.version == 4 and PUBLIC_PROBE_ADDRESS in cidr:
        return str(PUBLIC_PROBE_ADDRESS)
    return str(cidr.network_address + 1)


def _key(workload: Workload) -> tuple[str, str]:
    return workload.namespace, owner_of(workload)[1]


def build_plan(inventory: Inventory, expectations: ExpectationsFile) -> list[SourcePlan]:
    """One SourcePlan per source workload (by namespace and owner name), in a stable order."""
    plans: dict[tuple[str, str], SourcePlan] = {}
    for expectation in expectations.expectations:
        sources = [w for spec in expectation.sources for w in resolve_workloads(inventory, spec)]
        for src in sources:
            key = _key(src)
            plan = plans.get(key)
            if plan is None:
                plan = plans[key] = SourcePlan(key[0], key[1], dict(src.labels))
            _add_probes(inventory, plan, src, expectation)
    return [plans[key] for key in sorted(plans) if plans[key].probes]


def _add_probes(inventory: Inventory, plan: SourcePlan, src: Workload, expectation: Expectation) -> None:
    seen = {(p.entry, p.protocol, p.host, p.port) for p in plan.probes}

    def add(protocol: str, host: str, port: int, label: str) -> None:
        if (expectation.number, protocol, host, port) not in seen:
            seen.add((expectation.number, protocol, host, port))
            plan.probes.append(Probe(expectation.number, expectation.expect, protocol, host, port, label))

    for spec in expectation.destinations:
        if spec.cidr is not None:
            host = _variable(plan, f"cidr_{spec.cidr}", _cidr_address(spec))
            for protocol, port in _probe_ports(expectation, None):
                add(protocol, host, port, f"{plan.namespace}/{plan.name} -> {spec.cidr}")
            continue
        done: set[tuple[str, str]] = set()
        for dst in resolve(inventory, spec, "to"):
            assert isinstance(dst, Workload)
            if dst is src or _key(dst) in done:
                continue
            done.add(_key(dst))
            label = f"{plan.namespace}/{plan.name} -> {dst.namespace}/{owner_of(dst)[1]}"
            for protocol, port in _probe_ports(expectation, dst):
                found = _service_for(inventory, dst, protocol, port)
                if found is not None:
                    service, service_port = found
                    add(
                        protocol,
                        f"{service.name}.{service.namespace}.svc",
                        service_port,
                        f"{label} (pod port {port})",
                    )
                else:
                    host = _variable(
                        plan,
                        f"{dst.namespace}_{owner_of(dst)[1]}",
                        f"<pod IP of {dst.namespace}/{owner_of(dst)[1]}>",
                    )
                    add(protocol, host, port, label)


# --- manifests -----------------------------------------------------------------------------------------


def resource_name(namespace: str, name: str) -> str:
    """``netpolscan-probe-NAME``: a DNS-1123 label of at most 63 characters (hashed when shortened)."""
    base = re.sub(r"[^a-z0-9-]+", "-", f"netpolscan-probe-{name}".lower()).strip("-")
    if len(base) <= 63:
        return base
    digest = hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:8]
    return f"{base[:54].rstrip('-')}-{digest}"


def script(plan: SourcePlan, timeout: int = DEFAULT_TIMEOUT) -> str:
    lines = [
        "#!/bin/sh",
        f"# netpolscan probe plan: expectations checked from {plan.namespace}/{plan.name}",
        "# check ENTRY EXPECT PROTOCOL HOST PORT DESCRIPTION",
        f"TIMEOUT={timeout}",
        "failed=0",
        "check() {",
        '  case "$4" in ""|"<"*)',
        '    echo "SKIP entry $1 $2 $3 $5 $6: no address (set it in the Job env)"; return;;',
        "  esac",
        '  case "$3" in',
        '    TCP) flags="-z";;',
        '    UDP) flags="-zu";;',
        '    *) echo "SKIP entry $1 $2 $3 $5 $6: $3 cannot be probed with nc"; return;;',
        "  esac",
        "  got=deny",
        '  if nc $flags -w "$TIMEOUT" "$4" "$5" </dev/null >/dev/null 2>&1; then got=allow; fi',
        '  if [ "$got" = "$2" ]; then',
        '    echo "PASS entry $1 $2 $3 $4:$5 $6"',
        "  else",
        '    echo "FAIL entry $1 expected $2, got $got: $3 $4:$5 $6"',
        "    failed=$((failed + 1))",
        "  fi",
        "}",
    ]
    for probe in plan.probes:
        host = f'"${{{probe.host[1:]}}}"' if probe.host.startswith("$") else _sh(probe.host)
        lines.append(
            f"check {probe.entry} {probe.expect} {probe.protocol} {host} {probe.port} {_sh(probe.label)}"
        )
    lines += [
        'echo "netpolscan probe plan: $failed failed"',
        '[ "$failed" -eq 0 ]',
    ]
    return "\n".join(lines) + "\n"


def _sh(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def manifests(
    plans: Sequence[SourcePlan], image: str = DEFAULT_IMAGE, timeout: int = DEFAULT_TIMEOUT
) -> list[dict[str, Any]]:
    """A ConfigMap (the script) and a Job per source plan."""
    out: list[dict[str, Any]] = []
    for plan in plans:
        name = resource_name(plan.namespace, plan.name)
        metadata = {
            "name": name,
            "namespace": plan.namespace,
            "labels": dict(MANAGED_BY),
            "annotations": {"netpolscan.io/probe-source": f"{plan.namespace}/{plan.name}"},
        }
        out.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": metadata,
                "data": {"probe.sh": script(plan, timeout)},
            }
        )
        container: dict[str, Any] = {
            "name": "probe",
            "image": image,
            "command": ["sh", "/probe/probe.sh"],
            "volumeMounts": [{"name": "script", "mountPath": "/probe", "readOnly": True}],
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "runAsNonRoot": True,
                "runAsUser": 65534,
                "capabilities": {"drop": ["ALL"]},
            },
        }
        if plan.variables:
            container["env"] = [{"name": k, "value": v} for k, v in sorted(plan.variables.items())]
        out.append(
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": dict(metadata),
                "spec": {
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": 60 + timeout * max(1, len(plan.probes)) * 2,
                    "ttlSecondsAfterFinished": 3600,
                    "template": {
                        # exactly the source's pod labels: the policies must see this pod as the source
                        "metadata": {"labels": dict(plan.labels)},
                        "spec": {
                            "restartPolicy": "Never",
                            "automountServiceAccountToken": False,
                            "containers": [container],
                            "volumes": [{"name": "script", "configMap": {"name": name}}],
                        },
                    },
                },
            }
        )
    return out


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the script) as literal blocks, so the plan stays readable; strings that
    Kubernetes's YAML 1.1 reader would take for something else (``y``, ``on``) quoted."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None if is_plain_string(value) else '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render_plan(
    inventory: Inventory,
    expectations: ExpectationsFile,
    image: str = DEFAULT_IMAGE,
    timeout: int = DEFAULT_TIMEOUT,
) -> str:
    """The probe plan as one multi-document YAML text, with a header saying how to run it."""
    documents = manifests(build_plan(inventory, expectations), image, timeout)
    header = (
        f"# netpolscan probe plan for {expectations.path}\n"
        "# Needs: a cluster running these policies, the image's `sh` and `nc` (-z, -u, -w), and permission\n"
        "# to create ConfigMaps and Jobs in the source namespaces. Fill in any `<pod IP of ...>` env value.\n"
        "#   kubectl apply -f plan.yaml && kubectl wait --for=condition=complete --timeout=5m job -A \\\n"
        "#     -l app.kubernetes.io/component=probe-plan; kubectl logs -n NAMESPACE job/NAME\n"
    )
    if not documents:
        return header + "# (no source workload matched: nothing to probe)\n"
    body = "---\n".join(yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=1000) for doc in documents)
    return header + body
