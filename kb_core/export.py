"""Exporting the criteria graph: node-link JSON, GraphML, DOT, and SVG/PNG via Graphviz."""

from __future__ import annotations

import io
import json
import shutil
from typing import Any

import networkx as nx

from kb_core.errors import ExportError


def _quoted(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    # DOT reads "a:b" as node a, port b; quote every name and text value.
    def q(value: Any) -> Any:
        return '"' + str(value).replace('"', "'") + '"' if isinstance(value, str) else value

    H = nx.MultiDiGraph()
    for node, data in G.nodes(data=True):
        H.add_node(q(node), **{k: q(v) for k, v in data.items()})
    for u, v, data in G.edges(data=True):
        H.add_edge(q(u), q(v), **{k: q(val) for k, val in data.items()})
    return H


def export_graph(G: nx.MultiDiGraph, fmt: str) -> bytes:
    """The graph as bytes in ``fmt``: json, graphml, dot, svg or png.

    Raises:
        ExportError: svg/png requested but Graphviz's ``dot`` is not installed.
    """
    if fmt == "json":
        data = nx.node_link_data(G, edges="edges")
        return (json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()
    if fmt == "graphml":
        buffer = io.BytesIO()
        nx.write_graphml(G, buffer)
        return buffer.getvalue()
    dot = nx.nx_pydot.to_pydot(_quoted(G))
    if fmt == "dot":
        return dot.to_string().encode()
    if shutil.which("dot") is None:
        raise ExportError(
            f"{fmt.upper()} needs Graphviz's 'dot' program, which is not installed. "
            "Install Graphviz (e.g. 'apt-get install graphviz') or export --format dot and render it elsewhere"
        )
    try:
        return bytes(dot.create(prog="dot", format=fmt))
    except Exception as exc:  # pydot reports Graphviz failures with assorted types
        raise ExportError(f"Graphviz failed to render {fmt}: {exc}") from exc
