"""A real HTTPS server on loopback serving autoconfig documents, with a certificate from the test CA.

``HttpsServer(servers, names, routes)`` issues a certificate for ``names`` signed by the harness's
throwaway CA and answers GET and POST from ``routes``: ``{(host, path): (status, headers, body)}``
(or a function of the request headers returning that), the path without its query string; anything
else is 404. A header given as None is not sent (``{"Content-Length": None}``: the body runs to the
end of the connection). ``requests`` records (host, path-with-query), ``authorizations`` the
Authorization headers received, ``bodies`` the request bodies.
``secure=False`` serves plain HTTP instead.
"""

import contextlib
import datetime
import http.server
import os
import ssl
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from loopback import SocketServerThread


def issue_certificate(servers, names, directory):
    """(cert path, key path) for ``names``, signed by the harness CA."""
    ca_dir = os.path.dirname(servers["certs"]["good"])
    with open(servers["ca_file"], "rb") as handle:
        ca_cert = x509.load_pem_x509_certificate(handle.read())
    with open(os.path.join(ca_dir, "ca.key"), "rb") as handle:
        ca_key = serialization.load_pem_private_key(handle.read(), None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            )
        )
    return cert_path, key_path


class HttpsServer(SocketServerThread):
    def __init__(self, servers, names, routes, secure=True):
        self.routes = routes
        self.requests = []
        self.authorizations = []  # (host, Authorization header) of every request that sent one
        self.bodies = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                host = (self.headers.get("Host") or "").split(":")[0].lower()
                owner.requests.append((host, self.path))
                if self.headers.get("Authorization"):
                    owner.authorizations.append((host, self.headers["Authorization"]))
                length = int(self.headers.get("Content-Length") or 0)
                owner.bodies.append(self.rfile.read(length) if length else b"")
                route = owner.routes.get((host, self.path.split("?")[0]), (404, {}, b"not here"))
                status, headers, body = route(self.headers) if callable(route) else route
                self.send_response(status)
                for name, value in headers.items():
                    if value is not None:
                        self.send_header(name, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):  # a client that stops reading a huge answer
                    self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *args):
                pass

        http_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if secure:
            self._tmp = tempfile.TemporaryDirectory()
            cert, key = issue_certificate(servers, names, self._tmp.name)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            http_server.socket = context.wrap_socket(http_server.socket, server_side=True)
        super().__init__(http_server)
