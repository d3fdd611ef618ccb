"""Exception types for bad input, one per layer.

Each carries the file, line or value at fault in its message. Library code
raises them; only ``minbert.cli`` turns them into a one-line message and exit
status 2. They subclass ``ValueError`` so that plain Python callers can catch
them the usual way.
"""


class MinbertError(ValueError):
    """Base class for every error caused by bad input rather than a bug."""


class TokenizerError(MinbertError):
    """A vocabulary or tokenizer file is missing, unreadable or malformed."""


class CheckpointError(MinbertError):
    """A model folder or checkpoint cannot be loaded into the model."""


class DataError(MinbertError):
    """A data file is missing, malformed, or has a bad value in some row."""


class ConfigError(MinbertError):
    """An option or hyper-parameter has an invalid value."""


class OutputError(MinbertError):
    """An output path cannot take a new file: it is a folder, a device, a pipe or an input."""
