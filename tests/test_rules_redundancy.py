"""NPS601/NPS602: exact on what the input shows, conservative on what it lacks, one report per duplicate."""

from __future__ import annotations

from netpolscan.testing import run_example
from tests.test_rules_correctness import docs, line_of, lines, pod, policy

RULES = ["NPS601", "NPS602"]
INGRESS = "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Ingress]\ningress:\n"


def test_identical_rules_report_only_the_later_one() -> None:
    rule = "- from:\n  - podSelector: {matchLabels: {app: client}}\n  ports:\n  - {port: 8080}\n"
    text = docs(
        pod("web"), pod("client"), policy(INGRESS + rule + rule.replace("- from:", "- from:  # second"))
    )
    found = run_example(text, RULES)
    assert lines(found) == [("NPS601", line_of(text, "# second"))]
    assert (
        "NetworkPolicy shop/p ingress rule 2" in found[0].message and "covered by rule 1" in found[0].message
    )


def test_identical_policies_report_the_later_policy_and_not_its_rules() -> None:
    body = INGRESS + "- from:\n  - podSelector: {matchLabels: {app: client}}\n"
    text = docs(pod("web"), pod("client"), policy(body, name="first"), policy(body, name="second"))
    found = run_example(text, RULES)
    assert lines(found) == [("NPS602", line_of(text, "apiVersion: networking", 1))]
    assert "shop/second adds nothing" in found[0].message and "shop/first" in found[0].message


def test_ipv6_ipblock_is_not_covered_by_ipv4_rules() -> None:
    text = docs(
        pod("web"),
        policy(
            INGRESS + "- from:\n  - ipBlock: {cidr: 0.0.0.0/0}\n"
            "- from:\n  - ipBlock: {cidr: '2001:db8::/32'}\n"
        ),
    )
    assert run_example(text, RULES) == []
    wider = text.replace("{cidr: 0.0.0.0/0}", "{cidr: '2001::/16'}")
    assert lines(run_example(wider, RULES)) == [("NPS601", line_of(wider, "2001:db8::/32") - 1)]


def test_unscanned_namespace_peer_needs_a_peer_saying_as_much() -> None:
    peer = "  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}\n"
    text = docs(
        pod("web"), policy(INGRESS + "- from:\n" + peer + "  ports:\n  - {port: 9090}\n- from:\n" + peer)
    )
    found = run_example(text, RULES)
    assert lines(found) == [("NPS601", line_of(text, "- from:"))]
    only_pods = docs(
        pod("web"),
        policy(
            INGRESS + "- from:\n" + peer + "  ports:\n  - {port: 9090}\n"
            "- from:\n  - namespaceSelector: {}\n    podSelector: {matchLabels: {a: b}}\n"
        ),
    )
    assert run_example(only_pods, RULES) == []


def test_rule_without_from_is_only_covered_by_another_such_rule() -> None:
    text = docs(
        pod("web"),
        pod("client"),
        policy(
            INGRESS + "- ports:\n  - {port: 80}\n"
            "- from:\n  - namespaceSelector: {}\n  - ipBlock: {cidr: 0.0.0.0/0}\n"
        ),
    )
    assert run_example(text, RULES) == []


def test_narrower_policy_does_not_make_a_default_deny_redundant() -> None:
    deny = policy("podSelector: {}\npolicyTypes: [Ingress, Egress]\n", name="deny")
    narrow = policy(
        "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Ingress, Egress]\n", name="web-deny"
    )
    found = run_example(docs(pod("web"), deny, narrow), RULES)
    assert [f.message.split(" adds")[0] for f in found] == ["NetworkPolicy shop/web-deny"]


def test_named_port_covered_by_its_number_on_the_selected_pods() -> None:
    text = docs(
        pod("web"),
        pod("client"),
        policy(
            INGRESS + "- ports:\n  - {port: 8080}\n- from:\n  - podSelector: {}\n  ports:\n  - {port: http}\n"
        ),
    )
    assert lines(run_example(text, RULES)) == [("NPS601", line_of(text, "- from:"))]


def test_rules_that_allow_nothing_are_left_to_other_rules() -> None:
    text = docs(pod("web"), policy(INGRESS + "- from:\n  - podSelector: {matchLabels: {app: typo}}\n"))
    assert run_example(text, RULES) == []


# --- the indexed analysis decides exactly as the plain definition ------------------------------------
#
# ``_Reference`` is the direct reading of the module docstring (every covering candidate compared per pod
# class and per peer, the way the analysis was first written); the indexed ``Redundancy`` must reach the
# same decisions, with the same helpers in the same order, on inputs mixing overlapping selectors, named
# ports resolving differently per destination, ipBlocks, namespace selectors and unscanned namespaces.

import random  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

from netpolscan.analysis import redundancy as rr  # noqa: E402
from netpolscan.analysis.addresses import iter_bits  # noqa: E402
from netpolscan.analysis.connectivity import connectivity, rule_ports  # noqa: E402
from netpolscan.analysis.ports import NO_PORTS  # noqa: E402
from netpolscan.builtin.correctness_rules import incomplete_namespaces, peer_is_open  # noqa: E402
from netpolscan.builtin.redundancy_rules import analyse  # noqa: E402
from netpolscan.context import ScanContext  # noqa: E402
from netpolscan.model.inventory import Inventory  # noqa: E402
from netpolscan.model.selectors import LabelSelector, Requirement  # noqa: E402
from netpolscan.sources.yamlparse import parse_text  # noqa: E402


class _Reference:
    def __init__(self, ctx: ScanContext):
        self.ctx = ctx
        self.inventory = ctx.inventory
        self.conn = connectivity(ctx.inventory)
        self.removed_policies: set[int] = set()
        self.removed_grants: set[tuple[str, int]] = set()
        self.policy_findings: list = []
        self.rule_findings: list = []
        self.by_class = {d: [[] for _ in self.conn.classes] for d in rr.DIRECTIONS}
        self.by_policy: dict = {}
        for direction in rr.DIRECTIONS:
            for grant in self.conn.grants[direction]:
                self.by_policy.setdefault((direction, id(grant.policy)), []).append(grant)
                for index in iter_bits(grant.selected):
                    self.by_class[direction][index].append(grant)
        self.decide_policies()
        self.decide_rules()

    def kept(self, direction, cls, policy):
        return [
            g
            for g in self.by_class[direction][cls.index]
            if id(g.policy) not in self.removed_policies
            and (direction, g.index) not in self.removed_grants
            and g.policy.namespace == policy.namespace
            and rr.selects_superset(g.policy.pod_selector, policy.pod_selector)
        ]

    def compare(self, grant, cls, others):
        rule, direction = grant.rule, grant.direction
        result = rr._Check()
        if (
            direction == "ingress"
            and grant.policy.namespace in incomplete_namespaces(self.ctx)
            and any(spec.is_named for r in (rule, *(o.rule for o in others)) for spec in r.ports)
        ):
            result.covered = False
            return result

        def need_met(need, covering):
            if not need:
                return
            result.allows = True
            have = NO_PORTS
            for other, ports in covering:
                if ports & need:
                    result.helpers.add(other.index)
                    have = have | ports
            if need - have:
                result.covered = False

        for peer_index in iter_bits(grant.peers):
            destination = cls if direction == "ingress" else self.conn.classes[peer_index]
            need_met(
                rule_ports(rule, destination.ports),
                [(o, rule_ports(o.rule, destination.ports)) for o in others if o.peers >> peer_index & 1],
            )
            if not result.covered:
                return result
        if grant.external:
            ext_ports = cls.ports if direction == "ingress" else None
            for segment in iter_bits(grant.external):
                need_met(
                    rule_ports(rule, ext_ports),
                    [(o, rule_ports(o.rule, ext_ports)) for o in others if o.external >> segment & 1],
                )
                if not result.covered:
                    return result
        for peer in rr._unknown_peers(
            lambda policy, peer: peer_is_open(self.ctx, policy, peer), grant.policy, rule
        ):
            result.allows = True
            covering = [
                o
                for o in others
                if o.rule.all_peers
                or (peer is not None and any(rr._peer_covers(q, peer) for q in o.rule.peers))
            ]
            if direction == "ingress":
                have = NO_PORTS
                for o in covering:
                    have = have | rule_ports(o.rule, cls.ports)
                ok = not (rule_ports(rule, cls.ports) - have)
            else:
                ok = rr._ports_cover_unknown(rule, [o.rule for o in covering])
            if not ok:
                result.covered = False
                return result
            result.helpers.update(o.index for o in covering)
        return result

    def classes(self, policy):
        seen: dict = {}
        for workload in self.ctx.selection.selected(policy):
            cls = self.conn.class_of(workload)
            seen.setdefault(cls.index, cls)
        return list(seen.values())

    def decide_policies(self):
        for policy in reversed(self.ctx.inventory.policies):  # noqa: F402
            classes = self.classes(policy)
            if not classes:
                continue
            helpers: list = []
            redundant = True
            for direction in rr.DIRECTIONS:
                if direction not in (t.lower() for t in policy.policy_types):
                    continue
                isolating = [
                    q
                    for q in self.ctx.inventory.policies_in(policy.namespace)
                    if q is not policy
                    and id(q) not in self.removed_policies
                    and q.namespace == policy.namespace
                    and direction in (t.lower() for t in q.policy_types)
                    and rr.selects_superset(q.pod_selector, policy.pod_selector)
                ]
                if not isolating:
                    redundant = False
                    break
                helpers.append(isolating[0])
                for grant in self.by_policy.get((direction, id(policy)), []):
                    allows = False
                    for cls in classes:
                        others = [g for g in self.kept(direction, cls, policy) if g.policy is not policy]
                        check_ = self.compare(grant, cls, others)
                        if not check_.covered:
                            redundant = False
                            break
                        allows = allows or check_.allows
                        helpers.extend(g for g in others if g.index in check_.helpers)
                    if not allows:
                        redundant = False
                    if not redundant:
                        break
                if not redundant:
                    break
            if redundant:
                self.removed_policies.add(id(policy))
                self.policy_findings.append((policy, "", helpers))
        self.policy_findings.reverse()

    def decide_rules(self):
        order = [
            (direction, grant)
            for policy in self.ctx.inventory.policies
            if id(policy) not in self.removed_policies
            for direction in rr.DIRECTIONS
            for grant in self.by_policy.get((direction, id(policy)), [])
        ]
        for direction, grant in reversed(order):
            classes = self.classes(grant.policy)
            if not classes:
                continue
            allows, covered, helpers = False, True, []
            for cls in classes:
                others = [g for g in self.kept(direction, cls, grant.policy) if g is not grant]
                check_ = self.compare(grant, cls, others)
                if not check_.covered:
                    covered = False
                    break
                allows = allows or check_.allows
                helpers.extend(g for g in others if g.index in check_.helpers and g not in helpers)
            if covered and allows:
                self.removed_grants.add((direction, grant.index))
                self.rule_findings.append((grant, helpers))
        self.rule_findings.reverse()


def _context(text: str) -> ScanContext:
    return ScanContext(Inventory.from_documents(list(parse_text(text, "random.yaml"))))


def _decisions(analysis) -> tuple[list, list]:
    policies = [(id(p), [id(h) for h in helpers]) for p, _, helpers in analysis.policy_findings]
    rules = [(id(g), [id(h) for h in helpers]) for g, helpers in analysis.rule_findings]
    return policies, rules


_KEYS = ("app", "tier", "team")
_VALUES = ("a", "b", "c")
_NAMESPACES = ("n1", "n2", "n3")


def _random_selector(rng: random.Random, allow_empty: bool = True) -> str:
    terms = []
    if rng.random() < 0.5:
        terms.append(f"matchLabels: {{{rng.choice(_KEYS)}: {rng.choice(_VALUES)}}}")
    if rng.random() < 0.4 or (not allow_empty and not terms):
        operator = rng.choice(("In", "NotIn", "Exists"))
        values = "" if operator == "Exists" else f", values: [{rng.choice(_VALUES)}]"
        terms.append(f"matchExpressions: [{{key: {rng.choice(_KEYS)}, operator: {operator}{values}}}]")
    return "{" + ", ".join(terms) + "}"


def _random_ports(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return ""
    choices = [
        "{port: http}",
        "{port: metrics}",
        "{port: 80}",
        "{port: 8080}",
        "{port: 8000, endPort: 8100}",
        "{protocol: UDP, port: 53}",
        "{protocol: UDP}",
        "{port: dns, protocol: UDP}",
    ]
    return "  ports: [" + ", ".join(rng.sample(choices, rng.randint(1, 3))) + "]\n"


def _random_peer(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return f"  - podSelector: {_random_selector(rng)}\n"
    if roll < 0.55:
        ns = rng.choice((*_NAMESPACES, "elsewhere"))
        pods = f"\n    podSelector: {_random_selector(rng)}" if rng.random() < 0.5 else ""
        return f"  - namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {ns}}}}}{pods}\n"
    if roll < 0.7:
        return f"  - namespaceSelector: {{}}\n    podSelector: {_random_selector(rng)}\n"
    if roll < 0.8:
        return "  - namespaceSelector: {}\n"
    cidr = rng.choice(("10.0.0.0/8", "10.1.0.0/16", "0.0.0.0/0", "10.1.2.0/24", "2001:db8::/32"))
    hole = rng.choice(("", ", except: [10.1.2.0/24]", ", except: [10.1.0.0/16]"))
    if ":" in cidr:
        hole = ""
    return f"  - ipBlock: {{cidr: {cidr}{hole}}}\n"


def _random_manifest(seed: int) -> str:
    rng = random.Random(seed)
    parts = []
    for ns in _NAMESPACES:
        parts.append(f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n")
    all_ports = [("http", 80, "TCP"), ("http", 8080, "TCP"), ("metrics", 9090, "TCP"), ("dns", 53, "UDP")]
    for i in range(rng.randint(3, 9)):
        ns = rng.choice(_NAMESPACES)
        labels = ", ".join(f"{k}: {rng.choice(_VALUES)}" for k in _KEYS if rng.random() < 0.8)
        ports = rng.sample(all_ports, rng.randint(0, 2))
        if len({name for name, _, _ in ports}) < len(ports):
            ports = ports[:1]
        listed = "".join(
            f"    - {{name: {name}, containerPort: {number}, protocol: {protocol}}}\n"
            for name, number, protocol in ports
        )
        parts.append(
            f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: w{i}\n  namespace: {ns}\n"
            f"  labels: {{{labels}}}\n  annotations: {{}}\nspec:\n"
            + (f"  podIP: 10.1.2.{i + 1}\n" if rng.random() < 0.3 else "")
            + "  containers:\n  - name: c\n    image: x\n"
            + (f"    ports:\n{listed}" if listed else "")
        )
    for i in range(rng.randint(4, 14)):
        ns = rng.choice(_NAMESPACES)
        types = rng.choice((["Ingress"], ["Egress"], ["Ingress", "Egress"]))
        body = f"podSelector: {_random_selector(rng)}\npolicyTypes: [{', '.join(types)}]\n"
        for direction, side in (("ingress", "from"), ("egress", "to")):
            if direction.capitalize() not in types:
                continue
            rules = ""
            for _ in range(rng.randint(0, 3)):
                if rng.random() < 0.15:
                    rules += "- " + (_random_ports(rng).lstrip() or "{}\n")
                    continue
                peers = "".join(_random_peer(rng) for _ in range(rng.randint(1, 2)))
                rules += f"- {side}:\n{peers}{_random_ports(rng)}"
            if rules:
                body += f"{direction}:\n{rules}"
        parts.append(policy(body, name=f"p{i}", ns=ns))
        if rng.random() < 0.25:  # an exact duplicate, to make redundancy common
            parts.append(policy(body, name=f"p{i}-copy", ns=ns))
    return docs(*parts)


def _assert_same_decisions(text: str) -> int:
    reference = _Reference(_context(text))
    ctx = _context(text)
    indexed = analyse(ctx)

    # the two contexts hold different objects: compare by position instead of identity
    def positions(analysis):
        policies = {id(p): n for n, p in enumerate(analysis.inventory.policies)}
        grants = {id(g): (g.direction, g.index) for d in rr.DIRECTIONS for g in analysis.conn.grants[d]}
        ids = {**policies, **grants}
        found_policies, found_rules = _decisions(analysis)
        return (
            [(ids[p], [ids[h] for h in helpers]) for p, helpers in found_policies],
            [(ids[g], [ids[h] for h in helpers]) for g, helpers in found_rules],
        )

    assert positions(indexed) == positions(reference)
    return len(indexed.policy_findings) + len(indexed.rule_findings)


def test_indexed_analysis_decides_like_the_definition_on_random_inputs() -> None:
    reported = 0
    for seed in range(250):
        text = _random_manifest(seed)
        try:
            reported += _assert_same_decisions(text)
        except AssertionError:
            print(text, file=sys.stderr)
            raise
    assert reported > 50  # the inputs do exercise the decisions


def test_indexed_analysis_decides_like_the_definition_on_the_benchmark_shapes() -> None:
    generate = pytest.importorskip("benchmarks.generate")
    for shape, size in (("dense", 300), ("app", 80)):
        text = "".join(generate.documents(size, shape, seed=3))
        assert _assert_same_decisions(text) > 0, shape


def test_wider_index_agrees_with_selects_superset() -> None:
    rng = random.Random(5)
    pool = [LabelSelector()]
    for _ in range(60):
        labels = tuple(sorted({(rng.choice(_KEYS), rng.choice(_VALUES)) for _ in range(rng.randint(0, 2))}))
        exprs = tuple(
            Requirement(rng.choice(_KEYS), rng.choice(("In", "Exists")), frozenset({rng.choice(_VALUES)}))
            for _ in range(rng.randint(0, 2))
        )
        pool.append(LabelSelector(labels, exprs))
    items = [(selector, n) for n, selector in enumerate(pool)]
    index = rr._WiderIndex(items, rr._Terms())
    for narrow in pool:
        assert index.wider(narrow) == [n for wide, n in items if rr.selects_superset(wide, narrow)]


def test_partition_groups_members_by_their_covering_grants() -> None:
    class G:  # a stand-in with the one bitset the partition reads
        def __init__(self, peers: int):
            self.peers = peers

    others = [G(0b1100), G(0b0110), G(0b10000), G(0b1)]
    parts = rr._partition(0b1111, others, "peers")  # type: ignore[arg-type]
    assert sum(bits for bits, _ in parts) == 0b1111
    for bits, covering in parts:
        for member in iter_bits(bits):
            assert covering == [o for o in others if o.peers >> member & 1]
