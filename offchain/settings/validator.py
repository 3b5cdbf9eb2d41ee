"""The ``validator`` section of the settings tree: tolerances and the service loop's knobs.

Environment variables ``LORANET_VALIDATOR_<FIELD>`` (e.g. ``LORANET_VALIDATOR_EVAL_EXAMPLES``),
or a ``validator:`` section in the YAML config file. In the tree
(:class:`offchain.settings.Settings`) ``artifacts`` is the root's and ``data_dir`` defaults to
``<root data_dir>/validator``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from offchain.artifacts.settings import ArtifactSettings

if TYPE_CHECKING:  # the verdict module pulls in torch; settings stay light
    from offchain.validator.verdict import Thresholds


class ValidatorSettings(BaseSettings):
    """Tolerances of the checks and the knobs of the service loop.

    The eval tolerance is not here: it is the domain's ``evalTolerance`` (on chain).
    """

    model_config = SettingsConfigDict(
        env_prefix="LORANET_VALIDATOR_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path | None = Field(
        None,
        description="The validator's state (validator.db, watcher.db, cache); default "
        "<data_dir>/validator.",
    )
    min_cosine: float | None = Field(
        None,
        ge=-1.0,
        le=1.0,
        description="Least cosine to the median update (unset: calibrated for the pool).",
    )
    max_distance: float | None = Field(
        None,
        gt=0.0,
        description="Largest relative L2 distance to the median update (unset: calibrated).",
    )
    samples_max_ratio: float = Field(
        1.0, ge=1.0, description="Claimed samples may be this many times the DHT's."
    )
    samples_slack: int | None = Field(
        None,
        ge=0,
        description="Extra samples tolerated over the ratio (unset: one outer step's).",
    )
    replay_steps: int = Field(
        2, ge=1, description="Steps replayed per report when REPLAY_TARGET is 0 (legacy draw)."
    )
    replay_target: float = Field(
        0.95,
        ge=0.0,
        lt=1.0,
        description="Chance that a node which faked REPLAY_SKIP_FRACTION of its segments is "
        "caught by the quorum (sizes each validator's own replay draw; 0: legacy draw).",
    )
    replay_skip_fraction: float = Field(
        0.1, gt=0.0, le=1.0, description="Share of skipped work the replay target is for."
    )
    replay_budget: float = Field(
        0.05,
        gt=0.0,
        description="Total validation budget: replayed plus usefulness-scoring steps (over "
        "the quorum) per trained step of a report; the replay gets what the usefulness "
        "scoring's protocol share (calibration.USEFULNESS_BUDGET) leaves.",
    )
    replay_min_segments: int = Field(
        2, ge=1, description="Segments replayed per report even when over the budget."
    )
    eval_examples: int = Field(
        256, ge=0, description="Held-out examples of the eval check (0: the whole split)."
    )
    poll_interval_s: float = Field(1.0, gt=0, description="Pause between service steps.")
    progress_interval_s: float = Field(0.25, gt=0, description="DHT progress polling period.")
    finalize: bool = Field(True, description="Send finalize once the round is decided/expired.")
    finalize_jitter_s: float = Field(
        0.0,
        ge=0,
        description="Spread of the validators' finalize calls: each waits a delay in "
        "[0, jitter) drawn from its address and the round before sending, and drops its call "
        "when another validator's finalize landed first (so racing validators do not send a "
        "finalize that reverts). 0 on a one-validator or test chain; a few block times "
        "elsewhere.",
    )
    check_shard: bool = Field(
        True,
        description="Require each replay bundle's shard (index/count) to be the node's place "
        "among the round's members on chain (sorted by address).",
    )
    confirmations: int = Field(0, ge=0, description="Blocks the watcher stays below the head.")
    artifact_retry_s: float = Field(
        30.0, ge=0, description="Pause before judging again a round with unavailable artifacts."
    )
    artifacts: ArtifactSettings = Field(
        default_factory=ArtifactSettings,
        description="Artifact fetch limits, cache and store (LORANET_ARTIFACTS_*).",
    )

    def thresholds(self, eval_tolerance: float) -> Thresholds:
        from offchain.validator.verdict import Thresholds

        return Thresholds(
            eval_tolerance=eval_tolerance,
            min_cosine=self.min_cosine,
            max_distance=self.max_distance,
            samples_max_ratio=self.samples_max_ratio,
            samples_slack=self.samples_slack,
            replay_steps=self.replay_steps,
            replay_target=self.replay_target,
            replay_skip_fraction=self.replay_skip_fraction,
            replay_budget=self.replay_budget,
            replay_min_segments=self.replay_min_segments,
            eval_examples=self.eval_examples,
        )
