"""netpol-analyzer's focus options on the connectivity list: which workloads, peers, direction, connection.

``--focus-workload W1,W2`` keeps the rows with a focus workload on either side (``NAME`` matches a
workload of any namespace, ``NS/NAME`` one namespace); ``--focus-workload-peer P`` (with a focus workload)
keeps the rows whose other side is one of the peers; ``--focus-direction ingress|egress`` keeps the rows
entering (destination) or leaving (source) a focus workload; ``--focus-conn tcp-8080`` keeps the rows
allowing that one connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from netpolscan.analysis.connlist import Row
from netpolscan.analysis.endpoints import workload_label
from netpolscan.analysis.ports import PROTOCOL_ORDER, PortSet
from netpolscan.errors import NetpolscanError
from netpolscan.model.inventory import Inventory

FOCUS_DIRECTIONS = ("ingress", "egress")


def workload_name(label: str) -> str | None:
    """``ns/name`` of a workload endpoint label ``ns/name[Kind]`` (None for other endpoints)."""
    if label.endswith("[External]") or "/" not in label or not label.endswith("]"):
        return None
    return label[: label.rindex("[")]


def name_matches(label: str, wanted: str) -> bool:
    """Whether the endpoint ``label`` is the workload ``wanted`` (``NAME`` or ``NS/NAME``)."""
    if label.startswith("{"):  # {ingress-controller}
        return label.strip("{}") == wanted
    name = workload_name(label)
    if name is None:
        return False
    return name == wanted if "/" in wanted else name.split("/", 1)[1] == wanted


@dataclass(frozen=True)
class Focus:
    """The focus options of one ``connectivity`` run (empty: no focus)."""

    workloads: tuple[str, ...] = ()
    peers: tuple[str, ...] = ()
    direction: str | None = None
    conn: tuple[str, int] | None = None

    def __post_init__(self) -> None:
        if self.peers and not self.workloads:
            raise NetpolscanError("--focus-workload-peer applies only with --focus-workload")
        if self.direction is not None and not self.workloads:
            raise NetpolscanError("--focus-direction applies only with --focus-workload")

    @property
    def conn_text(self) -> str:
        """``TCP 8080`` for ``--focus-conn tcp-8080`` (empty without it)."""
        return "" if self.conn is None else f"{self.conn[0]} {self.conn[1]}"

    def is_focus(self, label: str) -> bool:
        return not self.workloads or any(name_matches(label, w) for w in self.workloads)

    def is_peer(self, label: str) -> bool:
        return not self.peers or any(name_matches(label, p) for p in self.peers)

    def keeps_pair(self, src: str, dst: str) -> bool:
        """Whether a row ``src => dst`` passes the workload, peer and direction filters."""
        if not self.workloads:
            return True
        if self.direction != "ingress" and self.is_focus(src) and self.is_peer(dst):
            return True
        return self.direction != "egress" and self.is_focus(dst) and self.is_peer(src)

    def keeps_direction(self, direction: str) -> bool:
        """Whether exposure of a focus workload in ``direction`` is shown."""
        return self.direction is None or self.direction == direction

    def keeps_ports(self, ports: PortSet) -> bool:
        return self.conn is None or ports.contains(*self.conn)


NO_FOCUS = Focus()


def parse_focus(workloads: str | None, peers: str | None, direction: str | None, conn: str | None) -> Focus:
    """The Focus of the command-line values (comma-separated names; ``PROTOCOL-PORT`` for conn)."""
    return Focus(
        _names(workloads),
        _names(peers),
        direction.lower() if direction else None,
        parse_conn(conn) if conn else None,
    )


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def parse_conn(text: str) -> tuple[str, int]:
    """``tcp-8080`` -> ("TCP", 8080)."""
    protocol, _, number = text.strip().partition("-")
    protocol = protocol.upper()
    if protocol not in PROTOCOL_ORDER or not number.isdigit() or not 1 <= int(number) <= 65535:
        raise NetpolscanError(
            f"bad --focus-conn {text!r}: expected PROTOCOL-PORT with TCP, UDP or SCTP, e.g. tcp-8080"
        )
    return protocol, int(number)


def focused(rows: Sequence[Row], focus: Focus) -> list[Row]:
    """The rows of the connectivity list that ``focus`` keeps."""
    return [row for row in rows if focus.keeps_pair(row.src, row.dst) and focus.keeps_ports(row.ports)]


def workload_nodes(inventory: Inventory, focus: Focus) -> list[tuple[str, str]]:
    """(label, namespace) of the workloads a graph shows even when they have no connection."""
    found = {(label, w.namespace) for w in inventory.workloads if focus.is_focus(label := workload_label(w))}
    return sorted(found)
