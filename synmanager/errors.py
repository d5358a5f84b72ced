"""Exceptions raised by synmanager, each with a message a user can act on."""

from __future__ import annotations


class SynManagerError(Exception):
    """Base class of every synmanager error."""


class BrokerUnavailableError(SynManagerError):
    """The broker could not be reached (after the allowed connection attempts)."""


class BrokerAuthenticationError(SynManagerError):
    """The broker refused the credentials or the virtual host; retrying will not help."""


class PublishError(SynManagerError):
    """The broker did not confirm a published message (nacked, unroutable or lost)."""


class InvalidMessageError(SynManagerError, ValueError):
    """A message is not a JSON object with the fields its queue requires."""


class MessageTooLargeError(InvalidMessageError):
    """An encoded message exceeds the configured size limit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"message is {size} bytes, over the {limit}-byte limit; send references "
            "(keys, paths) instead of inlining large payloads, or raise max_message_bytes"
        )
        self.size = size
        self.limit = limit
