"""The evidence tables of a report: who serves what, and what each model actually received.

- :func:`upstream_table` — upstream → model → provider, hosting, region, jurisdiction (from the
  policy bundle's own model catalog where it lists the model: that is what the policy decides
  on; otherwise the scenario's declaration, marked as such).
- :func:`data_class_matrix` — model × data class of the requests the upstreams received (ground
  truth: their own request logs), each cell marked with what the policy says about that model
  for the requests of the run that carried that class.

>>> from chaos.scenario.model import UpstreamSpec
>>> table = upstream_table([UpstreamSpec(name="u", model="m", hosting="cloud", region="eu")], {})
>>> (table[0].hosting, table[0].source)
('cloud', 'scenario')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chaos.report.model import DataClassMatrix, MatrixCell, UpstreamInfo
from chaos.report.records import RequestRecord
from chaos.runner.violations import attributed_id
from chaos.scenario.model import UpstreamSpec
from governance.decision import Decision

Shape = tuple[object, ...]


def upstream_table(upstreams: Iterable[UpstreamSpec], catalog: Mapping[str, Any]) -> tuple[UpstreamInfo, ...]:
    rows = []
    for spec in upstreams:
        entry = catalog.get(spec.model)
        if isinstance(entry, Mapping):
            rows.append(UpstreamInfo(
                name=spec.name, model=spec.model, provider=_text(entry.get("provider")),
                hosting=_text(entry.get("hosting")), region=_text(entry.get("region")),
                jurisdiction=_text(entry.get("jurisdiction")), gpu_device=spec.gpu_device,
                source="catalog"))
        else:
            rows.append(UpstreamInfo(
                name=spec.name, model=spec.model, provider=spec.provider, hosting=spec.hosting,
                region=spec.region, gpu_device=spec.gpu_device, source="scenario"))
    return tuple(rows)


def shape_of(record: RequestRecord) -> Shape:
    """What a policy decision depends on, as the harness sent it (one decision per shape)."""
    return (record.route, record.tenant, record.data_classes, record.region, record.stream)


def data_class_matrix(
    entries: Iterable[Any],
    records: Mapping[str, RequestRecord],
    decisions: Mapping[Shape, Decision],
    models: Iterable[str],
) -> DataClassMatrix:
    """Count what each model received per data class, and mark each cell by policy.

    ``decisions`` holds the recomputed decision for every request shape that was sent
    (:func:`shape_of`). An entry is attributed like the violation count attributes it
    (content markers first, then the request id header, then ``user``); an entry carrying
    markers of several requests counts once per data class of any of them. Content-free entries
    (health probes) are not client traffic and are left out; client-looking ones that match no
    request are counted in ``unattributed`` per model.
    """
    received: dict[tuple[str, str], int] = {}
    unattributed: dict[str, int] = {}
    seen_models = list(dict.fromkeys(models))
    for entry in entries:
        model = entry.served_model
        ids = tuple(getattr(entry, "content_request_ids", None) or ())
        if not ids:
            one = attributed_id(entry)
            ids = (one,) if one else ()
        sent = [records[i] for i in ids if i in records]
        if not sent:
            if ids or getattr(entry, "content_excerpt", None):
                unattributed[model] = unattributed.get(model, 0) + 1
                if model not in seen_models:
                    seen_models.append(model)
            continue
        if model not in seen_models:
            seen_models.append(model)
        for data_class in sorted({c for r in sent for c in r.data_classes}):
            received[(model, data_class)] = received.get((model, data_class), 0) + 1
    classes = sorted({c for shape in decisions for c in shape[2]})  # type: ignore[union-attr]
    cells = []
    for model in seen_models:
        for data_class in classes:
            carrying = [d for shape, d in decisions.items() if data_class in shape[2]]  # type: ignore[operator]
            allowed = sum(1 for d in carrying if d.allow and model in d.allowed)
            policy = "allowed" if allowed == len(carrying) else "forbidden" if allowed == 0 else "mixed"
            cells.append(MatrixCell(model=model, data_class=data_class,
                                    received=received.get((model, data_class), 0), policy=policy))
    return DataClassMatrix(models=tuple(seen_models), data_classes=tuple(classes), cells=tuple(cells),
                           unattributed=unattributed)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
