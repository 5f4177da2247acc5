"""The graph of an experiment run: records, the stages each ran through, the artifacts they made.

Drawn left to right with `tether.utils.svg_graph`: a record node (one per
parameter set, aggregates too) leads to its first stage; each stage points to
the artifacts it produced (marked `cached` when loaded from the cache rather
than computed); an artifact points to the later stages of the record that take
it as an input (also across a `make_copy`), and the stages of a record are
chained in run order where no artifact links them; stages a copied record
inherited are drawn on the record they ran for. Aggregate records get an edge
from each input record (to the artifact the aggregate read, when it can be told).
"""

from __future__ import annotations

from typing import Any

from tether.utils.svg_graph import Graph, render_svg

__all__ = ["stage_graph", "stage_graph_svg"]


def _label(record: Any) -> tuple[str, str]:
    args = getattr(record, "args", None)
    name = getattr(args, "name", None) if args is not None else None
    getter = getattr(record, "get_hash", None)
    digest = str((getter() if callable(getter) else None) or "")
    if getattr(record, "is_aggregate", False):
        return ("aggregate" + (f" ({name})" if name else "")), digest[:10]
    return str(name or "record"), digest[:10]


def stage_graph(manager: Any) -> Graph:
    """The run's records, stages and artifacts as a `Graph`; node ids are `r<i>`, `r<i>/<stage>`, `a<j>`."""
    graph = Graph(direction="LR")
    records = list(getattr(manager, "records", None) or [])
    index = {id(record): n for n, record in enumerate(records)}
    produced: dict[tuple[int, str], list[tuple[int, Any]]] = {}
    # An artifact by the state key a record keeps for it (`<stage key>/<name>`), so
    # that a copied record's stages link to the artifacts of the record it came from.
    by_state_key: dict[str, str] = {}
    for n, artifact in enumerate(getattr(manager, "artifacts", None) or []):
        key = (id(getattr(artifact, "record", None)), str(getattr(artifact, "stage", "")))
        produced.setdefault(key, []).append((n, artifact))
        by_state_key[f"{getattr(artifact, 'key', '')}/{getattr(artifact, 'name', '')}"] = f"a{n}"

    # The newest artifact of each name, per record, for input edges.
    latest: dict[int, dict[str, str]] = {}
    first: dict[int, str] = {}  # the node of each record's first stage
    for n, record in enumerate(records):
        label, digest = _label(record)
        kind = "record aggregate" if getattr(record, "is_aggregate", False) else "record"
        graph.add_node(f"r{n}", label, kind=kind, detail=digest, title=f"{label} {digest}")
    for n, record in enumerate(records):
        names = latest.setdefault(n, {})
        previous = f"r{n}"
        stages = list(getattr(record, "stages", None) or [])
        inputs = list(getattr(record, "stage_inputs", None) or [])
        outputs = list(getattr(record, "stage_outputs", None) or [])
        timings = getattr(record, "stage_timings", None) or {}
        statuses = getattr(record, "stage_status", None) or {}
        state_keys = getattr(record, "state_keys", None) or {}
        occurrences: dict[str, int] = {}
        for position, stage in enumerate(stages):
            if statuses and stage not in statuses:
                # Inherited from the record this one was copied from: drawn there.
                continue
            # A stage a record runs twice gets a node per run: `r0/clean`, `r0/clean#2`.
            occurrence = occurrences[stage] = occurrences.get(stage, 0) + 1
            node = f"r{n}/{stage}" if occurrence == 1 else f"r{n}/{stage}#{occurrence}"
            first.setdefault(n, node)
            status = str(statuses.get(stage, ""))
            seconds = timings.get(stage)
            detail = " ".join(
                part for part in (status, f"{seconds:.3f}s" if isinstance(seconds, (int, float)) else "") if part
            )
            graph.add_node(node, stage, kind=f"stage {status}".strip(), detail=detail)
            linked = False
            for name in inputs[position] if position < len(inputs) else ():
                source = names.get(name)
                if source is None and getattr(record, "is_aggregate", False):
                    continue
                if source is None and name in state_keys:
                    source = by_state_key.get(state_keys[name])
                if source is not None:
                    graph.add_edge(source, node)
                    linked = True
            if not linked:
                graph.add_edge(previous, node)
            # Artifacts are listed in the order stages made them: this run of the
            # stage made the first still unclaimed one of each of its outputs.
            unclaimed = produced.get((id(record), stage), [])
            made = []
            for name in outputs[position] if position < len(outputs) else ():
                at = next((i for i, (_, a) in enumerate(unclaimed) if str(getattr(a, "name", "")) == name), None)
                if at is not None:
                    made.append(unclaimed.pop(at))
            made_names = {str(getattr(artifact, "name", "")) for _, artifact in made}
            for artifact_n, artifact in made:
                artifact_id = f"a{artifact_n}"
                name = str(getattr(artifact, "name", ""))
                cached = bool(getattr(artifact, "cached", False))
                type_name = str(getattr(artifact, "type_name", "") or "")
                preview = str(getattr(artifact, "preview", "") or "")
                detail = " ".join(part for part in ("cached" if cached else "computed", type_name) if part)
                title = "\n".join(part for part in (name, detail, preview, str(getattr(artifact, "key", "") or "")) if part)
                graph.add_node(
                    artifact_id, name, kind=f"artifact {'cached' if cached else 'computed'}",
                    detail=detail, title=title,
                )
                graph.add_edge(node, artifact_id)
                names[name] = artifact_id
            for name in outputs[position] if position < len(outputs) else ():
                if name not in made_names:
                    # An output the run kept in memory only (no cacher): still drawn.
                    artifact_id = f"{node}/{name}"
                    graph.add_node(artifact_id, str(name), kind="artifact", detail="not cached")
                    graph.add_edge(node, artifact_id)
                    names[str(name)] = artifact_id
            previous = node

    for n, record in enumerate(records):
        if not getattr(record, "is_aggregate", False):
            continue
        inputs = list(getattr(record, "stage_inputs", None) or [])
        wanted = {name for names in inputs for name in names}
        target = first.get(n, f"r{n}")
        for source in getattr(record, "input_records", None) or []:
            m = index.get(id(source))
            if m is None:
                continue
            feeding = [latest[m][name] for name in wanted if name in latest.get(m, {})]
            if feeding:
                for artifact_id in feeding:
                    graph.add_edge(artifact_id, target, kind="input")
            else:
                graph.add_edge(f"r{m}", f"r{n}", kind="input")
    return graph


def stage_graph_svg(manager: Any) -> str:
    """The run's graph as SVG markup (see the module docstring)."""
    if not getattr(manager, "records", None):
        return '<p class="note">No records.</p>'
    return render_svg(stage_graph(manager), id_prefix="stages")
