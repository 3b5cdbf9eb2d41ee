"""Settings of the trainer: the model, the data, the collaborative run and the replay check.

All settings are frozen pydantic models so that a config can be hashed, sent to a subprocess
as JSON and compared across machines.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trainer.errors import TrainerConfigError

logger = logging.getLogger(__name__)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelConfig(_Frozen):
    """The base causal LM and its LoRA adapter.

    ``source="tiny"`` builds a small LLaMA-shaped model from the dims below, its weights drawn
    from ``seed`` so that every node builds identical weights. ``source="pretrained"`` loads
    ``path`` (any Hugging Face causal LM folder) with ``from_pretrained(local_files_only=True)``
    (never a hub download).

    LoRA: ``lora_target_modules=None`` takes peft's default targets for the architecture
    (``q_proj``/``v_proj`` for LLaMA, Qwen2, Mistral; ``c_attn`` for GPT-2; ...), a tuple
    names them, ``("all-linear",)`` targets every linear layer but the output head.

    Precision (a pool setting: every node trains, and every validator replays, in it):
    ``dtype`` of the base weights (``fp32``, ``bf16``, ``fp16``), ``quantization`` of the base
    (``4bit`` = QLoRA: NF4 + double quantization + bf16 compute; ``8bit``: LLM.int8; both need
    a CUDA GPU and bitsandbytes, the ``gpu`` extra), ``gradient_checkpointing`` to trade
    compute for activation memory. The LoRA weights themselves stay fp32.
    """

    source: Literal["tiny", "pretrained"] = "tiny"
    path: Path | None = None
    seed: int = 0

    # tiny LLaMA-shaped dims (ignored for source="pretrained")
    hidden_size: int = Field(default=64, ge=8)
    num_hidden_layers: int = Field(default=2, ge=1)
    num_attention_heads: int = Field(default=4, ge=1)
    num_key_value_heads: int = Field(default=4, ge=1)
    intermediate_size: int = Field(default=128, ge=8)
    max_position_embeddings: int = Field(default=256, ge=16)
    init_std: float = Field(default=0.2, gt=0)  # large enough that LoRA on q/v can move the logits

    lora_r: int = Field(default=8, ge=1)
    lora_alpha: int = Field(default=16, ge=1)
    lora_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    lora_target_modules: tuple[str, ...] | None = None

    dtype: Literal["fp32", "bf16", "fp16"] = "fp32"
    quantization: Literal["none", "8bit", "4bit"] = "none"
    gradient_checkpointing: bool = False

    @model_validator(mode="after")
    def _check(self) -> ModelConfig:
        if self.source == "pretrained" and self.path is None:
            raise TrainerConfigError("ModelConfig: source='pretrained' needs a local model path.")
        if self.hidden_size % self.num_attention_heads:
            raise TrainerConfigError(
                f"ModelConfig: hidden_size {self.hidden_size} is not a multiple of "
                f"num_attention_heads {self.num_attention_heads}."
            )
        if self.num_attention_heads % self.num_key_value_heads:
            raise TrainerConfigError(
                "ModelConfig: num_attention_heads must be a multiple of num_key_value_heads."
            )
        if self.lora_target_modules is not None and not self.lora_target_modules:
            raise TrainerConfigError(
                "ModelConfig: lora_target_modules must name at least one module (or be left "
                "unset for the architecture's default)."
            )
        if self.quantization != "none" and self.source != "pretrained":
            raise TrainerConfigError(
                f"ModelConfig: quantization={self.quantization} loads a pretrained folder with "
                "bitsandbytes; the built-in tiny model is never quantized."
            )
        return self


DataSource = Literal["arithmetic", "text", "jsonl", "parquet", "hf_disk", "auto"]


class DataConfig(_Frozen):
    """The training data.

    ``source="arithmetic"`` generates ``num_examples`` additions ``a+b=c`` deterministically
    from ``seed`` (a task a tiny model visibly learns). File sources read ``path``:

    * ``text``: one example per non-empty line (UTF-8);
    * ``jsonl``: one JSON object per line with ``text``, or ``prompt`` + ``completion``, or
      chat ``messages`` (``[{"role", "content"}, ...]``);
    * ``parquet``: a Parquet file whose rows have those columns;
    * ``hf_disk``: a Hugging Face ``datasets`` folder (``save_to_disk``; the ``train`` split
      of a ``DatasetDict``), rows as above;
    * ``auto``: chosen from ``path`` (a ``datasets`` folder, ``.jsonl``/``.json``,
      ``.parquet``, else ``text``).

    Prompt/completion and chat examples are trained on their answer tokens only.
    ``max_length`` (tokens per example, longer ones are cut and counted in the log): ``None``
    is 64 for ``arithmetic`` and, for files, the tokenizer's ``model_max_length`` capped at
    1024.
    """

    source: DataSource = "arithmetic"
    path: Path | None = None
    seed: int = 0
    num_examples: int = Field(default=4096, ge=8)
    max_operand: int = Field(default=99, ge=1)
    heldout_fraction: float = Field(default=0.1, gt=0.0, lt=1.0)
    max_length: int | None = Field(default=None, ge=4)

    @model_validator(mode="after")
    def _check(self) -> DataConfig:
        if self.source != "arithmetic" and self.path is None:
            raise TrainerConfigError(
                f"DataConfig: source='{self.source}' needs a path to the data file or folder."
            )
        return self


class ReplayConfig(_Frozen):
    """The per-step replay records and the thresholds of the replay check."""

    projection_dim: int = Field(default=64, ge=4)
    projection_seed: int = 1234
    max_loss_rel_diff: float = Field(default=1e-3, gt=0.0)
    min_cosine: float = Field(default=0.99, gt=-1.0, le=1.0)
    #: a checkpoint (LoRA weights + inner optimizer state) every this many inner steps (and at
    #: every outer step start); a replay re-runs one such segment, so this bounds its cost
    checkpoint_every: int = Field(default=4, ge=1)
    #: relative distance allowed between a segment's replayed and claimed end weights
    max_state_rel_diff: float = Field(default=1e-2, gt=0.0)


class HivemindConfig(_Frozen):
    """How peers find each other and average."""

    host_maddrs: tuple[str, ...] = ("/ip4/127.0.0.1/tcp/0",)
    #: Addresses other hosts dial (a host behind NAT announces its public address); empty:
    #: hivemind announces what it listens on.
    announce_maddrs: tuple[str, ...] = ()
    target_batch_size: int = Field(default=64, ge=1)
    matchmaking_time: float = Field(default=2.0, gt=0.0)
    averaging_timeout: float = Field(default=15.0, gt=0.0)
    barrier_timeout: float = Field(default=120.0, gt=0.0)
    start_delay: float = Field(default=1.0, ge=0.0)
    average_state_every: int = Field(default=1, ge=1)
    progress_expiration: float = Field(default=10.0, gt=0.0)
    run_prefix: str = "loranet"
    #: membership: the round starts once every member arrived, or once ``ceil(quorum x
    #: members)`` (at least 2 in a multi-node round) did and ``join_grace`` seconds passed
    #: since the first arrival
    quorum: float = Field(default=0.5, gt=0.0, le=1.0)
    join_grace: float = Field(default=20.0, ge=0.0)


class DilocoConfig(_Frozen):
    """Pool settings of DiLoCo rounds (docs/trainer.md).

    Each outer step: ``inner_steps`` local steps of the inner optimizer (AdamW) on the LoRA
    parameters, then an all-reduce of the pseudo-gradient ``A_global - A_local`` (compressed
    with ``compression``) and an outer SGD step on ``A_global``.

    Outer optimizer: lr 0.7 without momentum by default. DiLoCo's 0.7 with Nesterov momentum
    0.9 is tuned for thousands of outer steps; a round here has a handful (``max_epochs``) and
    its outer state starts fresh every round, and there momentum overshoots: in
    ``bench/diloco_sweep.py`` (2 peers, 5 syncs of 250 steps) momentum 0.9 ended 12% above a
    lone peer at equal samples, 0.5 at par, none 3% below; the real 2-peer bench with these
    defaults ends at par with the lone peer (docs/benchmarks.md, Trainer).
    """

    inner_steps: int = Field(default=8, ge=1)
    outer_lr: float = Field(default=0.7, gt=0.0)
    outer_momentum: float = Field(default=0.0, ge=0.0, lt=1.0)
    #: with ``outer_momentum > 0``: Nesterov momentum (DiLoCo's); ``False``: heavy ball
    outer_nesterov: bool = True
    compression: Literal["none", "float16", "uint8"] = "float16"
    #: how long a peer that finished its inner steps waits for the others in matchmaking
    sync_wait: float = Field(default=60.0, gt=0.0)


class TrainConfig(_Frozen):
    """One node's settings for one training round."""

    model: ModelConfig = ModelConfig()
    data: DataConfig = DataConfig()
    hivemind: HivemindConfig = HivemindConfig()
    replay: ReplayConfig = ReplayConfig()
    diloco: DilocoConfig = DilocoConfig()
    batch_size: int = Field(default=8, ge=1)
    learning_rate: float = Field(default=3e-2, gt=0.0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    max_local_steps: int = Field(default=64, ge=1)
    max_epochs: int | None = Field(default=None, ge=1)
    torch_threads: int | None = Field(default=None, ge=1)
