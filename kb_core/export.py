"""Exporting the criteria graph: node-link JSON, GraphML, and pictures (DOT, SVG/PNG via Graphviz).

Data formats (json, graphml) carry the whole graph. Pictures are drawn for people: one
cluster per treatment, the treatment on the left and its criteria listed top-down in file
order, then what each criterion uses (parameters, definitions) and reads (case facts);
sources and the per-criterion version links are left out of the picture (each criterion's
label names its versions). Labels are wrapped so one treatment fits a page width.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import textwrap

import networkx as nx

from kb_core.errors import ExportError, GraphError

__all__ = ["FORMATS", "export_graph", "treatment_subgraph", "to_dot"]

FORMATS = ("json", "graphml", "dot", "svg", "png")

# Relations the picture draws, and how; the rest stay in the data formats only.
_DRAWN = {
    "has_criterion": "",
    "uses": "",
    "reads": 'style=dashed color="#777777"',
    "depends_on": 'color="#b03030" penwidth=1.4 label="depends on" fontcolor="#b03030"',
    "governed_by": 'style=dotted color="#999999"',
    "judges_requests_for": 'style=dotted color="#999999" label="also judges"',
    "requires_prior_trial": 'color="#b03030" label="needs prior trial of"',
    "member_of": 'style=dotted color="#999999"',
}
_STYLE = {
    "treatment": 'shape=box style="rounded,filled,bold" fillcolor="#dbe9f6"',
    "criterion": 'shape=box style="rounded,filled" fillcolor="#ffffff"',
    "parameter": 'shape=note style=filled fillcolor="#fff4d6"',
    "definition": 'shape=box style="filled" fillcolor="#e8f4e0"',
    "fact": 'shape=box style="dashed" fontcolor="#444444"',
    "version": 'shape=box style="filled" fillcolor="#eeeeee"',
    "group": 'shape=box style="filled" fillcolor="#eeeeee"',
}
_WRAP = 28  # characters a label line holds: keeps one treatment within a page width


def treatment_subgraph(G: nx.MultiDiGraph, treatment: str) -> nx.MultiDiGraph:
    """The part of the graph about one treatment: the treatment, its criteria, parameters,
    definitions (and those they use), facts, versions, sources and related kinds.

    Raises:
        GraphError: no such treatment node.
    """
    root = f"treatment:{treatment}"
    if root not in G:
        raise GraphError(f"no treatment '{treatment}' in the graph", fix="use a treatment id from 'mtus plugins'")
    keep = {root}
    frontier = [root]
    while frontier:  # follow edges outward, but never into another treatment's criteria
        node = frontier.pop()
        for _, target, relation in G.out_edges(node, data="relation"):
            if target in keep:
                continue
            if relation in ("judges_requests_for", "requires_prior_trial", "member_of") or G.nodes[target].get("kind") in ("source",):
                keep.add(target)  # shown, not expanded
                continue
            keep.add(target)
            frontier.append(target)
    return G.subgraph(keep).copy()


def _label(node: str, data: dict[str, object]) -> str:
    kind, _, ident = node.partition(":")
    title = str(data.get("label", ident))
    if kind == "criterion":
        head, tag = ident.partition(".")[2] or ident, data.get("verification")
        text = f"{head} [{tag}]\n" + "\n".join(textwrap.wrap(title, _WRAP))
    elif kind == "parameter":
        text = f"{ident.partition('.')[2] or ident} [{data.get('verification')}]\n" + "\n".join(textwrap.wrap(title.partition(' = ')[2] or title, _WRAP)[:3])
    elif kind == "fact":
        text = ident
    else:
        text = "\n".join(textwrap.wrap(title, _WRAP)[:3])
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _id(node: str) -> str:
    return '"' + node.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(G: nx.MultiDiGraph) -> str:
    """A DOT picture of ``G`` for people (see the module docstring); deterministic."""
    kinds = dict(G.nodes(data="kind"))
    owner: dict[str, str] = {}  # criterion -> its treatment, for clusters
    for u, v, relation in G.edges(data="relation"):
        if relation == "has_criterion":
            owner[v] = u
    lines = [
        "digraph mtus {",
        '  graph [rankdir=LR newrank=true nodesep=0.12 ranksep=0.45 fontname="Helvetica" fontsize=12];',
        '  node [fontname="Helvetica" fontsize=10 margin="0.08,0.04"];',
        '  edge [fontname="Helvetica" fontsize=8 arrowsize=0.6 color="#555555"];',
    ]
    drawn = [n for n in sorted(G.nodes) if kinds.get(n) in _STYLE]

    def node_line(n: str) -> str:
        return f"    {_id(n)} [label=\"{_label(n, G.nodes[n])}\" {_STYLE[kinds[n]]} tooltip=\"{_label(n, {'label': G.nodes[n].get('citation', n)})}\"];"

    treatments = [n for n in drawn if kinds[n] == "treatment" and any(owner.get(c) == n for c in owner)]
    clustered = set(treatments) | {c for c in owner if owner[c] in treatments}
    for t in treatments:
        members = [c for u, c, r in G.out_edges(t, data="relation") if r == "has_criterion"]
        lines.append(f"  subgraph {_id('cluster_' + t)} {{")
        lines.append(f'    label="{_label(t, G.nodes[t])}"; style="rounded"; color="#8aa9c8";')
        lines += [node_line(t), *(node_line(c) for c in members)]
        # the criteria in one column, one under the other in file order
        lines.append("    {rank=same; " + " ".join(_id(c) for c in members) + "}")
        lines.append("  }")
    lines += [node_line(n) for n in drawn if n not in clustered]
    seen: set[tuple[str, str, str]] = set()
    for u, v, relation in sorted(G.edges(data="relation"), key=lambda e: (e[0], e[1], str(e[2]))):
        if relation not in _DRAWN or u not in kinds or kinds.get(u) not in _STYLE or kinds.get(v) not in _STYLE or (u, v, relation) in seen:
            continue
        seen.add((u, v, relation))
        lines.append(f"  {_id(u)} -> {_id(v)} [{_DRAWN[relation]}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def export_graph(G: nx.MultiDiGraph, fmt: str) -> bytes:
    """The graph as bytes in ``fmt``: json, graphml, dot, svg or png.

    Raises:
        ExportError: an unknown format, or svg/png requested but Graphviz's ``dot`` is not installed.
    """
    if fmt == "json":
        data = nx.node_link_data(G, edges="edges")
        return (json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()
    if fmt == "graphml":
        buffer = io.BytesIO()
        nx.write_graphml(G, buffer)
        return buffer.getvalue()
    if fmt not in FORMATS:
        raise ExportError(f"unknown graph format '{fmt}'; use one of {', '.join(FORMATS)}")
    dot = to_dot(G).encode()
    if fmt == "dot":
        return dot
    return _render(dot, fmt)


def _render(dot: bytes, fmt: str) -> bytes:
    program = shutil.which("dot")
    if program is None:
        raise ExportError(
            f"{fmt.upper()} needs Graphviz's 'dot' program, which is not installed. "
            "Install Graphviz (e.g. 'apt-get install graphviz') or export --format dot and render it elsewhere"
        )
    run = subprocess.run([program, f"-T{fmt}"], input=dot, capture_output=True, timeout=120)
    if run.returncode != 0:
        raise ExportError(f"Graphviz failed to render {fmt}: {run.stderr.decode(errors='replace').strip()}")
    return run.stdout
