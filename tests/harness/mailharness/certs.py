"""A throwaway CA and the servers' certificates: good, expired, for the wrong host, self-signed.

``cryptography`` is imported inside the functions: stopping the servers needs the standard library only.
"""

from __future__ import annotations

import datetime
import os

from .layout import HOST, HOSTNAME, WRONG_HOSTNAME, Layout

CERT_KINDS = ("ca", "good", "expired", "wronghost", "selfsigned")


def cert_paths(layout: Layout) -> dict[str, dict[str, str]]:
    d = layout.certs_dir
    paths = {"ca": {"cert": str(layout.state_dir / "ca.pem"), "key": str(d / "ca.key")}}
    for kind in CERT_KINDS[1:]:
        paths[kind] = {"cert": str(d / f"{kind}.pem"), "key": str(d / f"{kind}.key")}
    return paths


def _certs_reusable(paths: dict[str, dict[str, str]]) -> bool:
    from cryptography import x509

    try:
        now = datetime.datetime.now(datetime.timezone.utc)
        margin = datetime.timedelta(days=1)
        for kind, files in paths.items():
            if not all(os.path.exists(p) for p in files.values()):
                return False
            if kind == "expired":
                continue
            with open(files["cert"], "rb") as fh:
                cert = x509.load_pem_x509_certificate(fh.read())
            if not cert.not_valid_before_utc < now < cert.not_valid_after_utc - margin:
                return False
        return True
    except (OSError, ValueError):
        return False


def ensure_certs(layout: Layout) -> dict[str, dict[str, str]]:
    """Create (or reuse) the throwaway CA and the server certificates."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    paths = cert_paths(layout)
    if _certs_reusable(paths):
        return paths
    layout.certs_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)

    def new_key():
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def write(kind: str, cert, key) -> None:
        key_path = paths[kind]["key"]
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.TraditionalOpenSSL,
                    serialization.NoEncryption(),
                )
            )
        with open(paths[kind]["cert"], "wb") as fh:
            fh.write(cert.public_bytes(serialization.Encoding.PEM))

    def name(cn: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "email_account test harness"),
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
            ]
        )

    ca_key = new_key()
    ca_name = name("email_account harness throwaway CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - day)
        .not_valid_after(now + 3650 * day)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    write("ca", ca_cert, ca_key)

    def leaf(kind: str, cn: str, sans: list, not_before, not_after, self_signed: bool = False) -> None:
        key = new_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(name(cn) if self_signed else ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        if not self_signed:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
        cert = builder.sign(key if self_signed else ca_key, hashes.SHA256())
        write(kind, cert, key)

    localhost_sans = [x509.DNSName(HOSTNAME), x509.IPAddress(ipaddress.ip_address(HOST))]
    leaf("good", HOSTNAME, localhost_sans, now - day, now + 825 * day)
    leaf("expired", HOSTNAME, localhost_sans, now - 60 * day, now - 30 * day)
    leaf("wronghost", WRONG_HOSTNAME, [x509.DNSName(WRONG_HOSTNAME)], now - day, now + 825 * day)
    leaf("selfsigned", HOSTNAME, localhost_sans, now - day, now + 825 * day, self_signed=True)
    return paths
