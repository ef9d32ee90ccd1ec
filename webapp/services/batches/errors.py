"""What goes wrong with a batch, in words for the person who tried."""


class BatchError(ValueError):
    """A batch cannot be created or changed; the message is for the person who tried."""


class BatchConflict(BatchError):
    """Some loads are already in another live batch (named in the message)."""

    def __init__(self, message, load_numbers=(), batch=None):
        super().__init__(message)
        self.load_numbers = list(load_numbers)
        self.batch = batch


class JobError(Exception):
    """The batch file could not be built, for a reason a person understands (the message says which)."""


def names(numbers, limit=10):
    """'DT-1001, DT-1002 and 3 more'."""
    numbers = sorted(numbers)
    shown = ", ".join(numbers[:limit])
    return shown if len(numbers) <= limit else f"{shown} and {len(numbers) - limit} more"
