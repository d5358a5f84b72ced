"""Participants: the Workers of the grid and how to reach them (`/ttp/connect/participants`)."""

from __future__ import annotations

from typing import Any

from synergos.http import Envelope
from synergos.resources.base import CONNECT, Resource, given, path_segment


class Participants(Resource):
    """Create, list, read, update and delete participants (`driver.participants`)."""

    @staticmethod
    def _item(participant_id: str) -> str:
        return f"{CONNECT}/participants/{path_segment('participant_id', participant_id)}"

    def create(
        self,
        participant_id: str,
        host: str,
        port: int | None = None,
        f_port: int | None = None,
        log_msgs: bool | None = None,
        verbose: bool | None = None,
        token: str | None = None,
        secure: bool | None = None,
        **fields: Any,
    ) -> Envelope:
        """Register (or overwrite) a participant's Worker: `POST /ttp/connect/participants`.

        Args:
            participant_id: id of the participant.
            host: address at which the TTP reaches the participant's Worker.
            port: the Worker's data port (server default 8020).
            f_port: the Worker's command (REST) port (server default 5000).
            log_msgs: whether the Worker logs exchanged messages (server default False).
            verbose: whether the Worker logs verbosely (server default False).
            token: the Worker's bearer token, used by the TTP to call it; write-only (never
                returned by the server). Omit it for Workers started with `--insecure`.
            secure: True when the Worker serves HTTPS (`--tls_cert/--tls_key`): the TTP then
                reaches both its ports over TLS, verifying its certificate and hostname
                against the TTP's `--worker_ca` (server default False: plain HTTP).
            **fields: any other participant field, sent as given (e.g. `email`, `summary`).

        Returns:
            The response envelope; `data` is the participant record (without the token).

        Example:
            driver.participants.create(participant_id="test_participant_1",
                                       host="172.17.0.2", port=8020, f_port=5000,
                                       log_msgs=True, verbose=True)
        """
        path_segment("participant_id", participant_id)
        body = {
            "participant_id": participant_id,
            "host": host,
            **given(port=port, f_port=f_port, log_msgs=log_msgs, verbose=verbose, token=token,
                    secure=secure),
            **fields,
        }
        return self._transport.post(f"{CONNECT}/participants", body)

    def read_all(self) -> Envelope:
        """List every participant: `GET /ttp/connect/participants`.

        Returns:
            The response envelope; `data` is a list of participant records.

        Example:
            driver.participants.read_all()
        """
        return self._transport.get(f"{CONNECT}/participants")

    def read(self, participant_id: str) -> Envelope:
        """Read one participant: `GET /ttp/connect/participants/<participant_id>`.

        Example:
            driver.participants.read(participant_id="test_participant_1")["data"]["host"]
        """
        return self._transport.get(self._item(participant_id))

    def update(self, participant_id: str, **changes: Any) -> Envelope:
        """Change fields of a participant (e.g. `host`, `port`, `token`): `PUT .../<id>`.

        Example:
            driver.participants.update("test_participant_1", host="10.0.0.7")
        """
        return self._transport.put(self._item(participant_id), self._changes(changes))

    def delete(self, participant_id: str) -> Envelope:
        """Delete a participant with its registrations and tags: `DELETE .../<id>`.

        Returns:
            The response envelope; `data` is the record as it was before deletion.

        Example:
            driver.participants.delete(participant_id="test_participant_1")
        """
        return self._transport.delete(self._item(participant_id))
