"""The criteria graph and its queries."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil

import networkx as nx
import pytest

import kb_core
from kb_core.export import export_graph
from kb_core.graph import citation_index, criteria_for, dependents, facts_needed


def test_graph_links_treatment_criteria_parameters_definitions_and_facts(kb: kb_core.KnowledgeBase) -> None:
    G = kb.graph
    assert G.nodes["treatment:work_conditioning"]["kind"] == "treatment"
    assert G.has_edge("treatment:work_conditioning", "criterion:work_conditioning.prior_pt_plateau")
    assert G.has_edge("criterion:work_conditioning.time_since_injury", "parameter:work_conditioning.max_years_since_injury")
    assert G.has_edge("criterion:work_conditioning.prior_pt_plateau", "definition:plateau")
    assert G.has_edge("definition:plateau", "definition:functional_improvement")
    assert G.has_edge("treatment:work_conditioning", "treatment:physical_therapy")  # requires a prior trial
    assert G.has_edge("treatment:work_hardening", "group:rehabilitation_programs")  # same or similar program
    assert G.nodes["criterion:work_conditioning.visit_quantity"]["tier"] == "odg"


def test_criteria_for_a_treatment_on_a_date(kb: kb_core.KnowledgeBase) -> None:
    G, versions = kb.graph, kb.guidelines.versions
    in_2014 = criteria_for(G, "work_conditioning", on=dt.date(2014, 5, 21), versions=versions)
    assert len(in_2014) == 11 and in_2014[0] == "work_conditioning.job_demand"
    assert criteria_for(G, "work_conditioning", on=dt.date(2018, 1, 2), versions=versions) == []
    assert criteria_for(G, "work_conditioning", body_region="lumbar_spine") == in_2014


def test_facts_a_treatment_needs(kb: kb_core.KnowledgeBase) -> None:
    facts = facts_needed(kb.graph, "work_conditioning")
    assert {"dates.injury", "worker.physical_demand_level", "prior_treatments", "request.quantity"} <= set(facts)


def test_what_depends_on_a_definition_and_a_parameter(kb: kb_core.KnowledgeBase) -> None:
    on_fi = dependents(kb.graph, "definition:functional_improvement")
    assert "definition:plateau" in on_fi and "criterion:work_conditioning.prior_pt_plateau" in on_fi
    assert "treatment:work_conditioning" in on_fi
    on_years = dependents(kb.graph, "parameter:work_conditioning.max_years_since_injury")
    assert "criterion:work_conditioning.time_since_injury" in on_years
    with pytest.raises(kb_core.GraphError):
        dependents(kb.graph, "definition:nonexistent")


def test_citation_index(kb: kb_core.KnowledgeBase) -> None:
    index = citation_index(kb.graph)
    wc = [k for k in index if "Work conditioning, work hardening, pp.125-126, criterion (2)" in k]
    assert wc and "criterion:work_conditioning.prior_pt_plateau" in index[wc[0]]


def test_exports_read_back(kb: kb_core.KnowledgeBase) -> None:
    data = json.loads(export_graph(kb.graph, "json"))
    assert any(n["id"] == "criterion:work_conditioning.job_demand" for n in data["nodes"])
    back = nx.read_graphml(io.BytesIO(export_graph(kb.graph, "graphml")))
    assert back.number_of_nodes() == kb.graph.number_of_nodes()
    dot = export_graph(kb.graph, "dot").decode()
    assert dot.startswith(("digraph", "strict digraph")) and '"criterion:work_conditioning.job_demand"' in dot


def test_svg_export_or_clear_message_without_graphviz(kb: kb_core.KnowledgeBase) -> None:
    if shutil.which("dot"):
        assert b"<svg" in export_graph(kb.graph, "svg")
    else:
        with pytest.raises(kb_core.ExportError, match="Graphviz"):
            export_graph(kb.graph, "svg")
