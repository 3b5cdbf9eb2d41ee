"""The validator's section of the settings tree; defined in :mod:`offchain.settings.validator`."""

from offchain.settings.validator import ValidatorSettings

__all__ = ["ValidatorSettings"]
