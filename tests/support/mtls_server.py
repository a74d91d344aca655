"""A real TLS server that requires a client certificate signed by the local CA, as Treezor's
API does: it proves that the key and certificate certdesk hands out actually authenticate."""

from __future__ import annotations

import http.server
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.support.testca import LocalCA


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        peer = self.connection.getpeercert()
        subject = dict(item[0] for item in peer.get("subject", ()))
        body = f"hello {subject.get('commonName', '?')}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def mtls_server(ca: LocalCA) -> Iterator[tuple[str, Path]]:
    """Serve https://localhost:<port>/ requiring a client certificate from ``ca``; yields the
    URL and the CA file clients verify the server with."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .sign(key, hashes.SHA256())
    )
    certificate = ca.sign(csr, client_auth=False, dns_names=["localhost"])
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        (base / "server.pem").write_bytes(
            certificate.public_bytes(serialization.Encoding.PEM)
            + b"".join(c.public_bytes(serialization.Encoding.PEM) for c in ca.chain())
        )
        (base / "server.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        (base / "ca.pem").write_bytes(ca.bundle_pem())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(base / "server.pem", base / "server.key")
        context.load_verify_locations(cafile=base / "ca.pem")
        context.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no handshake
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"https://localhost:{server.server_address[1]}/", base / "ca.pem"
        finally:
            server.shutdown()
            server.server_close()
