"""The semantic engine: isolation, peer resolution, allowed connections (computed once per scan)."""

from netpolscan.analysis.selection import PeerScope, Selection, selection

__all__ = ["PeerScope", "Selection", "selection"]
