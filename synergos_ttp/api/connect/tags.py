"""Tags (datasets per meta) of a registration: `.../projects/<p>/registration/tags`.

Each of `train`, `evaluate`, `predict` is a list of tags, a tag being a list of plain-name
tokens that the Worker resolves to dataset folders; tokens never contain path separators,
`..`, or control characters.
"""

from __future__ import annotations

from flask_restx import Namespace

from synarchive.tables import TABLES
from synergos_ttp.api.connect.common import (
    checked_body,
    create_record,
    delete_record,
    raise_if_invalid,
    read_or_404,
    read_record,
    update_record,
    without_fields,
)
from synergos_ttp.api.connect.routes import Operation, RecordRoutes
from synergos_ttp.api.schemas import TAG_DEFAULTS
from synergos_ttp.api.validation import tag_errors
from synrest.envelope import Envelope

KIND = "Tag"
IDS = TABLES[KIND].key_fields


def _key(participant_id: str, project_id: str) -> dict[str, str]:
    return {"project_id": project_id, "participant_id": participant_id}


def _require_registration(key: dict[str, str]) -> None:
    read_or_404("Registration", key, f"registration of participant {key['participant_id']!r} "
                                     f"in project {key['project_id']!r}")


def _label(key: dict[str, str]) -> str:
    return f"tags of participant {key['participant_id']!r} in project {key['project_id']!r}"


def create_tags(participant_id: str, project_id: str) -> Envelope:
    """Declare (upsert) the tags of an existing registration; missing metas default to []."""
    key = _key(participant_id, project_id)
    body = checked_body(KIND, create=True, path_ids=key)
    raise_if_invalid(tag_errors(body))
    _require_registration(key)
    return create_record(KIND, key, {**TAG_DEFAULTS, **without_fields(body, IDS)}, "tag.post")


def read_tags(participant_id: str, project_id: str) -> Envelope:
    """The tags of a registration."""
    key = _key(participant_id, project_id)
    return read_record(KIND, key, _label(key), "tag.get")


def update_tags(participant_id: str, project_id: str) -> Envelope:
    """Replace the tag lists given in the body; the others stay."""
    key = _key(participant_id, project_id)
    body = checked_body(KIND, create=False, path_ids=key)
    raise_if_invalid(tag_errors(body))
    read_or_404(KIND, key, _label(key))
    return update_record(KIND, key, without_fields(body, IDS), "tag.put")


def delete_tags(participant_id: str, project_id: str) -> Envelope:
    """Delete the tags of a registration."""
    return delete_record(KIND, _key(participant_id, project_id), "tag.delete")


def build_tags_namespace() -> Namespace:
    """A fresh `tags` namespace (mount it at `/ttp/connect`)."""
    ns = Namespace("tags", description="Tags: a registration's datasets for train/evaluate/predict")
    routes = RecordRoutes(ns, KIND)
    routes.add(
        "Tags", "tag",
        ("/participants/<string:participant_id>/projects/<string:project_id>/registration/tags",),
        get=Operation(read_tags, "Read the tags of a registration.",
                      "the tags of the registration"),
        post=Operation(create_tags, "Declare the tags of a registration (the registration must "
                       "exist).", "tags declared (or replaced)"),
        put=Operation(update_tags, "Replace some tag lists of a registration.",
                      "the updated tags"),
        delete=Operation(delete_tags, "Delete the tags of a registration.", "the deleted tags"),
    )
    return ns
