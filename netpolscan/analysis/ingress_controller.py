"""The ``{ingress-controller}`` peer: connections an Ingress or a Route opens to its backend workloads.

The controller is a pod of a namespace the input lacks, with labels nobody knows, so a workload admits it
where its ingress is open to any pod of any namespace (not isolated, an empty ``from``, or
``namespaceSelector: {}`` without a pod selector). The connection is limited to the backends' target
ports: a Service port's ``targetPort`` (a number, or a name resolved on the workload's container ports).
"""

from __future__ import annotations

from collections import defaultdict

from netpolscan.analysis.connlist import Row
from netpolscan.analysis.endpoints import workload_label
from netpolscan.analysis.exposure import entire_cluster_conn
from netpolscan.analysis.ports import NO_PORTS, PortSet
from netpolscan.model.ingress import Backend, backends
from netpolscan.model.inventory import Inventory
from netpolscan.model.objects import Service, ServicePort, Workload

INGRESS_CONTROLLER = "{ingress-controller}"


def _service_ports(service: Service, backend: Backend) -> list[ServicePort]:
    if backend.port is None:
        return list(service.ports)
    if isinstance(backend.port, int):  # the Service port, or (as netpol-analyzer matches) its target
        return [port for port in service.ports if backend.port in (port.port, port.target_port)]
    return [
        port
        for port in service.ports
        if port.name == backend.port or (backend.target and port.target_port == backend.port)
    ]


def _selects(service: Service, workload: Workload) -> bool:
    selector = service.selector
    return (
        selector is not None
        and workload.namespace == service.namespace
        and all(workload.labels.get(key) == value for key, value in selector.items())
    )


def _target_ports(workload: Workload, ports: list[ServicePort]) -> PortSet:
    found: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for port in ports:
        target = port.target_port
        number = target if isinstance(target, int) else workload.resolve_port(target, port.protocol)
        if number is not None:
            found[port.protocol].append((number, number))
    return PortSet(found) if found else NO_PORTS


def exposed_backends(inventory: Inventory) -> list[tuple[Workload, Backend, PortSet]]:
    """(workload, Ingress/Route backend, the workload's target ports behind it), in input order."""
    services: dict[tuple[str, str], Service] = {(s.namespace, s.name): s for s in inventory.services}
    found: list[tuple[Workload, Backend, PortSet]] = []
    for backend in backends(inventory):
        service = services.get((backend.namespace, backend.service))
        if service is None:
            continue
        ports = _service_ports(service, backend)
        for workload in inventory.workloads_in(service.namespace):
            if ports and _selects(service, workload):
                found.append((workload, backend, _target_ports(workload, ports)))
    return found


def ingress_controller_connections(inventory: Inventory) -> dict[str, tuple[PortSet, str]]:
    """Workload label -> (ports the ingress controller may open, namespace), for exposed workloads."""
    exposed: dict[int, tuple[Workload, PortSet]] = {}
    for workload, _, ports in exposed_backends(inventory):
        previous = exposed.get(id(workload))
        exposed[id(workload)] = (workload, ports | previous[1] if previous else ports)
    found: dict[str, tuple[PortSet, str]] = {}
    for workload, targets in exposed.values():
        allowed = targets & entire_cluster_conn(inventory, workload, "ingress").ports
        if allowed:
            label = workload_label(workload)
            known = found.get(label)
            found[label] = (allowed | known[0] if known else allowed, workload.namespace)
    return found


def ingress_controller_rows(inventory: Inventory) -> list[Row]:
    """Rows ``{ingress-controller} => workload``, sorted (they sort after every other row)."""
    return [
        Row(INGRESS_CONTROLLER, label, ports, None, namespace)
        for label, (ports, namespace) in sorted(ingress_controller_connections(inventory).items())
    ]
