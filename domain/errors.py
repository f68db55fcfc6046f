"""The project's error vocabulary: every exception raised on purpose derives from
:class:`ScripeError`, through one of a few kinds that say what the caller can do.

* ``services.errors.ApiError`` and its subclasses: the HTTP family, one class per
  documented ``error.code`` (docs/api.md); ``ALL_ERRORS`` is derived from its subclasses.
* :class:`NotFoundError` (also a ``LookupError``): a row or a workflow that does not exist
  (``db/repo``, ``services/operator_jobs.py``, ``services/reconciliation.py``).
* :class:`StateConflict`: the record's state forbids the step (a job finished already, a
  job a retry cannot help, a job still running).
* :class:`PolicyRefusal`: a rule refuses the request (a spend cap, a non-public address,
  an endpoint limit).
* :class:`DependencyFailure`: something outside failed (a web page, a webhook endpoint);
  ``retryable`` where it says whether trying later may help.
* ``db.errors.StorageRejected``: a permanent database error.

Job error codes (the job's ``errorCode``, Temporal's ``ApplicationError.type``) are data,
not classes: the table ``domain.job_lifecycle.JOB_ERRORS``.
"""

from __future__ import annotations


class ScripeError(Exception):
    """Base of every error the project raises on purpose."""


class NotFoundError(ScripeError, LookupError):
    """A row or workflow that does not exist (``except LookupError`` still catches it)."""


class StateConflict(ScripeError):
    """The record's current state forbids the step."""


class PolicyRefusal(ScripeError):
    """A rule of the product refuses the request."""


class DependencyFailure(ScripeError):
    """Something outside the project failed."""
