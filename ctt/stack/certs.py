"""A certificate authority of the stack's own, for its TLS listener (``kafka_tls``).

A secured Kafka is what teams run; a stack that only speaks plaintext cannot show that
ctt's clients and Flink's tables reach one. ``up`` writes a CA and a broker certificate
for ``127.0.0.1``/``localhost`` (the names the listener advertises, so hostname checks
pass on both librdkafka and the Java client) into the run directory, once per stack.
Clients trust ``ca.pem`` (``kafka.ssl_ca_location``); the broker reads ``broker.p12``, a
PKCS#12 key store (Java's own format; Kafka's file-based PEM store would want an encrypted
key) with a random password kept beside it, readable by the stack's user only.
"""

from __future__ import annotations

import ipaddress
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import BaseModel

__all__ = ["TlsFiles", "issue"]

VALID_FOR = timedelta(days=365)


class TlsFiles(BaseModel):
    """What a client trusts and what the broker presents."""

    ca: Path
    broker: Path
    password_file: Path

    def password(self) -> str:
        return self.password_file.read_text().strip()


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def issue(directory: Path, *, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> TlsFiles:
    """A new CA and a broker certificate for ``hosts`` in ``directory`` (kept if there)."""
    files = TlsFiles(
        ca=directory / "ca.pem",
        broker=directory / "broker.p12",
        password_file=directory / "broker.p12.password",
    )
    if all(p.is_file() for p in (files.ca, files.broker, files.password_file)):
        return files
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC) - timedelta(minutes=5)  # a little slack for clock skew
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("ctt local stack CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALID_FOR)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALID_FOR)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    password = secrets.token_urlsafe(18)
    files.password_file.touch(mode=0o600)
    files.password_file.write_text(password)
    store = pkcs12.serialize_key_and_certificates(
        b"broker", key, leaf, [ca], serialization.BestAvailableEncryption(password.encode())
    )
    files.broker.touch(mode=0o600)
    files.broker.write_bytes(store)
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return files
