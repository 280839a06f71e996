"""Check the files a scenario refers to, so ``chaos validate`` refuses what ``chaos run`` would.

A scenario that parses can still be unrunnable: its gateway config template may be missing, not
UTF-8, or use a placeholder the runner does not fill; its policy bundle may not load or compile.
``chaos run`` would find each of these only after starting processes (a ``broken`` run);
:func:`check_references` finds them up front, located at the scenario field that names the file
(or at the line of the bad placeholder, or at the bundle's own file:line:col).

>>> check_references(load_scenario("scenarios/provider-outage.yaml"))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from chaos.errors import ScenarioError
from chaos.scenario.loader import LoadedScenario
from chaos.scenario.model import Scenario
from chaos.scenario.template import fill_template
from governance.errors import Location

# Placeholders the runner fills in every config template (chaos/runner/stack.py template_values).
RUN_PLACEHOLDERS = ("audit_path", "audit_dir", "gpu_control_file", "keys_file", "config_file",
                    "policy_bundle", "run_id", "seed")


def placeholder_names(scenario: Scenario) -> tuple[str, ...]:
    """Every ``${name}`` a config template of ``scenario`` may use."""
    names = list(RUN_PLACEHOLDERS)
    for spec in scenario.upstreams:
        names += [f"upstreams.{spec.name}.{key}" for key in ("base_url", "model", "gpu_device")]
    return tuple(names)


def check_references(loaded: LoadedScenario, *, compile_policy: bool = True,
                     checked_bundles: set[Path] | None = None) -> None:
    """Raises ScenarioError (template) or the governance error of the policy bundle.

    ``checked_bundles``: bundle directories already checked in this session (skipped).
    """
    scenario = loaded.scenario
    template = scenario.target.config_template
    if template is not None:
        _check_template(loaded, template)
    bundle_dir = loaded.resolve(scenario.policy.bundle)
    if checked_bundles is not None and bundle_dir in checked_bundles:
        return
    from governance.engine.bundle import load_bundle

    if not bundle_dir.exists():
        raise ScenarioError(f"policy bundle {bundle_dir} does not exist",
                            location=Location(str(loaded.path), field="policy.bundle"))
    bundle = load_bundle(bundle_dir)
    if compile_policy:
        from governance.engine.regorus_engine import check_modules

        check_modules(bundle)  # what the run's own decision engine would refuse
    if checked_bundles is not None:
        checked_bundles.add(bundle_dir)


def _check_template(loaded: LoadedScenario, template: str) -> None:
    path = loaded.resolve(template)
    where = Location(str(loaded.path), field="target.config_template")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"cannot read config template {path}: {exc.strerror or exc}",
                            location=where) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"config template {path} is not UTF-8 text: {exc.reason} at byte "
                            f"{exc.start}", location=where) from exc
    # Filling with stand-in values raises, located in the template, on any unknown placeholder.
    fill_template(text, {name: "x" for name in placeholder_names(loaded.scenario)}, file=str(path))
