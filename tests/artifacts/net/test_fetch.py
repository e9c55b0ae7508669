"""artifacts.net.fetch against a real HTTP server on 127.0.0.1.

Two policies: LOCAL names 127.0.0.1 explicitly (the way an operator lets
web-download reach an internal mirror), and the default policy, where the
test server is reached under a *public* name: a fake resolver says
``public.example`` is 93.184.216.34 and ``dial`` maps that checked address
to the test server, so what is tested is exactly what a real deployment
does -- connect to the address that was checked, re-check every redirect.
"""

import socket

import pytest

from artifacts.net import fetch, urls
from tests.artifacts.net.test_urls import fake_dns
from tests.web_source import web_source

DATA = bytes(range(256)) * 4096          # 1 MiB


@pytest.fixture(scope="module")
def source():
    with web_source() as server:
        server.files["disk"] = DATA
        server.files["small"] = b"small"
        yield server


@pytest.fixture
def local(source):
    return urls.Policy.build(allowed_hosts=("127.0.0.1",),
                             allowed_ports=(source.port,))


PUBLIC = "93.184.216.34"


@pytest.fixture
def public(source):
    """(policy, getaddrinfo, dial) for reaching the source as a public
    host with the default policy."""
    dns = fake_dns({"public.example": [PUBLIC], "evil.example":
                    ["169.254.169.254"], "rebind.example": [PUBLIC]})
    dialled = []

    def dial(address, port):
        dialled.append((address, port))
        assert address == PUBLIC, "connected to an address never checked"
        return "127.0.0.1", source.port
    return urls.Policy(), dns, dial, dialled


def _body(fetched):
    return b"".join(fetched.chunks(65536))


def test_fetch_streams_and_reports_the_size(source, local):
    fetched = fetch.open_url(source.url("/data/disk"), local)
    assert fetched.size == len(DATA) and fetched.address == "127.0.0.1"
    chunks = list(fetched.chunks(65536))
    assert len(chunks) > 1 and b"".join(chunks) == DATA
    assert fetched.response is None and fetched.pool is None   # closed


def test_no_length_and_relative_redirects(source, local):
    fetched = fetch.open_url(source.url("/nolength/small"), local)
    assert fetched.size is None and _body(fetched) == b"small"
    fetched = fetch.open_url(source.url("/redirect?to=/data/small"), local)
    assert fetched.url == source.url("/data/small")
    assert _body(fetched) == b"small"


def test_http_errors_and_short_bodies_fail(source, local):
    with pytest.raises(fetch.FetchFailed) as exc:
        fetch.open_url(source.url("/status/404"), local)
    assert "HTTP Error 404" in exc.value.message
    fetched = fetch.open_url(source.url("/short/small"), local)
    with pytest.raises(fetch.FetchFailed):
        _body(fetched)


def test_redirect_loops_end(source, local):
    loop = source.url("/redirect?to=/redirect%3Fto%3D/status/200")
    assert _body(fetch.open_url(loop, local, max_redirects=2)) == b""
    with pytest.raises(fetch.FetchFailed) as exc:
        fetch.open_url(loop, local, max_redirects=1)
    assert "More than 1 redirects" in exc.value.message


def test_nothing_listening(local):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    policy = urls.Policy.build(allowed_hosts=("127.0.0.1",),
                               allowed_ports=(port,))
    with pytest.raises(fetch.FetchFailed) as exc:
        fetch.open_url("http://127.0.0.1:%d/x" % port, policy)
    assert "Could not fetch" in exc.value.message
    # Refused, not "timed out" (urllib3's NewConnectionError is also a
    # ConnectTimeoutError).
    assert "connection refused or unreachable" in exc.value.message
    assert exc.value.reason == "unreachable"


def test_ranges_and_any_status(source, local):
    """What the http store asks (its HEADs are in test_http.py): a Range,
    a 404 it words itself."""
    part = fetch.open_url(source.url("/data/disk"), local,
                          headers={"Range": "bytes=10-19"})
    body = part.read(1 << 20)
    part.close()
    assert body in (DATA[10:20], DATA[:len(body)])   # a server may ignore it
    missing = fetch.open_url(source.url("/status/404"), local,
                             any_status=True)
    assert missing.status == 404
    missing.close()


def test_the_first_url_is_checked_before_any_connection(local):
    for url in ("http://127.0.0.2/x", "http://2130706433/",
                "http://[::1]/", "ftp://127.0.0.1/"):
        with pytest.raises(urls.Refused):
            fetch.open_url(url, local)


@pytest.mark.parametrize("to", [
    "http://127.0.0.1/", "http://localhost/", "http://[::1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/", "http://0177.0.0.1/", "http://2130706433/",
    "http://evil.example/", "http://１２７．０．０．１/",
    "file:///etc/passwd", "http://public.example:8080/",
])
def test_redirects_to_disallowed_urls_are_refused(source, public, to):
    """The default policy: the source is 'public.example'; a redirect to
    loopback, the metadata service, a private address or a name resolving
    to one is refused before any connection to it."""
    policy, dns, dial, dialled = public
    policy = urls.Policy.build(allowed_ports=(80, 443))
    url = "http://public.example/redirect?to=%s" % to
    with pytest.raises(fetch.FetchFailed) as exc:
        fetch.open_url(url, policy, getaddrinfo=dns, dial=dial)
    assert exc.value.message.startswith("Redirect to disallowed URL: ")
    assert dialled == [(PUBLIC, 80)]


def test_a_public_host_is_fetched_at_the_checked_address(source, public):
    policy, dns, dial, dialled = public
    fetched = fetch.open_url("http://public.example/redirect?to=/data/small",
                             policy, getaddrinfo=dns, dial=dial)
    assert _body(fetched) == b"small"
    assert dialled == [(PUBLIC, 80), (PUBLIC, 80)]
    # The Host header is the URL's host, not the address.
    assert source.requests[-1][2] == "public.example"


def test_no_dns_rebinding_window(source, public):
    """The name is resolved once per hop: a resolver that answers a public
    address first and loopback afterwards never gets the loopback one
    used."""
    _, _, dial, dialled = public
    answers = iter([[PUBLIC], ["127.0.0.1"], [PUBLIC], ["127.0.0.1"]])

    def rebinding(host, port, type=0, **_):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in next(answers)]
    fetched = fetch.open_url("http://rebind.example/data/small",
                             urls.Policy(), getaddrinfo=rebinding, dial=dial)
    assert _body(fetched) == b"small" and dialled == [(PUBLIC, 80)]
    # The next fetch resolves anew and is refused before connecting.
    with pytest.raises(urls.Refused):
        fetch.open_url("http://rebind.example/data/small", urls.Policy(),
                       getaddrinfo=rebinding, dial=dial)
    # A redirect to the same name resolves again, and is checked again.
    with pytest.raises(fetch.FetchFailed):
        fetch.open_url("http://rebind.example/redirect?to=/data/small",
                       urls.Policy(), getaddrinfo=rebinding, dial=dial)


def _certificate(tmp_path, name):
    """A self-signed certificate for ``name``: (cert path, key path)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject)
            .issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                           critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_https_checks_the_certificate_of_the_name_not_the_address(tmp_path):
    """The connection goes to the checked address, but TLS (SNI and the
    certificate check) is for the URL's host."""
    import ssl
    import threading

    from tests.web_source import WebSource
    cert, key = _certificate(tmp_path, "secure.example")
    server = WebSource()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.files["small"] = b"small"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        dns = fake_dns({"secure.example": [PUBLIC], "other.example":
                        [PUBLIC]})

        def dial(address, port):
            assert address == PUBLIC
            return "127.0.0.1", server.port
        fetched = fetch.open_url("https://secure.example/data/small",
                                 urls.Policy(), getaddrinfo=dns, dial=dial,
                                 verify=cert)
        assert _body(fetched) == b"small"
        # The same server under another name: its certificate does not
        # match, so nothing is fetched.
        with pytest.raises(fetch.FetchFailed) as exc:
            fetch.open_url("https://other.example/data/small",
                           urls.Policy(), getaddrinfo=dns, dial=dial,
                           verify=cert)
        assert "TLS failed" in exc.value.message
    finally:
        server.shutdown()
        server.server_close()
