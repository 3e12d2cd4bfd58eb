"""Connectivity expectations as code: the file, its checks (NPS701/NPS702), bootstrapping and a probe plan.

- :mod:`.model`: the typed expectations; :mod:`.load`: reading and validating a file (errors exit 2);
- :mod:`.evaluate`: checking each expectation with the semantic engine;
- :mod:`.bootstrap`: today's connectivity written as an expectations file;
- :mod:`.probe`: Kubernetes Jobs that test the expectations from inside a cluster.
"""

from __future__ import annotations

from netpolscan.expectations.evaluate import Outcome, evaluate
from netpolscan.expectations.load import (
    expectations_from_document,
    is_expectations_document,
    load_expectations,
)
from netpolscan.expectations.spec import EndpointSpec, Expectation, ExpectationsFile

__all__ = [
    "EndpointSpec",
    "Expectation",
    "ExpectationsFile",
    "Outcome",
    "evaluate",
    "expectations_from_document",
    "is_expectations_document",
    "load_expectations",
]
