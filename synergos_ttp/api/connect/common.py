"""What every connect handler shares: body checks, archive error mapping, envelopes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask_restx import Namespace

from synarchive import RecordNotFound, RecordTable, RecordValidationError
from synergos_ttp.api.models import error_model
from synergos_ttp.api.records import public_record, public_records
from synergos_ttp.api.services import current_services
from synergos_ttp.api.validation import path_id_errors, schema_errors
from synrest.envelope import Envelope, success
from synrest.errors import NotFound, ValidationFailed
from synrest.payload import json_object

ERROR_STATUSES = {
    400: "malformed JSON body",
    401: "missing or invalid bearer token",
    404: "record (or its parent) does not exist",
    409: "the record is not in a state that allows this",
    422: "invalid fields; `errors` names each one",
}


def table(name: str) -> RecordTable:
    """The archive table `name` of the app serving this request."""
    return current_services().archive.table(name)


def checked_body(resource: str, create: bool, path_ids: dict[str, str]) -> dict[str, Any]:
    """The request's JSON object after schema and URL-id checks; raises 400/422 otherwise."""
    body = json_object(allow_empty=not create)
    errors = path_id_errors(path_ids, body)
    errors.update(schema_errors(resource, body, create))
    raise_if_invalid(errors)
    return body


def raise_if_invalid(errors: dict[str, str]) -> None:
    """Raise the 422 envelope when `errors` (field -> problem) is not empty."""
    if errors:
        raise ValidationFailed(errors)


def without_fields(body: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """`body` without the given (id) fields."""
    return {name: value for name, value in body.items() if name not in names}


def read_or_404(table_name: str, key: dict[str, Any], what: str) -> dict[str, Any]:
    """The record with `key` or a 404 envelope naming it (`what`, e.g. "project 'p1'")."""
    record = table(table_name).read(key)
    if record is None:
        raise NotFound(f"{what} does not exist")
    return record


@contextmanager
def archive_errors() -> Iterator[None]:
    """Turn the archive's validation/not-found errors into 422/404 envelopes."""
    try:
        yield
    except RecordValidationError as error:
        raise ValidationFailed(error.errors) from None
    except RecordNotFound as error:
        raise NotFound(str(error)) from None


def list_records(kind: str, filters: dict[str, Any], method: str) -> Envelope:
    """200 with the public views of the `kind` records matching `filters`."""
    return many(method, table(kind).read_all(filters))


def read_record(kind: str, key: dict[str, Any], what: str, method: str) -> Envelope:
    """200 with the public view of one `kind` record, or a 404 naming it (`what`)."""
    return one(200, method, read_or_404(kind, key, what))


def create_record(kind: str, key: dict[str, Any], details: dict[str, Any],
                  method: str) -> Envelope:
    """Create (upsert) a `kind` record: 201 with its public view."""
    with archive_errors():
        record = table(kind).create(key, details)
    return one(201, method, record)


def update_record(kind: str, key: dict[str, Any], changes: dict[str, Any],
                  method: str) -> Envelope:
    """Change fields of a `kind` record: 200 with its public view."""
    with archive_errors():
        record = table(kind).update(key, changes)
    return one(200, method, record)


def delete_record(kind: str, key: dict[str, Any], method: str) -> Envelope:
    """Delete a `kind` record (and what cascades from it): 200 with the record as it was."""
    with archive_errors():
        record = table(kind).delete(key)
    return one(200, method, record)


def one(status: int, method: str, record: dict[str, Any]) -> Envelope:
    """Envelope carrying the public view of one record."""
    return success(status, method, public_record(record))


def many(method: str, records: list[dict[str, Any]]) -> Envelope:
    """200 envelope carrying the public views of several records."""
    return success(200, method, public_records(records))


def document_errors(ns: Namespace, *statuses: int) -> Callable[[Any], Any]:
    """Decorator documenting the error envelopes a handler may answer with."""
    model = error_model(ns)

    def decorate(handler: Any) -> Any:
        for status in statuses:
            handler = ns.response(status, ERROR_STATUSES[status], model)(handler)
        return handler

    return decorate
