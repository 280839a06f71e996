"""Errors of the chaos harness.

    GovchaosError
     └── ChaosError              stable ``code``
          ├── ScenarioError      a scenario file is invalid (exit 2, names file, line, field path)
          └── RunBrokenError     the run itself broke (not a failed hypothesis) (exit 2)
"""

from __future__ import annotations

from governance.errors import GovchaosError


class ChaosError(GovchaosError):
    code = "chaos_error"


class ScenarioError(ChaosError):
    code = "invalid_scenario"
    exit_code = 2


class RunBrokenError(ChaosError):
    code = "run_broken"
    exit_code = 2
