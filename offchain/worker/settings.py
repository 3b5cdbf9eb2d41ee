"""The worker's section of the settings tree; defined in :mod:`offchain.settings.worker`."""

from offchain.settings.worker import WorkerSettings

__all__ = ["WorkerSettings"]
