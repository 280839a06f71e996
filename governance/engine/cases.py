"""Table-driven decision cases (``cases/*.yaml``): load, expand, check.

Format (shared with the policy authors)::

    cases:
      - name: pii-with-only-cloud-candidates-is-denied   # unique across files
        description: optional
        input:                     # a DecisionInput; a candidate given as a string is a catalog
          route: customer-chat     # id expanded from data.govchaos.catalog.models[id]
          tenant: globex-retail
          data_classes: [pii]
          candidates: [gpt-4o-cloud-us, claude-sonnet-cloud-us]
        expect:
          allow: false
          allowed: []                                   # optional, compared as a set
          denied_reasons_contain: {gpt-4o-cloud-us: "data_class_ceiling: pii"}   # optional
          reasons_contain: ["data_class_ceiling: pii"]  # optional
          obligations: {log_prompts: false}             # optional, a subset

A case about malformed input — what an OPA client other than the gateway may send — gives
``raw_input:`` instead of ``input:``: it reaches the policy exactly as written (not validated
against the decision contract, catalog ids not expanded), e.g. a missing ``route`` or a candidate
without an ``id``. A case has exactly one of the two.

Each string under ``denied_reasons_contain`` / ``reasons_contain`` must be a substring of at
least one of the reasons (so ``"data_class_ceiling:"`` pins the rule, a whole reason pins its
wording too).

Invalid files raise :class:`~governance.errors.PolicyInputError` naming the file, line and field path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from governance.decision import Decision, DecisionInput
from governance.strict_load import loads_yaml
from governance.errors import Location, PolicyInputError

_CATALOG_FIELDS = ("provider", "hosting", "region", "version", "cost_per_1k_tokens", "tags")


class CaseExpectation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    allow: bool
    allowed: tuple[str, ...] | None = None
    denied_reasons_contain: dict[str, tuple[str, ...]] | None = None
    reasons_contain: tuple[str, ...] | None = None
    obligations: dict[str, Any] | None = None

    @field_validator("denied_reasons_contain", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value


class DecisionCase(BaseModel):
    """One case, its input already expanded and validated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    file: str
    input: DecisionInput | None = None
    raw_input: dict[str, Any] | None = None  # passed to the policy as written
    expect: CaseExpectation

    @property
    def policy_input(self) -> DecisionInput | dict[str, Any]:
        """What the policy is asked with: the raw input, or the validated decision input."""
        return self.raw_input if self.raw_input is not None else self.input  # type: ignore[return-value]


class _RawCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    input: dict[str, Any] | None = None
    raw_input: dict[str, Any] | None = None
    expect: CaseExpectation


def catalog_of(data: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """``data.govchaos.catalog.models`` as id → attributes (a list of objects with ids works)."""
    models = data.get("govchaos", {}).get("catalog", {}).get("models", {})
    if isinstance(models, list):
        return {m["id"]: m for m in models if isinstance(m, dict) and "id" in m}
    return models if isinstance(models, dict) else {}


def expand_input(
    raw: Mapping[str, Any], catalog: Mapping[str, Mapping[str, Any]], *, file: str, field: str
) -> DecisionInput:
    """Expand catalog-id candidates and validate as a DecisionInput.

    Raises:
        PolicyInputError: an unknown catalog id or a field that does not fit the contract.
    """
    doc = dict(raw)
    cands = doc.get("candidates", [])
    if isinstance(cands, list):
        expanded = []
        for i, cand in enumerate(cands):
            if isinstance(cand, str):
                entry = catalog.get(cand)
                if entry is None:
                    raise PolicyInputError(
                        f"candidate {cand!r} is not in data.govchaos.catalog.models "
                        "(give an unknown model as an object with its attributes)",
                        location=Location(file, field=f"{field}.candidates[{i}]"),
                    )
                attrs = {k: entry[k] for k in _CATALOG_FIELDS if k in entry}
                expanded.append({"id": cand, **attrs, "healthy": True})
            else:
                expanded.append(cand)
        doc["candidates"] = expanded
    try:
        return DecisionInput.model_validate(doc)
    except ValidationError as exc:
        raise _located(exc, file, field) from exc


def load_case_files(files: list[str] | tuple[str, ...], data: Mapping[str, Any]) -> list[DecisionCase]:
    """Load every case file; names must be unique across files.

    Raises:
        PolicyInputError: YAML syntax, shape, duplicate name, unknown id, invalid field.
    """
    catalog = catalog_of(data)
    cases: list[DecisionCase] = []
    seen: dict[str, str] = {}
    for file in files:
        try:
            raw_bytes = Path(file).read_bytes()
        except OSError as exc:
            raise PolicyInputError(
                f"cannot read case file: {exc.strerror or exc}", location=Location(file)
            ) from exc
        doc, node = loads_yaml(raw_bytes, file, PolicyInputError)
        if doc is None:
            continue
        try:
            _load_cases(doc, file, catalog, seen, cases)
        except PolicyInputError as exc:
            raise _with_line(exc, node) from exc
    return cases


def _load_cases(doc: Any, file: str, catalog: Mapping[str, Mapping[str, Any]], seen: dict[str, str],
                cases: list[DecisionCase]) -> None:
    """Validate one parsed case file into ``cases``. Raises :class:`PolicyInputError` (no line)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
        raise PolicyInputError(
            "a case file holds a mapping with a 'cases' list", location=Location(file, field="cases")
        )
    for i, item in enumerate(doc["cases"]):
        field = f"cases[{i}]"
        if not isinstance(item, dict):
            raise PolicyInputError("a case is a mapping", location=Location(file, field=field))
        try:
            raw = _RawCase.model_validate(item)
        except ValidationError as exc:
            raise _located(exc, file, field) from exc
        if raw.name in seen:
            raise PolicyInputError(
                f"duplicate case name {raw.name!r} (first in {seen[raw.name]})",
                location=Location(file, field=f"{field}.name"),
            )
        seen[raw.name] = file
        if (raw.input is None) == (raw.raw_input is None):
            raise PolicyInputError(
                "a case gives exactly one of 'input' (a decision input) or 'raw_input' "
                "(passed to the policy as written)",
                location=Location(file, field=field),
            )
        inp = None
        if raw.input is not None:
            inp = expand_input(raw.input, catalog, file=file, field=f"{field}.input")
        cases.append(
            DecisionCase(
                name=raw.name, description=raw.description, file=file, input=inp,
                raw_input=raw.raw_input, expect=raw.expect,
            )
        )


_FIELD_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _with_line(exc: PolicyInputError, root: yaml.Node | None) -> PolicyInputError:
    """``exc`` with the line and column of its field in the YAML tree (itself when unknown).

    A field missing from the file gets the line of its closest enclosing node.
    """
    loc = exc.location
    if root is None or loc is None or loc.line is not None or not loc.field:
        return exc
    node = root
    for match in _FIELD_PART.finditer(loc.field):
        key, index = match.groups()
        child: yaml.Node | None = None
        if key is not None and isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
        elif index is not None and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            child = node.value[int(index)]
        if child is None:
            break
        node = child
    where = Location(loc.file, node.start_mark.line + 1, node.start_mark.column + 1, loc.field)
    return PolicyInputError(exc.message, code=exc.code, location=where, exit_code=exc.exit_code)


def check_case(case: DecisionCase, decision: Decision) -> list[str]:
    """What differs between the expectation and the decision (empty list: the case passes)."""
    exp = case.expect
    problems: list[str] = []
    if decision.allow != exp.allow:
        why = f" (reasons: {', '.join(decision.reasons)})" if decision.reasons else ""
        problems.append(f"allow: expected {exp.allow}, got {decision.allow}{why}")
    if exp.allowed is not None and set(exp.allowed) != set(decision.allowed):
        problems.append(f"allowed: expected {sorted(exp.allowed)}, got {sorted(decision.allowed)}")
    for model, wanted in (exp.denied_reasons_contain or {}).items():
        got = decision.denied.get(model, ())
        missing = [w for w in wanted if not _contained(w, got)]
        if missing:
            problems.append(f"denied[{model}]: missing {missing}, got {list(got)}")
    if exp.reasons_contain:
        missing = [w for w in exp.reasons_contain if not _contained(w, decision.reasons)]
        if missing:
            problems.append(f"reasons: missing {missing}, got {list(decision.reasons)}")
    if exp.obligations:
        actual = decision.obligations.model_dump(mode="json")
        for key, want in exp.obligations.items():
            got = actual.get(key)
            if isinstance(want, list) and isinstance(got, list):
                ok = sorted(map(str, want)) == sorted(map(str, got))
            else:
                ok = got == want
            if not ok:
                problems.append(f"obligations.{key}: expected {want!r}, got {got!r}")
    return problems


def _contained(wanted: str, reasons: tuple[str, ...] | list[str]) -> bool:
    """Whether ``wanted`` is a substring of some reason (the case format's matching rule)."""
    return any(wanted in reason for reason in reasons)


def _located(exc: ValidationError, file: str, field: str) -> PolicyInputError:
    errors = exc.errors()
    first = errors[0]
    path = ".".join(str(p) for p in first.get("loc", ()))
    # Decision models hold lists as tuples (frozen); "a valid tuple" means "a JSON list" here.
    message = str(first.get("msg", "invalid")).replace("a valid tuple", "a list")
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return PolicyInputError(
        message, location=Location(file, field=f"{field}.{path}" if path else field)
    )
