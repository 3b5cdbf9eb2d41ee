"""The round protocol shared by the nodes (``offchain.worker``) and the validators
(``offchain.validator``): neither imports the other, both import this.

* :mod:`~offchain.rounds.chainview` — typed reads of a round's state on chain (windows, base
  adapter, attestations, the clock);
* :mod:`~offchain.rounds.bundle` — the replay bundle a node publishes and validators check;
* :mod:`~offchain.rounds.binding` — a node's signed endorsement of its hivemind peer in the DHT;
* :mod:`~offchain.rounds.fetch` — artifact fetches by URI for round inputs (verified by hash);
* :mod:`~offchain.rounds.adapters` — a round's base adapter as a file (the seeded LoRA
  initialisation for hash 0, else fetched by hash from adapter sources);
* :mod:`~offchain.rounds.errors` — the errors of all of the above.
"""
