"""Errors raised by the storage layer."""


class StorageError(Exception):
    """The database could not be used; the message says why and is safe to show."""
