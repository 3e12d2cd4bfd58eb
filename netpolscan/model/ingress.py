"""Ingress (networking.k8s.io) and OpenShift Route objects: which Service ports they expose.

Each backend is a Service of the object's namespace and a port: an Ingress names the Service port by
number or name (``networking.k8s.io/v1``; ``serviceName``/``servicePort`` in the older versions); a Route
names a target port (a number, or a name matched against the Service's port names and target ports) or
none (every port of the Service).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from netpolscan.model.inventory import Inventory
from netpolscan.model.kinds import object_namespace

INGRESS_KINDS = ("Ingress", "Route")
ROUTE_GROUP = "route.openshift.io"


@dataclass(frozen=True)
class Backend:
    """A Service port exposed by an Ingress or a Route (``port`` None: every port of the Service)."""

    kind: str
    namespace: str
    name: str  # of the Ingress or Route
    service: str
    port: int | str | None
    target: bool = False  # a Route's targetPort (matched against the Service's target ports too)


def _get(data: Any, *path: str) -> Any:
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data


def _port(value: Any) -> int | str | None:
    if isinstance(value, bool):
        return None
    return value if isinstance(value, int | str) and value != "" else None


def _ingress_backend(raw: Any, namespace: str, owner: str) -> Backend | None:
    service = _get(raw, "service")
    if isinstance(service, dict):  # networking.k8s.io/v1
        name = service.get("name")
        port = _port(_get(service, "port", "number")) or _port(_get(service, "port", "name"))
    else:  # extensions/v1beta1, networking.k8s.io/v1beta1
        name = _get(raw, "serviceName")
        port = _port(_get(raw, "servicePort"))
    if not isinstance(name, str) or not name or port is None:
        return None
    return Backend("Ingress", namespace, owner, name, port)


def _ingress(data: dict[str, Any], namespace: str) -> Iterator[Backend]:
    spec = data.get("spec")
    owner = str(_get(data, "metadata", "name") or "")
    for raw in (_get(spec, "defaultBackend"), _get(spec, "backend")):
        found = _ingress_backend(raw, namespace, owner)
        if found is not None:
            yield found
    rules = _get(spec, "rules")
    for rule in rules if isinstance(rules, list) else []:
        paths = _get(rule, "http", "paths")
        for path in paths if isinstance(paths, list) else []:
            found = _ingress_backend(_get(path, "backend"), namespace, owner)
            if found is not None:
                yield found


def _route(data: dict[str, Any], namespace: str) -> Iterator[Backend]:
    spec = data.get("spec")
    port = _port(_get(spec, "port", "targetPort"))
    owner = str(_get(data, "metadata", "name") or "")
    alternates = _get(spec, "alternateBackends")
    for target in [_get(spec, "to"), *(alternates if isinstance(alternates, list) else [])]:
        name = _get(target, "name")
        kind = _get(target, "kind")
        if isinstance(name, str) and name and kind in (None, "Service"):
            yield Backend("Route", namespace, owner, name, port, target=True)


def backends(inventory: Inventory) -> list[Backend]:
    """Every Service port an Ingress or Route of the input exposes (computed once)."""
    cached = inventory.cache.get("ingress_backends")
    if isinstance(cached, list):
        return cached
    found: list[Backend] = []
    for document in inventory.documents:
        data = document.data
        kind = document.kind
        if kind not in INGRESS_KINDS or not isinstance(data, dict):
            continue
        api_version = data.get("apiVersion")
        namespace = object_namespace(data, inventory.default_namespace)
        if kind == "Ingress":
            found.extend(_ingress(data, namespace))
        elif isinstance(api_version, str) and api_version.partition("/")[0] == ROUTE_GROUP:
            found.extend(_route(data, namespace))
    inventory.cache["ingress_backends"] = found
    return found
