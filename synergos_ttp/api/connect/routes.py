"""Declarative routes of a connect resource: each module lists its operations, this module
builds the flask-restx `Resource` with the documentation every connect route shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_restx import Namespace, Resource

from synergos_ttp.api.connect.common import document_errors
from synergos_ttp.api.models import body_models, record_models
from synrest.envelope import Envelope

# what each method answers on success, whether it takes a body, the errors it documents
_SUCCESS = {"get": 200, "post": 201, "put": 200, "delete": 200}
_BODY_ERRORS = (400, 401, 422)
_PLAIN_ERRORS = (401,)


@dataclass(frozen=True)
class Operation:
    """One HTTP method of a resource: the handler (called with the URL's ids as keywords),
    its OpenAPI summary and the description of its success answer."""

    handler: Callable[..., Envelope]
    summary: str
    answer: str


class RecordRoutes:
    """Builds the routes of one archive table's records in a namespace."""

    def __init__(self, ns: Namespace, kind: str) -> None:
        self.ns = ns
        self.single, self.listed = record_models(ns, kind)
        self.create_body, self.update_body = body_models(ns, kind)

    def add(self, name: str, endpoint: str, urls: tuple[str, ...], *, listing: bool = False,
            **operations: Operation) -> None:
        """Route `urls` to a resource class `name` serving `operations` (keyed by method);
        a listing's GET answers the list model. URL ids make 404 a documented answer."""
        with_ids = all("<" in url for url in urls)
        methods = {method: self._method(method, operation, listing, with_ids)
                   for method, operation in operations.items()}
        self.ns.route(*urls, endpoint=endpoint)(type(name, (Resource,), methods))

    def _method(self, method: str, operation: Operation, listing: bool,
                with_ids: bool) -> Callable[..., Envelope]:
        handler = operation.handler

        def serve(self: Resource, **ids: str) -> Envelope:
            return handler(**ids)

        serve.__name__ = method
        serve.__doc__ = operation.summary
        body = {"post": self.create_body, "put": self.update_body}.get(method)
        errors = _BODY_ERRORS if body is not None else _PLAIN_ERRORS
        if with_ids:
            errors = tuple(sorted((*errors, 404)))
        decorated: Any = document_errors(self.ns, *errors)(serve)
        model = self.listed if listing and method == "get" else self.single
        decorated = self.ns.response(_SUCCESS[method], operation.answer, model)(decorated)
        if body is not None:
            decorated = self.ns.expect(body)(decorated)
        return decorated
