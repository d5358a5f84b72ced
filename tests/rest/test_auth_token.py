"""Where the bearer token comes from: generated once and stored, env, --insecure, bad tokens."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import requests

from synrest.auth import TOKEN_FILENAME
from tests.rest.conftest import SAMPLE_MODULE, start_sample


def json_log_lines(log: str) -> list[str]:
    """The structured (JSON) lines of a service log, i.e. what the logger emitted."""
    return [line for line in log.splitlines() if line.startswith("{")]


def test_token_generated_stored_printed_once_and_reused(tmp_path: Path) -> None:
    first = start_sample(tmp_path, "gen")
    try:
        token_file = tmp_path / "gen-data" / TOKEN_FILENAME
        token = token_file.read_text().strip()
        assert len(token) >= 40
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        headers = {"Authorization": f"Bearer {token}"}
        assert requests.get(first.base_url + "/sample/items", headers=headers,
                            timeout=5).status_code == 200
        assert requests.get(first.base_url + "/sample/items", timeout=5).status_code == 401
    finally:
        assert first.stop() == 0
    first_log = first.log_path.read_text()
    assert first_log.count(token) == 1  # the one stdout announcement
    assert not any(token in line for line in json_log_lines(first_log))

    second = start_sample(tmp_path, "gen")  # same data dir, same log file (appended)
    try:
        assert token_file.read_text().strip() == token
        assert requests.get(second.base_url + "/sample/items",
                            headers={"Authorization": f"Bearer {token}"},
                            timeout=5).status_code == 200
    finally:
        second.stop()
    assert second.log_path.read_text().count(token) == 1  # not printed again


def test_env_token_is_used_and_never_logged(tmp_path: Path) -> None:
    token = "env-token-abcdefghijklmnopqrstuvwxyz"
    service = start_sample(tmp_path, "env", ["--debug"], env={"SYNERGOS_TOKEN": token})
    try:
        headers = {"Authorization": f"Bearer {token}"}
        assert requests.get(service.base_url + "/sample/careless", headers=headers,
                            timeout=5).status_code == 200
        assert not (tmp_path / "env-data" / TOKEN_FILENAME).exists()
    finally:
        service.stop()
    log = service.log_path.read_text()
    assert token not in log
    assert "Bearer ***" in log


def test_insecure_turns_auth_off_and_warns(tmp_path: Path) -> None:
    service = start_sample(tmp_path, "open", ["--insecure"])
    try:
        response = requests.get(service.base_url + "/sample/items", timeout=5)
        assert response.status_code == 200
        spec = requests.get(service.base_url + "/swagger.json", timeout=5).json()
        assert "security" not in spec
    finally:
        service.stop()
    warnings = [json.loads(line) for line in json_log_lines(service.log_path.read_text())
                if '"WARNING"' in line]
    assert any("authentication is off" in event["message"] for event in warnings)


def test_short_token_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", SAMPLE_MODULE, "--host", "127.0.0.1", "--port", "1",
         "--data_dir", str(tmp_path), "--token", "short-token"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "--token" in result.stderr and "shorter than 16" in result.stderr
