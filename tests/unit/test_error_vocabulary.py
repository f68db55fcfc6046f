"""One error vocabulary (domain/errors.py): every error raised on purpose is typed under it."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from activities.webhooks import AttemptFailed
from db.errors import StorageRejected
from db.repo.jobs import JobAlreadyFinished
from db.repo.ledger import CapExceeded
from db.repo.webhooks import TooManyEndpoints
from domain.errors import (
    DependencyFailure,
    NotFoundError,
    PolicyRefusal,
    ScripeError,
    StateConflict,
)
from domain.public_addresses import FetchFailed, FetchRefused
from services import errors as api_errors
from services.operator_jobs import JobNotFound, NotRetryable
from services.reconciliation import StillRunning

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "services", "db", "activities", "domain", "workflows")


def test_all_errors_is_every_api_error_class_in_definition_order() -> None:
    defined = [
        cls
        for _, cls in inspect.getmembers(api_errors, inspect.isclass)
        if issubclass(cls, api_errors.ApiError) and cls is not api_errors.ApiError
    ]
    source = inspect.getsource(api_errors)
    defined.sort(key=lambda cls: source.index(f"class {cls.__name__}("))
    assert list(api_errors.ALL_ERRORS) == defined
    codes = [cls.code for cls in api_errors.ALL_ERRORS]
    assert len(codes) == len(set(codes))


def test_all_errors_is_derived_not_listed() -> None:
    tree = ast.parse(inspect.getsource(api_errors))
    assigned = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign | ast.Assign)
        and "ALL_ERRORS"
        in ast.unparse(node.targets[0] if isinstance(node, ast.Assign) else node.target)
    ]
    assert assigned and not isinstance(assigned[0], ast.Tuple)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (api_errors.ApiError, ScripeError),
        (FetchRefused, PolicyRefusal),
        (CapExceeded, PolicyRefusal),
        (TooManyEndpoints, PolicyRefusal),
        (FetchFailed, DependencyFailure),
        (AttemptFailed, DependencyFailure),
        (JobAlreadyFinished, StateConflict),
        (NotRetryable, StateConflict),
        (StillRunning, StateConflict),
        (JobNotFound, NotFoundError),
        (StorageRejected, ScripeError),
    ],
    ids=lambda value: value.__name__,
)
def test_each_family_is_typed_under_the_vocabulary(
    error: type[Exception], kind: type[ScripeError]
) -> None:
    assert issubclass(error, kind) and issubclass(kind, ScripeError)


def test_existing_handlers_still_catch_them() -> None:
    assert issubclass(NotFoundError, LookupError)  # ``except LookupError`` keeps working
    assert issubclass(NotRetryable, ValueError) and issubclass(StillRunning, ValueError)


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_untyped_error_is_raised_or_defined(path: Path) -> None:
    """No bare ``raise LookupError``, no error class outside the vocabulary's bases."""
    if path == ROOT / "domain" / "errors.py":
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    builtin_bases = {"Exception", "LookupError", "ValueError", "RuntimeError", "KeyError"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            assert ast.unparse(node.exc.func) != "LookupError", ast.unparse(node)
        if isinstance(node, ast.ClassDef):
            bases = {ast.unparse(base) for base in node.bases}
            assert not (bases and bases <= builtin_bases), f"class {node.name}({bases})"
