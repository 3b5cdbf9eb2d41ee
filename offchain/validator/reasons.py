"""Reason codes of rejected reports and the result of one check."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    """Why a report was rejected (one code per failed check; see docs/validation.md)."""

    ARTIFACT_UNAVAILABLE = "ARTIFACT_UNAVAILABLE"
    ARTIFACT_HASH_MISMATCH = "ARTIFACT_HASH_MISMATCH"
    ARTIFACT_INVALID = "ARTIFACT_INVALID"
    DISAGREES_WITH_MAJORITY = "DISAGREES_WITH_MAJORITY"
    EVAL_NOT_BETTER = "EVAL_NOT_BETTER"
    SAMPLES_UNPUBLISHED = "SAMPLES_UNPUBLISHED"
    SAMPLES_INFLATED = "SAMPLES_INFLATED"
    REPLAY_BUNDLE_MISSING = "REPLAY_BUNDLE_MISSING"
    REPLAY_BUNDLE_MISMATCH = "REPLAY_BUNDLE_MISMATCH"
    REPLAY_PROOF_INVALID = "REPLAY_PROOF_INVALID"
    REPLAY_MISMATCH = "REPLAY_MISMATCH"
    EXECUTION_MODE_FALSE = "EXECUTION_MODE_FALSE"
    CONTRIBUTION_NOT_USEFUL = "CONTRIBUTION_NOT_USEFUL"


#: Reasons that say nothing about the node: the validator could not get what it needed (a
#: store down, a network problem, its own size limit). A report with one of them is neither
#: accepted nor rejected: the validator abstains from the round (docs/artifacts.md).
INCONCLUSIVE: frozenset[Reason] = frozenset({Reason.ARTIFACT_UNAVAILABLE})


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check of one report: ``reason`` is set exactly when it failed."""

    check: str
    reason: Reason | None
    detail: str

    @property
    def ok(self) -> bool:
        return self.reason is None

    @property
    def inconclusive(self) -> bool:
        """Failed for a reason that is not the node's fault (see :data:`INCONCLUSIVE`)."""
        return self.reason in INCONCLUSIVE

    @classmethod
    def passed(cls, check: str, detail: str) -> CheckResult:
        return cls(check, None, detail)

    @classmethod
    def failed(cls, check: str, reason: Reason, detail: str) -> CheckResult:
        return cls(check, reason, detail)
