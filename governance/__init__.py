"""Policy engines, decisions, policy tests, the audit chain and attestations.

``governance`` imports nothing else of govchaos; ``gateway`` and ``chaos`` build on it.
"""

from governance.decision import Candidate, Decision, DecisionInput, Obligations
from governance.errors import GovchaosError, GovernanceError, Location

__all__ = [
    "Candidate",
    "Decision",
    "DecisionInput",
    "GovchaosError",
    "GovernanceError",
    "Location",
    "Obligations",
]
