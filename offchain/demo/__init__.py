"""``make demo``: the whole network on one machine (``python -m offchain.demo``).

- :mod:`offchain.demo.network` — anvil + deployment, the demo domain and pool, providers and
  validators registered with the ``loranet`` CLI, worker and validator processes.
- :mod:`offchain.demo.chainlog` — what happened on chain, read from the work ledger's events.
- :mod:`offchain.demo.report` — the summary tables, ``demo-output/`` (JSON + PNG), the verdict.
- :mod:`offchain.demo.__main__` — the run: set up, start, watch three rounds, stop, report.
"""
