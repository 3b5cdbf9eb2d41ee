"""The validator: checks of work reports, the round verdict, attestation and finalization.

- :mod:`offchain.validator.reasons` — :class:`Reason` codes and :class:`CheckResult`.
- :mod:`offchain.validator.fetch` — fetch an artifact by URI and hash (``offchain.artifacts``):
  unavailable (abstain) vs mismatch (reject).
- :mod:`offchain.validator.bundle` — the replay bundle a node publishes next to its adapter.
- :mod:`offchain.validator.binding` — node address <-> hivemind peer, proven in the pool's DHT.
- :mod:`offchain.validator.progress` — samples each node published in the DHT during a round.
- :mod:`offchain.validator.checks` — the checks, one plain function each.
- :mod:`offchain.validator.verdict` — all checks over one round's reports: accept bitmap and
  next base adapter.
- :mod:`offchain.validator.service` — ``loranet validator run``: watch, check, attest, finalize.
"""
