"""`secure=True` talks https and `verify` accepts a CA bundle path (real TLS on loopback)."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from synergos import Driver, UnreachableError
from tests.driver.fake_ttp import FakeTTP


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 (cert path, key path)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


@pytest.fixture()
def tls_ttp(self_signed: tuple[Path, Path]) -> Iterator[FakeTTP]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, self_signed))
    with FakeTTP(tls_context=context) as server:
        yield server


def test_unknown_certificate_is_refused_by_default(tls_ttp: FakeTTP) -> None:
    driver = Driver("127.0.0.1", tls_ttp.port, secure=True, timeout=5)
    with pytest.raises(UnreachableError, match="verify=<CA bundle path>") as caught:
        driver.projects.read_all()
    assert "certificate verify failed" in str(caught.value)
    assert f"127.0.0.1:{tls_ttp.port}" in str(caught.value)


def test_verify_false_skips_the_check(tls_ttp: FakeTTP) -> None:
    driver = Driver("127.0.0.1", tls_ttp.port, secure=True, verify=False, timeout=5)
    with pytest.warns(Warning, match="Unverified HTTPS"):
        assert driver.projects.read_all()["success"] == 1


def test_ca_bundle_path_verifies_the_server(
    tls_ttp: FakeTTP, self_signed: tuple[Path, Path]
) -> None:
    driver = Driver("127.0.0.1", tls_ttp.port, token="tls-token", secure=True,
                    verify=str(self_signed[0]), timeout=5)
    assert driver.projects.read_all()["success"] == 1
    assert tls_ttp.requests[-1].headers["authorization"] == "Bearer tls-token"
