"""The validator: checks of work reports, the round verdict, attestation and finalization.

- :mod:`offchain.validator.reasons` — :class:`Reason` codes and :class:`CheckResult`.
- :mod:`offchain.rounds` (shared with the worker, which this package never imports): the
  round's chain view, fetches by URI and hash (unavailable: abstain; mismatch: reject), the
  replay bundle, the node <-> hivemind peer binding, the base adapter.
- :mod:`offchain.validator.progress` — samples each node published in the DHT during a round.
- :mod:`offchain.validator.checks` — the checks, one plain function each.
- :mod:`offchain.validator.verdict` — all checks over one round's reports: accept bitmap and
  next base adapter.
- :mod:`offchain.validator.service` — ``loranet validator run``: watch, check, attest, finalize.
"""
