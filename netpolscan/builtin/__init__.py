"""The built-in plugin: netpolscan's own rules and output formats, registered like any third party's.

It is the entry point ``builtin`` of the ``netpolscan`` group (see pyproject.toml). Each rule's metadata
(name, level, security severity, tags, help) comes from its documentation file in ``rules/``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TextIO

from netpolscan import hookimpl, rule_from_doc
from netpolscan.builtin import (  # noqa: F401  (each module registers its checks)
    cilium_rules,
    cluster_policy_rules,
    correctness_rules,
    egress_rules,
    expectation_rules,
    ingress_rules,
    input_rules,
    isolation_rules,
    kube_system_rules,
    meta_rules,
    redundancy_rules,
    unresolved_context_rules,
)
from netpolscan.builtin.registry import CHECKS
from netpolscan.model.tiers import PolicyKind
from netpolscan.plugin_api import Formatter, Report, Rule
from netpolscan.ruledoc import RuleDoc, load_rule_docs

DOCS_URL = "https://github.com/netpolscan/netpolscan/blob/main/rules/"


def builtin_rule(doc: RuleDoc) -> Rule:
    """A built-in rule: the check registered for its id, the metadata of its doc in ``rules/``."""
    return rule_from_doc(doc, CHECKS[doc.id], help_uri=DOCS_URL + doc.path.name, plugin="builtin")


@hookimpl
def netpolscan_register_rules(register: Callable[[Rule], None]) -> None:
    docs = load_rule_docs()
    for rule_id in sorted(CHECKS):
        if rule_id in docs:
            register(builtin_rule(docs[rule_id]))


class BuiltinFormat:
    """A built-in output format, imported when a run first uses it (a text scan never loads sarif_om).

    Called with a report it returns the text, like any plugin's formatter; :meth:`write` streams it to a
    file instead, when the module has a ``write(report, stream)`` (the report is then never one string).
    """

    def __init__(self, module: str) -> None:
        self.module = f"netpolscan.report.{module}"

    def __call__(self, report: Report) -> str:
        return str(importlib.import_module(self.module).render(report))

    def write(self, report: Report, stream: TextIO) -> None:
        module = importlib.import_module(self.module)
        writer = getattr(module, "write", None)
        if writer is None:
            stream.write(module.render(report))
        else:
            writer(report, stream)


BUILTIN_FORMATS = {
    "text": "text",
    "json": "json_report",
    "sarif": "sarif",
    "github": "github",
    "gitlab": "gitlab",
    "junit": "junit",
    "markdown": "markdown",
    "html": "html",
}


@hookimpl
def netpolscan_register_policy_kinds(register: Callable[[PolicyKind], None]) -> None:
    """The built-in policy kinds (ClusterNetworkPolicy/ANP/BANP, Cilium, Calico), registered the way a
    third party registers its own."""
    from netpolscan.policykinds import builtin_kinds

    for kind in builtin_kinds():
        register(kind)


@hookimpl
def netpolscan_register_formatters(register: Callable[[str, Formatter], None]) -> None:
    for name, module in BUILTIN_FORMATS.items():
        register(name, BuiltinFormat(module))
