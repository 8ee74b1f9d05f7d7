"""Errors of the work domain. Each message is safe to show to a coordinator as it is."""


class TaskError(Exception):
    """Something about the work could not be done; the message says what and why."""


class InvalidInput(TaskError):
    """A value given by a coordinator is not acceptable; the message says which and why."""


class NotFound(TaskError):
    """The named project, worker or item does not exist."""
