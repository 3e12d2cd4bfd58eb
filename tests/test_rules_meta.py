"""NPS901: expired, unreadable and current suppression dates; the scan date is the `today` option."""

from __future__ import annotations

import datetime as dt

from netpolscan.testing import run_example

OBJECT = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: open
  namespace: shop
  annotations:
    {annotations}
spec:
  podSelector: {{}}
  policyTypes: [Egress]
  egress:
  - {{}}
"""


def scan(annotations: str, today: object = dt.date(2025, 3, 1)) -> list[tuple[str, int, str]]:
    text = OBJECT.format(annotations=annotations.replace("\n", "\n    "))
    found = run_example(text, ["NPS901", "NPS301"], {"today": today})
    return [(f.rule_id, f.location.line, f.message) for f in found]


def test_expired_suppression_points_at_the_until_annotation_and_stops_working() -> None:
    found = scan("netpolscan.io/ignore: NPS301\nnetpolscan.io/ignore-until: '2025-02-28'")
    assert sorted((r, line) for r, line, _ in found) == [("NPS301", 13), ("NPS901", 8)]
    message = next(m for r, _, m in found if r == "NPS901")
    assert "NetworkPolicy shop/open" in message and "(2025-02-28) is past" in message


def test_until_today_still_works() -> None:
    assert scan("netpolscan.io/ignore: NPS301\nnetpolscan.io/ignore-until: '2025-03-01'") == []


def test_unreadable_date_is_reported() -> None:
    found = scan("netpolscan.io/ignore: all\nnetpolscan.io/ignore-until: 'next sprint'")
    assert ("NPS901", 8) in [(r, line) for r, line, _ in found]
    assert any("not a YYYY-MM-DD date" in m for _, _, m in found)


def test_until_without_ignore_is_not_a_suppression() -> None:
    found = scan("netpolscan.io/ignore-reason: none\nnetpolscan.io/ignore-until: '2020-01-01'")
    assert [r for r, _, _ in found] == ["NPS301"]


def test_today_as_text() -> None:
    until = "netpolscan.io/ignore: NPS301\nnetpolscan.io/ignore-until: '2025-02-28'"
    assert scan(until, today="2025-01-01") == []  # neither expired for the engine nor for NPS901
    assert sorted(r for r, _, _ in scan(until, today="2025-03-01")) == ["NPS301", "NPS901"]


def test_today_option_reaches_the_rule() -> None:
    text = OBJECT.format(annotations="netpolscan.io/ignore: NPS301\n    netpolscan.io/ignore-until: '2025-02-28'")
    assert run_example(text, ["NPS901"], {"today": dt.date(2025, 2, 28)}) == []
    assert len(run_example(text, ["NPS901"], {"today": dt.date(2025, 3, 1)})) == 1
