"""`Driver`: the entry point of the SDK, one attribute per TTP resource."""

from __future__ import annotations

import os
from typing import Any

from synergos.http import DEFAULT_TIMEOUT, Timeout, Transport, build_base_url
from synergos.jobs import JobWaiter
from synergos.resources import (
    Alignments,
    Contributions,
    Experiments,
    Jobs,
    Models,
    Optimizations,
    Participants,
    Predictions,
    Projects,
    Registrations,
    Runs,
    Tags,
    Validations,
)

TOKEN_ENV = "SYNERGOS_TOKEN"


class Driver:
    """Client of a Synergos TTP (or Director): `driver.<resource>.<verb>(...)`.

    Resources: `projects`, `experiments`, `runs`, `participants`, `registrations`, `tags`
    (connect); `alignments`, `models`, `optimizations` (train); `validations`,
    `contributions`, `predictions` (evaluate); `jobs`. Every call returns the parsed response
    envelope `{"apiVersion", "success", "status", "method", "params", "data"}` and raises a
    `SynergosError` subclass on failure. Train/evaluate `create` calls wait for their
    background job (with a progress bar) unless given `wait=False`.

    Args:
        host: the TTP's address, e.g. `"127.0.0.1"` or `"ttp.example.org"`.
        port: the TTP's command port (default 5000).
        token: bearer token of the TTP (default None: read env `SYNERGOS_TOKEN`; no token
            if that is unset too, for servers started with `--insecure`).
        secure: use https (default False).
        verify: for https, True to check the certificate against the system CAs (default),
            a path to a CA bundle, or False to skip the check (not recommended).
        timeout: seconds to wait for each HTTP answer (default 60), a `(connect, read)`
            pair, or None for no limit. Job waiting has its own `timeout` per call.

    Example:
        from synergos import Driver
        driver = Driver(host="127.0.0.1", port=5000, token="s3cret")
        driver.projects.create(project_id="test_project", action="classify", incentives={})
    """

    def __init__(
        self,
        host: str,
        port: int = 5000,
        token: str | None = None,
        secure: bool = False,
        verify: bool | str = True,
        timeout: Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        if token is None:
            token = os.environ.get(TOKEN_ENV) or None
        if token is not None and not isinstance(token, str):
            raise ValueError(f"token must be a string, got {type(token).__name__}")
        self.host = host
        self.port = port
        self.base_url = build_base_url(host, port, secure)
        self._transport = Transport(self.base_url, token=token, verify=verify, timeout=timeout)
        waiter = JobWaiter(self._transport)
        self.projects = Projects(self._transport, waiter)
        self.experiments = Experiments(self._transport, waiter)
        self.runs = Runs(self._transport, waiter)
        self.participants = Participants(self._transport, waiter)
        self.registrations = Registrations(self._transport, waiter)
        self.tags = Tags(self._transport, waiter)
        self.alignments = Alignments(self._transport, waiter)
        self.models = Models(self._transport, waiter)
        self.optimizations = Optimizations(self._transport, waiter)
        self.validations = Validations(self._transport, waiter)
        self.contributions = Contributions(self._transport, waiter)
        self.predictions = Predictions(self._transport, waiter)
        self.jobs = Jobs(self._transport, waiter)

    def __repr__(self) -> str:
        return f"Driver(base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the keep-alive connection to the server."""
        self._transport.close()

    def __enter__(self) -> Driver:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
