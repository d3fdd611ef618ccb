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


class ParameterError(ConfigError):
    """A ConfigError about the value of one named parameter or config field.

    The message reads ``name=value problem``, e.g. ``batch_size=0 is invalid
    (expected 1 or more)``. The name, value and problem are kept as attributes,
    so that the command line can name the flag the user typed instead of the
    field (see ``minbert.cli.options.naming_flags``).
    """

    def __init__(self, name: str, value: object, problem: str) -> None:
        super().__init__(f"{name}={value!r} {problem}")
        self.name = name
        self.value = value
        self.problem = problem


class OutputError(MinbertError):
    """An output path cannot take a new file: it is a folder, a device, a pipe or an input."""
