"""The plan of a run: what each stage of each record will do, and why.

Before stages execute, the experiment runs once in map mode: every stage call
computes its cache key (parameters, stage, code, input keys), looks it up, and
records a `PlanNode` instead of running. Walking the nodes from the last to the
first then decides, as a build tool would, what must happen: a leaf (a stage
whose outputs no later stage reads) is needed; a needed stage that is cached is
loaded and needs nothing upstream; a needed stage that must run needs the
producers of its inputs. Everything else is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PlanNode", "Plan", "RUN", "CACHED", "SKIPPED"]

RUN = "run"
CACHED = "cached"
SKIPPED = "skipped"


@dataclass
class PlanNode:
    """One stage call on one record.

    Attributes:
        record_index: the record's position in the manager's records.
        stage: the stage's name.
        key: the stage's cache key.
        inputs: artifact keys the stage reads.
        outputs: artifact keys the stage produces.
        hit: whether a valid cache entry exists (and nothing forces a run).
        reason: why it runs when it does (`no cache`, `overwrite`, ...).
        bundle: the bundle of the first cached output, for explanations.
        action: `run`, `cached` or `skipped`, once decided.
        row: the cache row found (`tether.catalog.experiments.CacheRow`), if any.
        check: looks the key up and fills `row`; called only for calls the plan needs.
    """

    record_index: int
    stage: str
    key: str
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    hit: bool = False
    reason: str = "no cache"
    bundle: str | None = None
    action: str = RUN
    row: Any = None
    check: Callable[[], bool] | None = None

    def is_hit(self) -> bool:
        """Whether the cache holds this call's outputs (looked up on first use)."""
        if self.check is not None:
            self.hit, self.check = self.check(), None
        return self.hit

    def explain(self) -> str:
        """`run: <reason>`, `cached: <key> (<bundle>)` or `skipped: not needed`."""
        if self.action == CACHED:
            return f"cached: {self.key} ({self.bundle or 'pending'})"
        if self.action == SKIPPED:
            return "skipped: not needed"
        return f"run: {self.reason}"


class Plan:
    """The nodes of a mapped run, and the decisions taken on them."""

    def __init__(self) -> None:
        self.nodes: list[PlanNode] = []
        self._by_call: dict[tuple[int, str], PlanNode] = {}

    def add(self, node: PlanNode) -> None:
        """Record a stage call (in call order)."""
        self.nodes.append(node)
        self._by_call[(node.record_index, node.stage)] = node

    def get(self, record_index: int, stage: str, key: str) -> PlanNode | None:
        """The decided node of a call, if the mapped call had the same key."""
        node = self._by_call.get((record_index, stage))
        return node if node is not None and node.key == key else None

    def decide(self) -> None:
        """Set each node's action, from the last node to the first."""
        consumed: set[str] = set()
        for node in self.nodes:
            consumed.update(node.inputs)
        required: set[str] = set()
        for node in reversed(self.nodes):
            leaf = not any(output in consumed for output in node.outputs)
            needed = leaf or any(output in required for output in node.outputs)
            if not needed:
                node.action = SKIPPED
            elif node.is_hit():
                node.action = CACHED
            else:
                node.action = RUN
                required.update(node.inputs)

    def counts(self) -> dict[str, int]:
        """How many nodes will run, load from the cache, and be skipped."""
        totals = {RUN: 0, CACHED: 0, SKIPPED: 0}
        for node in self.nodes:
            totals[node.action] += 1
        return totals
