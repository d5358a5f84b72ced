"""JSON wire format of SynCluster messages: encoding, size guard, headers, completed reports."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import pika

from synmanager.errors import InvalidMessageError, MessageTooLargeError

CONTENT_TYPE = "application/json"
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
ATTEMPTS_HEADER = "x-synergos-attempts"
ERROR_HEADER = "x-synergos-error"
SOURCE_QUEUE_HEADER = "x-synergos-queue"
MAX_ERROR_CHARS = 2000

STATUS_SUCCEEDED = "succeeded"
STATUS_FAILED = "failed"


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | PurePath):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode_message(message: Mapping[str, Any], max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> bytes:
    """Serialise a message (a JSON object) to UTF-8 bytes; datetimes become ISO strings.

    Raises InvalidMessageError for a non-mapping or unserialisable value and
    MessageTooLargeError above `max_bytes`.
    """
    if not isinstance(message, Mapping):
        raise InvalidMessageError(f"a message must be a JSON object, not {type(message).__name__}")
    try:
        body = json.dumps(dict(message), default=_json_default, sort_keys=True,
                          allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise InvalidMessageError(f"message is not JSON serialisable: {exc}") from exc
    if len(body) > max_bytes:
        raise MessageTooLargeError(len(body), max_bytes)
    return body


def decode_message(body: bytes | None, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> dict:
    """Parse a message body; it must be a UTF-8 JSON object no larger than `max_bytes`."""
    body = body or b""
    if len(body) > max_bytes:
        raise MessageTooLargeError(len(body), max_bytes)
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidMessageError(f"message body is not UTF-8 JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise InvalidMessageError(f"message must be a JSON object, not {type(message).__name__}")
    return message


def attempts_of(properties: pika.BasicProperties | None) -> int:
    """How many failed attempts the message's header records (0 when absent or malformed)."""
    headers = (properties.headers if properties else None) or {}
    value = headers.get(ATTEMPTS_HEADER, 0)
    return value if isinstance(value, int) and value >= 0 else 0


def message_properties(job_id: Any = None,
                       headers: Mapping[str, Any] | None = None) -> pika.BasicProperties:
    """Properties of every SynCluster message: persistent, JSON, timestamped."""
    return pika.BasicProperties(
        content_type=CONTENT_TYPE,
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=job_id if isinstance(job_id, str) else None,
        timestamp=int(dt.datetime.now(dt.timezone.utc).timestamp()),
        headers=dict(headers) if headers else None,
    )


def describe_error(error: BaseException) -> str:
    """`Type: message`, truncated so it fits in a header and a report."""
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def job_identity(message: Mapping[str, Any] | None,
                 properties: pika.BasicProperties | None = None) -> dict[str, Any]:
    """The `process` and `job_id` a completed report carries over from its job."""
    message = message or {}
    job_id = message.get("job_id") or (properties.message_id if properties else None)
    return {"process": message.get("process"), "job_id": job_id}


def success_report(job: Mapping[str, Any], result: Any) -> dict[str, Any]:
    """The completed message for a job whose handler returned `result`.

    A dict result is merged in (non-dict results go under `outputs`); `process` and
    `job_id` always come from the job, `keys` too unless the result sets its own.
    """
    if result is None:
        report: dict[str, Any] = {}
    elif isinstance(result, Mapping):
        report = dict(result)
    else:
        report = {"outputs": result}
    report.update(job_identity(job))
    report.setdefault("status", STATUS_SUCCEEDED)
    if "keys" in job:
        report.setdefault("keys", job["keys"])
    return report


def failure_report(job: Mapping[str, Any] | None, error: str, attempts: int, queue: str,
                   properties: pika.BasicProperties | None = None) -> dict[str, Any]:
    """The completed message announcing that a job was dead-lettered."""
    report: dict[str, Any] = {
        **job_identity(job, properties),
        "status": STATUS_FAILED, "error": error, "attempts": attempts, "queue": queue,
    }
    if job and "keys" in job:
        report["keys"] = job["keys"]
    return report
