"""Real components for the staff tests (tests/test_staff_*.py): a database per test (a SQLite file,
or a PostgreSQL database of its own that is dropped afterwards), a real SMTP server on 127.0.0.1
(aiosmtpd, speaking STARTTLS with a certificate from a CA made here, requiring a login) that can be
stopped and started again on the same port, and a TCP server that accepts and never answers."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Iterator, List, Optional, Tuple

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.persistence.database import dispose_engines
from tests.conftest import POSTGRES_URL
from tests.persistence_fixtures import postgres_admin
from tooling.ports import free_ports

SMTP_USER = "poreguide"
SMTP_PASSWORD = "s3cret:pass@word"  # URL-encoded in SMTP_URL
STAFF_EMAIL = "reception@clinic.test"


# --------------------------------------------------------------------------- databases


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database: SQLite under tmp_path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'poreguide.db'}"
        dispose_engines()
        return
    name = f"poreguide_staff_{uuid.uuid4().hex[:10]}"
    admin = postgres_admin()  # skips locally, fails under CI=true, when PostgreSQL is absent
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        dispose_engines()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --------------------------------------------------------------------------- TLS


@dataclass(frozen=True)
class Certificates:
    ca_file: Path  # what the client trusts (SMTP_CA_FILE)
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_certificates(directory: Path) -> Certificates:
    """A CA and a server certificate for 127.0.0.1 and localhost, with the extensions that
    Python 3.13's strict verification asks for."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "PoreGuide test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = Certificates(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    paths.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths.key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("smtp_tls"))


# --------------------------------------------------------------------------- SMTP


@dataclass
class Received:
    mail_from: str
    recipients: List[str]
    message: EmailMessage
    tls: bool  # STARTTLS was used
    authenticated: bool


@dataclass
class MailServer:
    """aiosmtpd on 127.0.0.1:`port`: STARTTLS required before AUTH, AUTH required before MAIL."""

    certificates: Optional[Certificates]
    port: int = field(default_factory=lambda: free_ports(1)[0])
    received: List[Received] = field(default_factory=list)
    logins: List[Tuple[str, bool]] = field(default_factory=list)  # (user, accepted)
    _controller: Optional[Controller] = None
    _changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"smtp://{SMTP_USER}:s3cret%3Apass%40word@127.0.0.1:{self.port}"

    def environment(self) -> dict:
        env = {"SMTP_URL": self.url, "STAFF_EMAIL": STAFF_EMAIL}
        if self.certificates is not None:
            env["SMTP_CA_FILE"] = str(self.certificates.ca_file)
        return env

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == SMTP_USER
            and auth_data.password.decode() == SMTP_PASSWORD
        )
        self.logins.append((auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "?", ok))
        return AuthResult(success=ok, handled=False)  # a refusal answers 535

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._changed:
            self.received.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    message,
                    session.ssl is not None,
                    bool(session.authenticated),
                )
            )
            self._changed.notify_all()
        return "250 OK"

    def start(self) -> "MailServer":
        tls = (
            {}
            if self.certificates is None
            else {"tls_context": self.certificates.server_context(), "require_starttls": True}
        )
        self._controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="localhost",
            authenticator=self.authenticate,
            auth_required=True,
            auth_require_tls=self.certificates is not None,
            **tls,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int = 1, timeout: float = 30.0) -> List[Received]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.received) >= count, timeout)
            assert len(self.received) >= count, f"expected {count} mail(s), got {len(self.received)}"
            return list(self.received)


@pytest.fixture
def mail_server(certificates: Certificates) -> Iterator[MailServer]:
    server = MailServer(certificates).start()
    yield server
    server.stop()


# --------------------------------------------------------------------------- a server that never answers


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte (a hung mail or database server)."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self._connections: List[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._connections.append(connection)

    def close(self) -> None:
        for sock in [self._listener, *self._connections]:
            with contextlib.suppress(OSError):
                sock.close()
