"""The web dashboard (``loranet web``): network explorer and provider console.

- :mod:`offchain.web.settings` — :class:`WebSettings` (``LORANET_WEB_*``): address, store, polling.
- :mod:`offchain.web.readmodel` — :class:`ReadModel`: the indexed events in SQLite or
  PostgreSQL (SQLAlchemy Core), idempotent per event key, orphans removed after reorgs.
- :mod:`offchain.web.indexer` — :class:`Indexer`: the reorg-safe watcher feeding the read model
  in batches, in a background thread, telling listeners about each new block.
- :mod:`offchain.web.explorer` — :class:`Explorer`: overview, pools, rounds, providers, nodes
  computed from the read model (plain dicts for the JSON API).
- :mod:`offchain.web.console` — the provider console's server half: the CLI's prechecks and
  calldata for a browser wallet (nothing is signed here), and revert data → the CLI's sentence.
- :mod:`offchain.web.app` — the FastAPI app: JSON API, server-sent events, the built front end.
"""
