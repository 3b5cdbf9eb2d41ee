"""Errors of the inference gateway; each message is a sentence a user can act on."""

from __future__ import annotations

from offchain.errors import LoranetError


class GatewayError(LoranetError):
    """Base of every gateway error."""


class GatewayConfigError(GatewayError):
    """The gateway config file is missing or invalid."""


class KeyStoreError(GatewayError):
    """The API key file is unreadable, or a key named on the command line does not exist."""


class GeneratorError(GatewayError):
    """A generator could not serve a request (down, misconfigured, remote failure).

    The fallback chain skips the generator and tries the next one.
    """


class GenerationInputError(GatewayError):
    """The request itself cannot be served (prompt too long, bad sampling values).

    Not the generator's fault: no fallback, the client gets a 400.
    """

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.param = param
        self.code = code


class NoGeneratorAvailableError(GatewayError):
    """Every generator that serves the requested model failed or is waiting to be retried."""
