"""Errors of the Worker's data layer; each carries the HTTP status the REST layer answers with."""

from __future__ import annotations


class DatasetError(Exception):
    """Base error of `synergos_worker.datasets`: a human-readable message and an HTTP status."""

    status: int = 500

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return self.message


class InvalidRequest(DatasetError):
    """The caller's arguments are malformed (bad action, meta, project id or tag structure)."""

    status = 400


class UnsafeTag(DatasetError):
    """A tag token is not a plain name, or a tag/file would lead outside the data root."""

    status = 400


class TagNotFound(DatasetError):
    """No dataset folder under the data root matches every token of the tag."""

    status = 404


class TagAmbiguous(DatasetError):
    """Several dataset folders match the tag; the message lists them."""

    status = 409


class InvalidDataset(DatasetError):
    """A dataset folder's files are unusable (missing `target`, corrupted image, bad schema...)."""

    status = 422


class NotPrepared(DatasetError):
    """`load_prepared` was asked for a project/meta that has not been preprocessed."""

    status = 404
