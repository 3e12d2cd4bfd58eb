"""``netpolscan generate``: policies written from expectations or from today's connectivity, verified.

- :mod:`.plan`: who may reach whom on which ports, and why (kind-neutral);
- :mod:`.specs`: the plan as policies (default deny per namespace, one ingress policy per destination
  workload, one egress policy per source workload);
- :mod:`.kinds`: the policies as manifests of one kind; :mod:`.yamltext`: their commented YAML;
- :mod:`.output`: one stream, files per namespace, or a Kustomize component;
- :mod:`.verify`: the input and the generated policies analysed together against the plan.
"""

from __future__ import annotations

from netpolscan.generate.core import Generated, generate
from netpolscan.generate.kinds import KINDS
from netpolscan.generate.verify import Verification, verify

__all__ = ["KINDS", "Generated", "Verification", "generate", "verify"]
