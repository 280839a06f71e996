"""Errors of the simulated providers.

    ChaosError
     └── ProviderError           stable ``code``
          ├── UnknownFaultError  a fault kind that is not registered (suggests the closest names)
          ├── UnknownUpstreamError  a fleet has no upstream of that name (suggests the closest)
          ├── FaultParamsError   parameters of a fault kind are invalid (names the field)
          ├── FleetSpecError     a fleet spec file is invalid (exit 2, names file and field)
          └── FleetProcessError  the fleet process did not start, died, or refused a command
"""

from __future__ import annotations

from chaos.errors import ChaosError


class ProviderError(ChaosError):
    code = "provider_error"


class UnknownFaultError(ProviderError):
    code = "unknown_fault_kind"
    exit_code = 2


class UnknownUpstreamError(ProviderError):
    code = "unknown_upstream"
    exit_code = 2


class FaultParamsError(ProviderError):
    code = "invalid_fault_params"
    exit_code = 2


class FleetSpecError(ProviderError):
    code = "invalid_fleet_spec"
    exit_code = 2


class FleetProcessError(ProviderError):
    code = "fleet_process_failed"
    exit_code = 2
