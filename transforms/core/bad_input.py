"""BadInput, the family of expected rejections, and where an exception was raised: kept free of
Beam, so the processes that only extract pages (their fork server imports the parse code and
what it raises) start without importing Beam: half of the 1.5 s an HTML run's first page
waited for them."""

from __future__ import annotations

import traceback


class BadInput(ValueError):
    """An expected rejection (empty file, undecodable bytes, no article in a page, an HTTP
    failure, a feed without entries): the family of exceptions that are not bugs."""


def raised_at(exc: BaseException) -> str:
    """file:line where an exception was raised (kept on the exception by code that re-raises it
    from another process, where the traceback does not travel)."""
    kept = getattr(exc, "raised_at", None)
    if kept:
        return kept
    if exc.__traceback__ is None:
        return "unknown place"
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"
