"""Certificates for test nodes that serve TLS: self-signed, or signed by a test CA."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def write_self_signed_cert(folder: Path, address: str = "127.0.0.1") -> tuple[Path, Path]:
    """Write a certificate for `address` and its key as PEM files; return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)])
    cert = (
        _valid_for_a_day(x509.CertificateBuilder().subject_name(name).issuer_name(name)
                         .public_key(key.public_key()))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address(address))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return _write_pair(folder, cert, key)


def write_ca(folder: Path, name: str = "Synergos test CA") -> tuple[Path, Path]:
    """Write a certificate authority (certificate, key) as PEM files; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        _valid_for_a_day(x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                         .public_key(key.public_key()))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                     False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return _write_pair(folder, cert, key)


def write_signed_cert(folder: Path, ca: tuple[Path, Path], address: str = "127.0.0.1",
                      also: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """Write a server certificate for `address` (and the addresses `also`) signed by the CA
    `(cert, key)` paths, and its key; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_cert = x509.load_pem_x509_certificate(ca[0].read_bytes())
    ca_key = serialization.load_pem_private_key(ca[1].read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _valid_for_a_day(x509.CertificateBuilder()
                         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                                     address)]))
                         .issuer_name(ca_cert.subject).public_key(key.public_key()))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address(name)) for name in (address, *also)]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca_cert.public_key()), critical=False)  # type: ignore[arg-type]
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    return _write_pair(folder, cert, key)


def _valid_for_a_day(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (builder.serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1)))


def _write_pair(folder: Path, cert: x509.Certificate,
                key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
