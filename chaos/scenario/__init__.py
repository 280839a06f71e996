"""Scenario files: typed model, generated JSON Schema, loader with line numbers, templates."""

from chaos.scenario.loader import LoadedScenario, load_scenario, parse_scenario
from chaos.scenario.model import Assertion, FaultSpec, Probe, Scenario, UpstreamSpec
from chaos.scenario.schema import scenario_json_schema
from chaos.scenario.template import fill_template

__all__ = [
    "Assertion",
    "FaultSpec",
    "LoadedScenario",
    "Probe",
    "Scenario",
    "UpstreamSpec",
    "fill_template",
    "load_scenario",
    "parse_scenario",
    "scenario_json_schema",
]
