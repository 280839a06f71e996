"""``noop``: bytes pass untouched (Toxiproxy's ``noop`` type; it has no attributes).

Useful to check a client or a pipeline end to end without changing the traffic, and the same
pass-through a stage runs when a toxic's toxicity roll skips a connection.
"""

from __future__ import annotations

from chaos.proxy.toxics.base import PassThrough, ToxicAttributes, ToxicKind


class NoopAttributes(ToxicAttributes):
    """No attributes: any given are ignored, as Toxiproxy ignores unknown keys."""


KIND = ToxicKind("noop", NoopAttributes, PassThrough)
