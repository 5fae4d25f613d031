"""What can go wrong in review, each carrying what the HTTP edge needs to say it clearly."""

from __future__ import annotations

from typing import Any


class ReviewError(Exception):
    """Base: a request the review rules refuse. `detail` is shown to the coder as is."""

    status = 400
    title = "Request refused"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(ReviewError):
    status = 404
    title = "Not found"


class Conflict(ReviewError):
    """The resource changed since the caller read it, or its state forbids the action;
    `extra["current"]` carries the state as it is now."""

    status = 409
    title = "Conflict"


class CommitBlocked(Conflict):
    title = "Commit refused"


class NotAllowed(ReviewError):
    """The actor's role may not do this (the HTTP edge checks roles first; the review
    functions check again where a role changes what an action means)."""

    status = 403
    title = "Forbidden"


class InvalidInput(ReviewError):
    """A well-formed request whose content the rules reject (an unknown code, a bad span);
    `extra["field"]` names the field."""

    status = 422
    title = "Invalid request content"


class PreconditionRequired(ReviewError):
    status = 428
    title = "Precondition required"


class TooLarge(ReviewError):
    status = 413
    title = "Too large"


class TooMany(ReviewError):
    """Too much of something already under way (queued evaluation runs); the edge turns
    `retry_after` (seconds) into a Retry-After header and keeps it in the body."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after
