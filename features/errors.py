"""Errors a user can fix: the CLI prints the message on one line, exits non-zero, no traceback."""


class LeadscoreError(Exception):
    """Base for every error caused by the user's inputs, config or command line."""


class InputError(LeadscoreError):
    """An input file is missing, unreadable, or lacks a required column. Names file and column."""


class ConfigError(LeadscoreError):
    """The TOML config (or a mapping profile) has a bad key or value. Names the key."""


class ModelError(LeadscoreError):
    """A registered model cannot be used with this run (feature set or library versions differ)."""


class OutputError(LeadscoreError):
    """The output root cannot be written (read-only, no permission, disk full). Names the path."""
