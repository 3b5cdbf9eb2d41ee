"""The worker service a provider leaves running (``loranet worker run``).

- :mod:`offchain.worker.settings` — :class:`WorkerSettings` (``LORANET_*``): data dir, broker,
  watcher, outbox, heartbeat and metrics knobs.
- :mod:`offchain.worker.celery_app` — :func:`create_app`, the Celery app factory (embedded
  SQLite broker by default, Redis with ``LORANET_BROKER_URL``) and :class:`CeleryDispatcher`.
- :mod:`offchain.worker.handlers` — plain functions behind the (thin) tasks: the worker acts
  on its events (start, stop, claim) through :mod:`offchain.worker.actions`.
- :mod:`offchain.worker.standing` — whether the node may work for a pool, as events said.
- :mod:`offchain.worker.idempotency` — :class:`ProcessedStore`, task dedupe by dispatch key.
- :mod:`offchain.worker.heartbeat` — psutil/NVML snapshots, published in a hivemind DHT.
- :mod:`offchain.worker.metrics` — Prometheus metrics on a per-service registry.
- :mod:`offchain.worker.training` — a round's training that validators can check (the replay
  bundle, the peer binding) and the base adapter resolver.
- :mod:`offchain.worker.round_work` — train, store (``offchain.artifacts``), sign and submit
  one round's report through the outbox, exactly once.
- :mod:`offchain.worker.rounds` — the round clock and the scheduler of round work.
- :mod:`offchain.worker.node_process` — a round's training in a child process (hivemind
  installs signal handlers, which only a main thread may do).
- :mod:`offchain.worker.cheats` — dishonest variants for tests and the demo (off by default).

Shared with the validator (never imported from it): :mod:`offchain.rounds`, the service loop
:mod:`offchain.runtime`, the stop flag :mod:`offchain.shutdown`, the stores' base
:mod:`offchain.db`.
"""
