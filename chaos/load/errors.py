"""Errors of the load generator.

    ChaosError
     └── LoadError            stable ``code``
          └── LoadSpecError   a load spec is invalid (exit 2, names the field)
"""

from __future__ import annotations

from chaos.errors import ChaosError


class LoadError(ChaosError):
    code = "load_error"


class LoadSpecError(LoadError):
    code = "invalid_load_spec"
    exit_code = 2
