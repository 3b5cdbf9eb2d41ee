"""OpenAI-compatible inference gateway (``loranet serve``).

Map of the package (nothing heavy is imported here, so ``loranet --help`` stays fast):

- :mod:`~offchain.gateway.config`: the YAML config (models, adapters, pools, generators,
  limits).
- :mod:`~offchain.gateway.openai_schema`: strict request models (unknown or unsupported
  parameters are 400s naming them), responses and OpenAI-style errors.
- :mod:`~offchain.gateway.engine`: one batched decode loop per base model (continuous
  batching, several adapters per batch, bounded queue, logprobs and penalties).
- :mod:`~offchain.gateway.pools`: serve a pool's latest finalized adapter, following rounds.
- :mod:`~offchain.gateway.generators`: one :class:`~offchain.gateway.generators.base.Generator`
  interface, the ``local`` / ``api`` / ``custom`` implementations and the fallback chain.
- :mod:`~offchain.gateway.prompt`: the chat template that turns messages into a prompt.
- :mod:`~offchain.gateway.auth`: API keys (``lnk_...``) hashed at rest.
- :mod:`~offchain.gateway.ratelimit`: a token bucket per key.
- :mod:`~offchain.gateway.metrics`: Prometheus metrics on the gateway's own registry.
- :mod:`~offchain.gateway.app`: the FastAPI factory :func:`~offchain.gateway.app.create_app`.
- :mod:`~offchain.gateway.cli`: ``loranet serve`` and ``loranet keys create|list|revoke``.
"""
