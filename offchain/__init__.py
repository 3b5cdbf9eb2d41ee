"""loranet off-chain services.

Subpackages:
    cli       the ``loranet`` command (Typer + Rich): thin commands over the modules below
    errors    the exception root ``LoranetError`` and its readable subclasses

Later issues add the chain client, settings, keys, watcher, worker and validator services.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("loranet")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"
