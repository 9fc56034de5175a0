"""Errors raised for problems in the user's input or environment.

Every error meant for a user is a :class:`VSAEError`; the CLI prints its message as one line and exits
with status 2. It subclasses :class:`ValueError` so that code written against scikit-learn's
conventions (``except ValueError``) keeps working.
"""

from __future__ import annotations


class VSAEError(ValueError):
    """A problem with the user's data, files or arguments, described in one readable line."""


class TrainingDivergedError(VSAEError, RuntimeError):
    """The training loss became NaN or infinite."""


class UnknownSettingError(VSAEError, TypeError):
    """A keyword argument that is no setting of the estimator (a TypeError, as Python raises for an
    unexpected keyword)."""
