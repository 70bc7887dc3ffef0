"""Errors the domain raises for bad input.

Every entrypoint turns an :class:`InputError` into one line for the user (exit code 2 on the
CLI, HTTP 4xx in the API): the message must name the offending field, rule, file or line.
"""

__all__ = ["InputError"]


class InputError(ValueError):
    """Input that ashiguard refuses; the message names the field, line or rule at fault."""
