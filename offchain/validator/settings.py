"""Settings of the validator service (``LORANET_VALIDATOR_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from offchain.artifacts.settings import ArtifactSettings
from offchain.validator.verdict import Thresholds


class ValidatorSettings(BaseSettings):
    """Tolerances of the checks and the knobs of the service loop.

    The eval tolerance is not here: it is the domain's ``evalTolerance`` (on chain).
    """

    model_config = SettingsConfigDict(
        env_prefix="LORANET_VALIDATOR_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    min_cosine: float = Field(
        0.8, ge=-1.0, le=1.0, description="Least cosine to the median update."
    )
    max_distance: float = Field(
        0.75, gt=0.0, description="Largest relative L2 distance to the median update."
    )
    samples_max_ratio: float = Field(
        2.0, ge=1.0, description="Claimed samples may be this many times the DHT's."
    )
    samples_slack: int = Field(0, ge=0, description="Extra samples tolerated over the ratio.")
    replay_steps: int = Field(2, ge=1, description="Steps replayed per report.")
    eval_examples: int = Field(
        256, ge=0, description="Held-out examples of the eval check (0: the whole split)."
    )
    poll_interval_s: float = Field(1.0, gt=0, description="Pause between service steps.")
    progress_interval_s: float = Field(0.25, gt=0, description="DHT progress polling period.")
    finalize: bool = Field(True, description="Send finalize once the round is decided/expired.")
    confirmations: int = Field(0, ge=0, description="Blocks the watcher stays below the head.")
    artifact_retry_s: float = Field(
        30.0, ge=0, description="Pause before judging again a round with unavailable artifacts."
    )
    artifacts: ArtifactSettings = Field(
        default_factory=ArtifactSettings,
        description="Artifact fetch limits, cache and store (LORANET_ARTIFACTS_*).",
    )

    def thresholds(self, eval_tolerance: float) -> Thresholds:
        return Thresholds(
            eval_tolerance=eval_tolerance,
            min_cosine=self.min_cosine,
            max_distance=self.max_distance,
            samples_max_ratio=self.samples_max_ratio,
            samples_slack=self.samples_slack,
            replay_steps=self.replay_steps,
            eval_examples=self.eval_examples,
        )
