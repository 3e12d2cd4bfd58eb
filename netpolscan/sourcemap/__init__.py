"""Mapping a finding's location in rendered output back to the file the user edits.

- :mod:`~netpolscan.sourcemap.helm_template`: reading a Helm template's text (not YAML) to find where a
  rendered field is written, through ``include``/``define``, ``if``/``range`` arms and splices;
- :mod:`~netpolscan.sourcemap.charts`: finding the chart a ``# Source:`` comment names;
- :mod:`~netpolscan.sourcemap.yaml_sources`: plain YAML sources (Kustomize origins, ``crds/``);
- :mod:`~netpolscan.sourcemap.mapper`: :class:`SourceMapper`, which ties them together.
"""

from netpolscan.sourcemap.helm_template import template_position
from netpolscan.sourcemap.mapper import SourceMapper

__all__ = ["SourceMapper", "template_position"]
