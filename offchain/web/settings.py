"""The dashboard's section of the settings tree; defined in :mod:`offchain.settings.web`."""

from offchain.settings.web import WebSettings

__all__ = ["WebSettings"]
