"""The few errors an operator can see; the CLI turns each into one clear paragraph and an exit code."""

from __future__ import annotations


class PipelineError(Exception):
    """Something an operator must fix; the message says what and how. Exit code 1."""

    exit_code = 1


class ConfigError(PipelineError):
    """The configuration file is missing, unreadable or invalid. Exit code 2."""

    exit_code = 2


class SheetError(PipelineError):
    """The spreadsheet cannot be read or written as configured (missing sheet or column, access)."""


class SheetMovedError(SheetError):
    """Rows moved (sorted, inserted, deleted) between the read and the write; nothing written."""


class LockHeldError(PipelineError):
    """Another run holds the run lock. Exit code 3."""

    exit_code = 3


class MailError(PipelineError):
    """The mail transport cannot be used as configured."""


class InputsRefusedError(PipelineError):
    """The run's inputs look broken (empty member list, vanished answers, a clock set back):
    it stopped before sending or writing anything. Exit code 1; `run --force` overrides."""


class UsageError(ConfigError):
    """The command was used wrongly (an unknown template, a missing option). Exit code 2."""


class SheetConfigError(SheetError, ConfigError):
    """The spreadsheet cannot be reached as configured (no credentials, a bad key file). Exit 2."""


class MailConfigError(MailError, ConfigError):
    """The mail transport is configured wrongly (no password variable, a bad CA file). Exit 2."""
