"""The criteria graph: guideline data as a ``networkx.MultiDiGraph``, and queries on it.

Node keys are ``"<kind>:<id>"`` (``criterion:work_conditioning.time_since_injury``,
``parameter:...``, ``definition:...``, ``fact:request.quantity``, ``treatment:...``,
``version:cpmtg-2009``, ``source:cpmtg``, ``group:...``). Every node has ``kind`` and
``label``; cited nodes also have ``citation`` (display text). Edges have ``relation``:

=====================  =========================================================
relation               meaning
=====================  =========================================================
has_criterion          treatment -> criterion
has_parameter          treatment -> parameter
uses                   criterion -> parameter / definition; definition -> definition
reads                  criterion -> fact
depends_on             criterion -> criterion
applies_under          criterion -> version (the governing text it is encoded for)
governed_by            treatment -> version
version_of             version -> source
cites                  criterion / parameter / definition / group -> source
requires_prior_trial   treatment -> treatment kind
judges_requests_for    treatment -> treatment kind it also judges (``requested_as``)
member_of              treatment kind -> program group ("same or similar program")
=====================  =========================================================

Query functions take the graph first and return new objects (networkx style).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from kb_core._loader import GuidelineSet
from kb_core._model import Citation, SourceVersion
from kb_core.errors import GraphError

__all__ = [
    "ACYCLIC_RELATIONS",
    "build_graph",
    "citation_index",
    "citation_text",
    "criteria_for",
    "dependents",
    "facts_needed",
    "nodes_of_kind",
]

if TYPE_CHECKING:
    import networkx as nx  # imported where a graph is built: evaluating cases never needs it

# Relations whose cycles make the knowledge base meaningless.
ACYCLIC_RELATIONS = ("depends_on", "uses", "requires_prior_trial")


def citation_text(gs: GuidelineSet, citation: Citation, version: SourceVersion | None = None) -> str:
    """Render a citation the way reviewers write it.

    When ``version`` (the governing text chosen for a request) belongs to the cited source,
    its label and its name for the section are used; page numbers are printed only for
    the edition they belong to (a version with ``pages_from`` is cited without pages).
    """
    source = gs.sources[citation.source]
    if version is not None and version.source == source.id:
        label, pages_from, section = version.label, version.pages_from, citation.section_for(version.id)
    else:
        last = gs.versions[source.versions[-1]]
        label, pages_from, section = (source.title if len(source.versions) > 1 else last.label), None, citation.section
    text = f"{label}, {section}"
    # A text paginated differently from the one the pages were taken from (pages_from) is
    # cited by section name alone, as reviewers cite it: its own pages are not known.
    if citation.pages and not pages_from:
        prefix = "pp." if "-" in citation.pages else "p."
        text += f", {prefix}{citation.pages}"
    if citation.item:
        text += f", {citation.item}"
    return text


def build_graph(gs: GuidelineSet) -> nx.MultiDiGraph:
    """Build the criteria graph and check it: no cycles among dependencies.

    Raises:
        GraphError: a cycle, naming its edges and the file of the first node on it.
    """
    import networkx as nx

    G = nx.MultiDiGraph()
    for sid, source in gs.sources.items():
        G.add_node(f"source:{sid}", kind="source", label=source.title, tier=source.tier)
    for vid, version in gs.versions.items():
        G.add_node(
            f"version:{vid}", kind="version", label=version.label, tier=version.tier,
            effective_from=str(version.effective_from or ""), effective_until=str(version.effective_until or ""),
        )
        G.add_edge(f"version:{vid}", f"source:{version.source}", relation="version_of")
    for kid, title in gs.treatment_kinds.items():
        G.add_node(f"treatment:{kid}", kind="treatment", label=title, encoded=kid in gs.treatments)
    for gid, group in gs.program_groups.items():
        G.add_node(f"group:{gid}", kind="group", label=group.title, citation=citation_text(gs, group.citation))
        G.add_edge(f"group:{gid}", f"source:{group.citation.source}", relation="cites")
        for member in group.members:
            G.add_edge(f"treatment:{member}", f"group:{gid}", relation="member_of")
    for did, definition in gs.definitions.items():
        G.add_node(
            f"definition:{did}", kind="definition", label=definition.term,
            citation=citation_text(gs, definition.citation_on(dt.date.max)), verification=definition.verification.status,
        )
        G.add_edge(f"definition:{did}", f"source:{definition.citation.source}", relation="cites")
        for used in definition.uses:
            G.add_edge(f"definition:{did}", f"definition:{used}", relation="uses")
    for pid, param in gs.parameters.items():
        G.add_node(
            f"parameter:{pid}", kind="parameter", label=f"{param.name} = {param.value} {param.unit}",
            citation=citation_text(gs, param.citation), verification=param.verification.status,
            tier=gs.sources[param.citation.source].tier,
        )
        G.add_edge(f"parameter:{pid}", f"source:{param.citation.source}", relation="cites")
    for tid, treatment in gs.treatments.items():
        node = f"treatment:{tid}"
        G.add_node(node, kind="treatment", label=treatment.title, encoded=True)
        for kind in treatment.requested_as:
            if kind != tid:
                G.add_edge(node, f"treatment:{kind}", relation="judges_requests_for")
        for vid in treatment.governed_by:
            G.add_edge(node, f"version:{vid}", relation="governed_by")
        for kind in treatment.requires_prior_trial_of:
            G.add_edge(node, f"treatment:{kind}", relation="requires_prior_trial")
        for pid in treatment.parameters:
            G.add_edge(node, f"parameter:{pid}", relation="has_parameter")
    for cid, criterion in gs.criteria.items():
        node = f"criterion:{cid}"
        G.add_node(
            node, kind="criterion", label=criterion.title, role=criterion.role,
            citation=citation_text(gs, criterion.citation), verification=criterion.verification.status,
            tier=gs.sources[criterion.citation.source].tier, body_regions=",".join(criterion.body_regions),
        )
        G.add_edge(f"treatment:{criterion.treatment}", node, relation="has_criterion")
        G.add_edge(node, f"source:{criterion.citation.source}", relation="cites")
        for vid in criterion.applies_to:
            G.add_edge(node, f"version:{vid}", relation="applies_under")
        for pid in criterion.parameters:
            if pid in gs.parameters:  # the rest name treatment relations, drawn from the treatment node
                G.add_edge(node, f"parameter:{pid}", relation="uses")
        for did in criterion.definitions:
            G.add_edge(node, f"definition:{did}", relation="uses")
        for fact in criterion.facts:
            G.add_node(f"fact:{fact}", kind="fact", label=fact)
            G.add_edge(node, f"fact:{fact}", relation="reads")
        for dep in criterion.depends_on:
            G.add_edge(node, f"criterion:{dep}", relation="depends_on")
    _check_acyclic(G, gs)
    return G


def _check_acyclic(G: nx.MultiDiGraph, gs: GuidelineSet) -> None:
    import networkx as nx

    dependency = nx.DiGraph(
        (u, v) for u, v, relation in G.edges(data="relation") if relation in ACYCLIC_RELATIONS
    )
    try:
        cycle = nx.find_cycle(dependency)
    except nx.NetworkXNoCycle:
        return
    first = cycle[0][0]
    kind, _, ident = first.partition(":")
    path, line = gs.declared_at.get(({"criterion": "criterion", "definition": "definition", "treatment": "treatment"}[kind], ident), ("<guidelines>", None))
    raise GraphError(
        "dependency cycle " + " -> ".join([u for u, _ in cycle] + [cycle[-1][1]]),
        path=path, line=line, where=ident,
        fix="remove one depends_on/uses/requires_prior_trial_of link so the chain has an end",
    )


def _successors(G: nx.MultiDiGraph, node: str, relation: str) -> list[str]:
    return [v for _, v, r in G.out_edges(node, data="relation") if r == relation]


def criteria_for(
    G: nx.MultiDiGraph,
    treatment: str,
    on: dt.date | str | None = None,
    body_region: str | None = None,
    versions: dict[str, SourceVersion] | None = None,
) -> list[str]:
    """Criterion ids that apply to ``treatment``, in file order.

    With ``on`` (a date or an ISO string such as ``"2015-03-02"``), only criteria encoded
    for the version in force that day (dates from ``versions``, the GuidelineSet's mapping,
    else from the graph's version nodes); with ``body_region``, only criteria that are not
    limited to other regions.

    Raises:
        GraphError: ``on`` is a string that is not an ISO date.
    """
    if isinstance(on, str):
        try:
            on = dt.date.fromisoformat(on)
        except ValueError:
            raise GraphError(f"'{on}' is not a date", fix="write it as YYYY-MM-DD") from None
    chosen: set[str] | None = None
    if on is not None:
        chosen = {
            v.partition(":")[2] for v in _successors(G, f"treatment:{treatment}", "governed_by")
            if (versions[v.partition(":")[2]].in_force(on) if versions is not None else _node_in_force(G.nodes[v], on))
        }
    out = []
    for node in _successors(G, f"treatment:{treatment}", "has_criterion"):
        if chosen is not None and not chosen & {v.partition(":")[2] for v in _successors(G, node, "applies_under")}:
            continue
        regions = G.nodes[node].get("body_regions")
        if body_region is not None and regions and body_region not in regions.split(","):
            continue
        out.append(node.partition(":")[2])
    return out


def _node_in_force(data: dict[str, str], on: dt.date) -> bool:
    start, until = data.get("effective_from") or "", data.get("effective_until") or ""
    return (not start or dt.date.fromisoformat(start) <= on) and (not until or on <= dt.date.fromisoformat(until))


def facts_needed(G: nx.MultiDiGraph, treatment: str) -> list[str]:
    """Every case fact the criteria of ``treatment`` read, sorted."""
    facts = {
        fact.partition(":")[2]
        for criterion in _successors(G, f"treatment:{treatment}", "has_criterion")
        for fact in _successors(G, criterion, "reads")
    }
    return sorted(facts)


def dependents(G: nx.MultiDiGraph, node: str) -> list[str]:
    """Everything that relies, directly or not, on ``node`` (e.g. ``definition:plateau``).

    Follows uses / depends_on / reads / has_criterion edges backwards, so the answer
    includes the criteria, definitions and treatments a change to ``node`` would affect.
    """
    if node not in G:
        raise GraphError(f"no node '{node}' in the graph", fix="use '<kind>:<id>', e.g. parameter:work_conditioning.max_years_since_injury")
    import networkx as nx

    reverse = nx.DiGraph(
        (v, u) for u, v, r in G.edges(data="relation") if r in ("uses", "depends_on", "reads", "has_criterion", "has_parameter")
    )
    return sorted(nx.descendants(reverse, node)) if node in reverse else []


def citation_index(G: nx.MultiDiGraph) -> dict[str, list[str]]:
    """Citation text -> the nodes (criteria, parameters, definitions, groups) that carry it."""
    index: dict[str, list[str]] = {}
    for node, citation in sorted(G.nodes(data="citation")):
        if citation:
            index.setdefault(citation, []).append(node)
    return dict(sorted(index.items()))


def nodes_of_kind(G: nx.MultiDiGraph, kind: str) -> Iterable[str]:
    return (n for n, k in G.nodes(data="kind") if k == kind)
