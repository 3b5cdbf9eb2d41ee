"""What a node learns about its pool from the chain (no hand-set flags).

* :mod:`offchain.pools.metadata` — the pool-metadata document behind ``ComputePool``'s
  ``metadataUri`` (bootstrap peers of the pool's hivemind swarm, training settings,
  adapter sources) and how it is read (``data:``, ``http(s)://``, ``s3://``, ``file://``);
* :mod:`offchain.pools.membership` — a round's members, sorted by node address, from the
  pool's ``NodeJoined``/``NodeLeft``/``NodeEjected`` events: a node's shard index and the node
  count of a round, the same on every machine;
* :mod:`offchain.pools.discovery` — both put together for one node and one round
  (``RoundPlan``), merged with the node's own settings (listen and announce addresses).

The design is written down in ``docs/multi-host.md``.
"""
