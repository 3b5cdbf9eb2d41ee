"""The generation engine of the ``local`` generator: one decode loop per base model.

- :mod:`.engine`: :class:`~.engine.Engine`, a thread that owns the model and decodes every
  running request together (continuous batching); requests wait in a bounded queue and a
  full queue is refused at once (:class:`~.engine.EngineOverloadedError`), never waited on.
- :mod:`.batch`: the running batch: left-padded KV cache, attention mask and per-row
  positions; new requests are prefilled and merged in between decode steps, finished ones
  are dropped.
- :mod:`.lora`: several LoRA adapters on one base model in one batch (a per-row adapter
  index, the LoRA product added by forward hooks; the base weights are never merged).
- :mod:`.sampling`: per-request sampling (greedy, temperature/top-p with its own seed),
  presence/frequency penalties, logit bias and log-probabilities, batched.
- :mod:`.text`: incremental detokenisation with stop strings.
- :mod:`.sinks`: where a request's events go (an asyncio queue, or a thread-safe one).
"""
