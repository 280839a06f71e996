"""Errors of the reference gateway.

    GovchaosError
     └── GatewayError          stable ``code``; ``status`` is the HTTP status it renders as
          ├── ConfigError      the gateway config is invalid (exit 2, names file and field)
          └── (request errors rendered as OpenAI-style JSON by the app, in one place)
"""

from __future__ import annotations

from governance.errors import GovchaosError


class GatewayError(GovchaosError):
    code = "gateway_error"
    status: int = 500


class ConfigError(GatewayError):
    code = "invalid_config"
    exit_code = 2
