"""The text the Flower deployment benchmark hands to Flower: its `config.toml` and the
`--run-config` / `--node-config` pairs (pure logic; no Flower venv needed)."""

from __future__ import annotations

import re

import pytest
import tomllib

from bench.flower_baseline.deployment import config_pairs, superlink_config_toml


def test_config_toml_names_the_connection_as_default_and_insecure():
    parsed = tomllib.loads(superlink_config_toml("bench", "127.0.0.1:9093"))
    assert parsed == {"superlink": {"default": "bench",
                                    "bench": {"address": "127.0.0.1:9093", "insecure": True}}}


@pytest.mark.parametrize("name, address", [("be nch", "127.0.0.1:1"), ("x]", "127.0.0.1:1"),
                                           ("bench", "127.0.0.1"), ("bench", ":80")])
def test_config_toml_refuses_a_bad_name_or_address(name, address):
    with pytest.raises(ValueError, match=r"connection name|address"):
        superlink_config_toml(name, address)


def flower_parse(text: str) -> dict:
    """How flwr 1.41 reads the pairs (`flwr.common.config.parse_config_args`)."""
    pairs = re.findall(r"(\S+?)=(\'[^\']*\'|\"[^\"]*\"|\S+)", text)
    return tomllib.loads("\n".join(f"{key} = {value}" for key, value in pairs))


def test_config_pairs_are_toml_values_flower_reads_back():
    values = {"num-clients": 8, "started-at": 1796598695.25, "model": "logreg",
              "result-path": "/tmp/flower-deployment-x1/result.json", "ratio": 0.5}
    assert flower_parse(config_pairs(values)) == values


@pytest.mark.parametrize("values, error", [
    ({"path": "/tmp/with space"}, ValueError), ({"path": 'a"b'}, ValueError),
    ({"a b": 1}, ValueError), ({"": 1}, ValueError), ({"flag": True}, TypeError),
    ({"items": [1, 2]}, TypeError)])
def test_config_pairs_refuse_what_flower_would_split_or_misread(values, error):
    with pytest.raises(error, match=repr(next(iter(values)))):
        config_pairs(values)
