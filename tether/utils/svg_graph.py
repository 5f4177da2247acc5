"""A layered drawing of a directed graph as SVG, in pure Python (no graphviz binary).

The layout is the classic layered one: each node goes to the layer after the
deepest of its predecessors (longest path), nodes within a layer are ordered by
a few barycenter sweeps that keep the order with the fewest crossings between
adjacent layers, and each node is then pulled toward the mean position of its
predecessors without overlapping its neighbour. Every step is linear or
n log n in the size of the graph, so a graph of thousands of nodes draws in a
few tens of milliseconds.

Usage:
    graph = Graph(direction="LR")
    graph.add_node("a", "load", kind="stage")
    graph.add_node("b", "train", kind="stage")
    graph.add_edge("a", "b")
    svg_text = render_svg(graph)
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass, field
from html import escape

__all__ = ["Graph", "GraphNode", "GraphEdge", "Layout", "layout", "render_svg", "GRAPH_CSS"]

CHAR_WIDTH = 7.0
LINE_HEIGHT = 15.0
PADDING = 8.0
NODE_GAP = 14.0
LAYER_GAP = 44.0
MARGIN = 10.0
MAX_LABEL = 48
SWEEPS = 4

GRAPH_CSS = """
svg.tether-graph { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
svg.tether-graph .node rect { fill: #f6f8fa; stroke: #57606a; stroke-width: 1; rx: 4; }
svg.tether-graph .node text { fill: #1f2328; }
svg.tether-graph .node .detail { fill: #57606a; font-size: 10px; }
svg.tether-graph .record rect { fill: #ddf4ff; stroke: #0969da; }
svg.tether-graph .aggregate rect { fill: #fbefff; stroke: #8250df; }
svg.tether-graph .artifact rect { fill: #fff; stroke-dasharray: 3 2; }
svg.tether-graph .cached rect, svg.tether-graph .skipped rect { fill: #f6f8fa; stroke: #8c959f; }
svg.tether-graph .ran rect, svg.tether-graph .success rect { fill: #dafbe1; stroke: #1a7f37; }
svg.tether-graph .failed rect, svg.tether-graph .error rect { fill: #ffebe9; stroke: #cf222e; }
svg.tether-graph .running rect, svg.tether-graph .pending rect { fill: #fff8c5; stroke: #9a6700; }
svg.tether-graph .edge { fill: none; stroke: #8c959f; stroke-width: 1.2; }
svg.tether-graph .edge.input { stroke: #8250df; stroke-dasharray: 5 3; }
svg.tether-graph .arrow { fill: #8c959f; }
""".strip()


@dataclass
class GraphNode:
    """A box in the drawing.

    Attributes:
        id: unique within the graph.
        label: the first line of text (cut to 48 characters; `title` keeps it all).
        kind: CSS classes of the node (`record`, `stage`, `artifact`, `task`, ...).
        detail: an optional second, smaller line.
        title: the tooltip; defaults to the label and detail.
        href: a link the node opens, relative to the page.
    """

    id: str
    label: str
    kind: str = ""
    detail: str = ""
    title: str = ""
    href: str | None = None


@dataclass
class GraphEdge:
    """An arrow from `source` to `target` (node ids); `kind` adds CSS classes."""

    source: str
    target: str
    kind: str = ""


@dataclass
class Graph:
    """Nodes and edges to draw; `direction` is `TB` (top to bottom) or `LR` (left to right)."""

    direction: str = "TB"
    nodes: dict[str, GraphNode] = field(default_factory=dict)
    edges: list[GraphEdge] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.direction not in ("TB", "LR"):
            raise ValueError(f"direction is 'TB' or 'LR', not {self.direction!r}")

    def add_node(
        self, id: str, label: str, *, kind: str = "", detail: str = "", title: str = "",
        href: str | None = None,
    ) -> GraphNode:
        """Add a node (or replace the one with this id) and return it."""
        node = GraphNode(id, label, kind, detail, title, href)
        self.nodes[id] = node
        return node

    def add_edge(self, source: str, target: str, *, kind: str = "") -> None:
        """Add an arrow between two node ids.

        Raises:
            KeyError: either end is not a node of the graph.
        """
        for end in (source, target):
            if end not in self.nodes:
                raise KeyError(f"edge end {end!r} is not a node of the graph; add it first")
        self.edges.append(GraphEdge(source, target, kind))


@dataclass
class Layout:
    """Where each node sits: id -> (x, y, width, height) of its box, and the drawing's size."""

    boxes: dict[str, tuple[float, float, float, float]]
    width: float
    height: float


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "\u2026"


def _size(node: GraphNode) -> tuple[float, float]:
    chars = max(len(_short(node.label)), len(_short(node.detail)) * 10 / 12)
    lines = 2 if node.detail else 1
    return chars * CHAR_WIDTH + 2 * PADDING, lines * LINE_HEIGHT + PADDING


def _layers(graph: Graph) -> list[list[str]]:
    """Longest-path layering; an edge closing a cycle is ignored for layering."""
    index = {node_id: n for n, node_id in enumerate(graph.nodes)}
    preds: dict[str, list[str]] = {node_id: [] for node_id in graph.nodes}
    succs: dict[str, list[str]] = {node_id: [] for node_id in graph.nodes}
    for edge in graph.edges:
        if edge.source != edge.target:
            preds[edge.target].append(edge.source)
            succs[edge.source].append(edge.target)
    waiting = {node_id: len(p) for node_id, p in preds.items()}
    ready = [index[node_id] for node_id, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    ids = list(graph.nodes)
    layer: dict[str, int] = {}
    while len(layer) < len(ids):
        if not ready:
            # A cycle: free the earliest waiting node, as if its unplaced
            # predecessors came after it.
            ready = [min(index[node_id] for node_id in ids if node_id not in layer)]
        node_id = ids[heapq.heappop(ready)]
        if node_id in layer:
            continue
        layer[node_id] = max((layer[p] + 1 for p in preds[node_id] if p in layer), default=0)
        for child in succs[node_id]:
            waiting[child] -= 1
            if waiting[child] == 0 and child not in layer:
                heapq.heappush(ready, index[child])
    for node_id in ids:
        # A source feeding only deep nodes moves next to them, so that its edge
        # stays short (an aggregate's record beside the aggregate stage).
        if not preds[node_id] and succs[node_id]:
            layer[node_id] = max(layer[node_id], min(layer[child] for child in succs[node_id]) - 1)
    result: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for node_id in ids:
        result[layer[node_id]].append(node_id)
    return result


def _crossings(upper: list[str], lower_pos: dict[str, int], upper_pos: dict[str, int],
               succs: dict[str, list[str]]) -> int:
    """Crossings between two adjacent layers: inversions among the edges' lower ends."""
    ends = sorted(
        (upper_pos[u], lower_pos[v]) for u in upper for v in succs[u] if v in lower_pos
    )
    seen: list[int] = []
    count = 0
    for _, pos in ends:
        count += len(seen) - bisect.bisect_right(seen, pos)
        bisect.insort(seen, pos)
    return count


def _order(graph: Graph, layers: list[list[str]]) -> list[list[str]]:
    """Barycenter sweeps down and up, keeping the ordering with the fewest crossings."""
    preds: dict[str, list[str]] = {node_id: [] for node_id in graph.nodes}
    succs: dict[str, list[str]] = {node_id: [] for node_id in graph.nodes}
    for edge in graph.edges:
        preds[edge.target].append(edge.source)
        succs[edge.source].append(edge.target)

    def total(order: list[list[str]]) -> int:
        pos = [{node_id: n for n, node_id in enumerate(row)} for row in order]
        return sum(_crossings(order[i], pos[i + 1], pos[i], succs) for i in range(len(order) - 1))

    best = [list(row) for row in layers]
    best_count = total(best)
    current = [list(row) for row in layers]
    # Relative positions, so that layers of different sizes compare.
    pos = {node_id: (n + 0.5) / len(row) for row in current for n, node_id in enumerate(row)}
    for sweep in range(SWEEPS):
        if best_count == 0:
            break
        down = sweep % 2 == 0
        rows = range(1, len(current)) if down else range(len(current) - 2, -1, -1)
        neighbours = preds if down else succs
        for i in rows:
            row = current[i]
            keys = []
            for n, node_id in enumerate(row):
                linked = [pos[other] for other in neighbours[node_id]]
                keys.append(sum(linked) / len(linked) if linked else (n + 0.5) / len(row))
            row = current[i] = [node_id for _, _, node_id in sorted(zip(keys, range(len(row)), row))]
            pos.update((node_id, (n + 0.5) / len(row)) for n, node_id in enumerate(row))
        count = total(current)
        if count < best_count:
            best, best_count = [list(row) for row in current], count
    return best


def layout(graph: Graph) -> Layout:
    """Place the nodes of `graph`; see the module docstring for the method."""
    if not graph.nodes:
        return Layout({}, 2 * MARGIN, 2 * MARGIN)
    sizes = {node_id: _size(node) for node_id, node in graph.nodes.items()}
    along = 0 if graph.direction == "TB" else 1  # the axis nodes of one layer line up on
    order = _order(graph, _layers(graph))
    preds: dict[str, list[str]] = {node_id: [] for node_id in graph.nodes}
    for edge in graph.edges:
        preds[edge.target].append(edge.source)

    succs: dict[str, list[str]] = {node_id: [] for node_id in graph.nodes}
    for edge in graph.edges:
        succs[edge.source].append(edge.target)

    # Down: each node as near the mean of its predecessors as its left neighbour allows.
    centre: dict[str, float] = {}
    for row in order:
        cursor = MARGIN
        for node_id in row:
            size = sizes[node_id][along]
            linked = [centre[p] for p in preds[node_id] if p in centre]
            wanted = sum(linked) / len(linked) - size / 2 if linked else cursor
            start = max(cursor, wanted)
            centre[node_id] = start + size / 2
            cursor = start + size + NODE_GAP
    # Up: a parent moves right over its children when its neighbours leave room,
    # so that a fan-out is centred under its source rather than hanging to its right.
    for row in reversed(order[:-1]):
        for n, node_id in enumerate(row):
            linked = [centre[c] for c in succs[node_id]]
            if not linked:
                continue
            half = sizes[node_id][along] / 2
            wanted = sum(linked) / len(linked)
            if wanted <= centre[node_id]:
                continue
            if n + 1 < len(row):
                neighbour = row[n + 1]
                wanted = min(wanted, centre[neighbour] - sizes[neighbour][along] / 2 - NODE_GAP - half)
            centre[node_id] = max(centre[node_id], wanted)
    extent = max(centre[node_id] + sizes[node_id][along] / 2 for node_id in centre) + MARGIN

    boxes: dict[str, tuple[float, float, float, float]] = {}
    depth = MARGIN
    for row in order:
        thickness = max(sizes[node_id][1 - along] for node_id in row)
        for node_id in row:
            width, height = sizes[node_id]
            if along == 0:
                boxes[node_id] = (centre[node_id] - width / 2, depth + (thickness - height) / 2, width, height)
            else:
                boxes[node_id] = (depth + (thickness - width) / 2, centre[node_id] - height / 2, width, height)
        depth += thickness + LAYER_GAP
    depth += MARGIN - LAYER_GAP
    width, height = (extent, depth) if along == 0 else (depth, extent)
    return Layout(boxes, width, height)


def _edge_path(source: tuple[float, ...], target: tuple[float, ...], direction: str) -> str:
    sx, sy, sw, sh = source
    tx, ty, tw, th = target
    if direction == "TB":
        x1, y1, x2, y2 = sx + sw / 2, sy + sh, tx + tw / 2, ty
        bend = max(abs(y2 - y1) / 2, 12.0)
        return f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f} {x2:.1f},{y2 - bend:.1f} {x2:.1f},{y2:.1f}"
    x1, y1, x2, y2 = sx + sw, sy + sh / 2, tx, ty + th / 2
    bend = max(abs(x2 - x1) / 2, 12.0)
    return f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"


def render_svg(graph: Graph, *, id_prefix: str = "g", style: bool = True) -> str:
    """The graph drawn as an `<svg>` element, every text escaped.

    Args:
        graph: what to draw.
        id_prefix: prefix of the element ids, distinct for each graph of a page.
        style: embed `GRAPH_CSS` in the drawing, so that it stands alone.

    Returns:
        SVG markup: nodes are `<g class="node KIND" data-id=ID>` holding a
        `<title>`, a `<rect>` and `<text>`; edges are `<path class="edge KIND"
        data-source=ID data-target=ID>`.
    """
    placed = layout(graph)
    marker = f"{escape(id_prefix)}-arrow"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="tether-graph" width="{placed.width:.0f}"'
        f' height="{placed.height:.0f}" viewBox="0 0 {placed.width:.0f} {placed.height:.0f}">',
    ]
    if style:
        parts.append(f"<style>{GRAPH_CSS}</style>")
    parts.append(
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7"'
        ' markerHeight="7" orient="auto-start-reverse"><path class="arrow" d="M0,0 L10,5 L0,10 z"/>'
        "</marker></defs>"
    )
    # Ids, kinds and labels repeat (an id in each of its edges, a stage name in
    # every record): escaping each distinct text once halves the cost of a big graph.
    escaped: dict[str, str] = {}

    def esc(text: str) -> str:
        value = escaped.get(text)
        if value is None:
            value = escaped[text] = escape(text)
        return value

    boxes = placed.boxes
    for edge in graph.edges:
        path = _edge_path(boxes[edge.source], boxes[edge.target], graph.direction)
        parts.append(
            f'<path class="{esc(("edge " + edge.kind).strip())}" data-source="{esc(edge.source)}"'
            f' data-target="{esc(edge.target)}" d="{path}" marker-end="url(#{marker})"/>'
        )
    for node_id, node in graph.nodes.items():
        x, y, width, height = boxes[node_id]
        title = node.title or (f"{node.label}\n{node.detail}" if node.detail else node.label)
        text_x = x + PADDING
        detail = ""
        if node.detail:
            detail = (
                f'<text class="detail" x="{text_x:.1f}" y="{y + PADDING / 2 + 2 * LINE_HEIGHT - 4:.1f}">'
                f"{esc(_short(node.detail))}</text>"
            )
        element = (
            f'<g class="{esc(("node " + node.kind).strip())}" data-id="{esc(node_id)}">'
            f"<title>{escape(title)}</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}"/>'
            f'<text x="{text_x:.1f}" y="{y + PADDING / 2 + LINE_HEIGHT - 3:.1f}">{esc(_short(node.label))}</text>'
            f"{detail}</g>"
        )
        if node.href:
            element = f'<a href="{escape(node.href)}">{element}</a>'
        parts.append(element)
    parts.append("</svg>")
    return "\n".join(parts)
