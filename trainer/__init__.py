"""loranet trainer: models, data shards, collaborative LoRA training over hivemind, evaluation,
adapter artifacts and inference.

Modules (each does one job):

- :mod:`trainer.config`: frozen pydantic settings (``ModelConfig``, ``DataConfig``,
  ``HivemindConfig``, ``DilocoConfig``, ``ReplayConfig``, ``TrainConfig``).
- :mod:`trainer.tokenizer`: the byte-level tokenizer built in code (nothing to download).
- :mod:`trainer.models`: seeded tiny LLaMA or ``from_pretrained``; seeded peft LoRA.
- :mod:`trainer.hardware`: CPU/GPU choice, VRAM tiers, 4/8-bit only on CUDA.
- :mod:`trainer.data`: examples, held-out split, ``shard(pool, round, node, count)``, batches.
- :mod:`trainer.artifacts`: canonical safetensors, SHA-256 hash, content-addressed store.
- :mod:`trainer.aggregate`: deterministic mean of adapters, agreement to the median.
- :mod:`trainer.merkle`, :mod:`trainer.replay`: per-step records, Merkle root and proofs,
  the replay check validators run.
- :mod:`trainer.evaluation`: held-out loss and perplexity, base vs adapter.
- :mod:`trainer.dht`: DHT, run ids, ``publish_progress`` / ``read_progress``.
- :mod:`trainer.membership`: the quorum start barrier of a round.
- :mod:`trainer.inner`: inner steps with their replay records and training-state checkpoints.
- :mod:`trainer.diloco`: the outer step (all-reduce of the pseudo-gradient, outer SGD).
- :mod:`trainer.wire`: bytes a peer's ``p2pd`` sockets moved, measured.
- :mod:`trainer.collab`: ``train_round`` (one node, one DiLoCo round) and its ``RoundResult``.
- :mod:`trainer.local`, :mod:`trainer.peer`: N peers as local subprocesses.
- :mod:`trainer.inference`: ``InferenceModel`` (generate, stream, count tokens).
- :mod:`trainer.examples`, :mod:`trainer.encoding`: data files (text, JSONL, Parquet,
  ``datasets`` folders) to examples, and examples to token ids with an answer-only loss mask.
- :mod:`trainer.content_hash`: content hashes of model folders and data sets.
- :mod:`trainer.cli`: ``loranet train``, ``loranet hash``.

Importing the package turns the Hugging Face libraries offline (``HF_HUB_OFFLINE``,
``TRANSFORMERS_OFFLINE``, ``HF_DATASETS_OFFLINE``, unless already set): models and data sets
come from local folders or verified artifacts, never from a hub at run time.
"""

import os as _os

for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    _os.environ.setdefault(_name, "1")
