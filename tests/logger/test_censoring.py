"""The Censor on its own: what censored mode removes, what it keeps, and secret masking."""

from __future__ import annotations

import pytest

from synlogger.censoring import CENSORED, SECRET_MASK, Censor, SecretRegistry

TOKEN = "tok_0123456789abcdefXYZ"


@pytest.fixture
def censor() -> Censor:
    secrets = SecretRegistry()
    secrets.add(TOKEN)
    return Censor(secrets, censored=True, identifiers=["worker-a.internal"])


@pytest.mark.parametrize(("text", "identifier"), [
    ("connecting to 10.0.0.5 now", "10.0.0.5"),
    ("connecting to 172.30.0.4:9300 now", "172.30.0.4:9300"),
    ("listening on ::1 and fe80::1%eth0", "fe80::1"),
    ("peer [2001:db8::7334]:8020 joined", "2001:db8::7334"),
    ("bare 2001:db8:0:0:1:0:0:1 address", "2001:db8:0:0:1:0:0:1"),
    ("broker rabbitmq:5672 down", "rabbitmq:5672"),
    ("broker mq.example.org:5671 down", "mq.example.org"),
    ("GET http://127.0.0.1:5000/ttp/connect/projects failed", "127.0.0.1"),
    ("tracking at file:///mlflow/runs", "/mlflow/runs"),
    ("reading /orchestrator/data/project.json", "/orchestrator/data"),
    ('File "/work/main/synrest/server.py", line 12', "/work/main"),
    ("home ~/datasets/x.csv", "~/datasets"),
    ("windows C:\\Users\\me\\data.csv", "C:\\Users"),
    ("worker-a.internal is up", "worker-a.internal"),
    ("data_port=8020 ready", "8020"),
    ("bound to port 5000", "5000"),
])
def test_censored_text_loses_network_identifiers_and_paths(censor: Censor, text: str,
                                                           identifier: str) -> None:
    scrubbed = censor.text(text)
    assert identifier not in scrubbed
    assert CENSORED in scrubbed


@pytest.mark.parametrize("text", [
    "round 3 of 10 finished at 2024-01-02T12:30:45Z",
    "loss 0.1234 after 12:30 minutes",
    "content type text/html and 3/4 of the data",
    "project p1 experiment e1 run r1",
])
def test_censored_text_keeps_ordinary_content(censor: Censor, text: str) -> None:
    assert censor.text(text) == text


@pytest.mark.parametrize("text", [
    f"token={TOKEN}", f"Authorization: Bearer {TOKEN}", f"x {TOKEN} y",
    'body {"token": "abcdef123456"}', "password: hunter2hunter2",
])
def test_secrets_are_masked_even_without_censoring(text: str) -> None:
    secrets = SecretRegistry()
    secrets.add(TOKEN)
    scrubbed = Censor(secrets, censored=False).text(text)
    assert TOKEN not in scrubbed and "abcdef123456" not in scrubbed
    assert "hunter2" not in scrubbed
    assert SECRET_MASK in scrubbed


def test_fields_are_censored_by_key_and_recursively(censor: Censor) -> None:
    assert censor.field("data_dir", "/orchestrator/data") == CENSORED
    assert censor.field("port", 5000) == CENSORED
    assert censor.field("auth_token", "anything") == SECRET_MASK
    nested = censor.field("participant", {"host": "10.1.1.1", "f_port": 5000, "id": "p1",
                                          "notes": ["see /etc/x", 3]})
    assert nested == {"host": CENSORED, "f_port": CENSORED, "id": "p1",
                      "notes": [f"see {CENSORED}", 3]}
    assert censor.field("rounds", 10) == 10


def test_traceback_file_names_survive_without_their_folders(censor: Censor) -> None:
    scrubbed = censor.text('File "/srv/synergos/synrest/server.py", line 12, in start')
    assert scrubbed == f'File "{CENSORED}/server.py", line 12, in start'


def test_uncensored_mode_keeps_identifiers() -> None:
    plain = Censor(SecretRegistry(), censored=False)
    assert plain.text("at 10.0.0.5:9300 /x/y") == "at 10.0.0.5:9300 /x/y"
    assert plain.field("port", 5000) == 5000


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        SecretRegistry().add("abc")
