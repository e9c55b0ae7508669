"""artifacts.net.urls: the one rule for every URL Glare accepts."""

import ipaddress
import socket

import pytest

from artifacts.net import urls

OPEN = urls.Policy()
GLANCE = urls.Policy.build(allowed_ports=(80, 443))


def fake_dns(table):
    """A getaddrinfo answering from ``table`` (name -> [addresses])."""
    def getaddrinfo(host, port, type=0, **_):
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not "
                                                     "known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET,
                 socket.SOCK_STREAM, 6, "", (a, port)) for a in table[host]]
    return getaddrinfo


# ------------------------------------------------------------- normalising

@pytest.mark.parametrize("url,normal", [
    ("HTTP://Example.COM/Path", "http://example.com/Path"),
    ("http://example.com.:8080/a?b#c", "http://example.com:8080/a?b#c"),
    ("http://example.com:0080/", "http://example.com:80/"),
    ("http://example.com:/x", "http://example.com/x"),
    ("http://example.com/ä?q=ü", "http://example.com/%C3%A4?q=%C3%BC"),
    ("http://example.com?", "http://example.com?"),
    ("http://ｅｘａｍｐｌｅ．ｃｏｍ/x", "http://example.com/x"),
    ("http://ＥＸＡＭＰＬＥ。com/", "http://example.com/"),
    ("http://xn--bcher-kva.example/", "http://xn--bcher-kva.example/"),
    ("http://[2001:4860:4860:0:0:0:0:8888]/",
     "http://[2001:4860:4860::8888]/"),
    ("http://８.８.８.８/", "http://8.8.8.8/"),
])
def test_the_url_is_normalised(url, normal):
    assert urls.check(url, OPEN).url == normal


def test_parts():
    parsed = urls.parse("https://[2001:db8::1]:8443/a/b?c=d#e")
    assert (parsed.scheme, parsed.host, parsed.port) == (
        "https", "2001:db8::1", 8443)
    assert parsed.address == ipaddress.ip_address("2001:db8::1")
    assert parsed.netloc == "[2001:db8::1]:8443"
    assert parsed.request_target == "/a/b?c=d"
    assert urls.parse("http://h").request_target == "/"
    assert urls.parse("http://h").effective_port == 80


@pytest.mark.parametrize("url,words", [
    (None, "non-empty string"), ("", "non-empty string"),
    ("x" * 3000, "longer than"), ("http://exa mple.com/", "spaces"),
    ("http://example.com/\n", "control"), ("http://a\tb/", "control"),
    ("http://127.0.0.1\\.example.com/", "backslash"),
    ("http:\\\\example.com/", "backslash"),
    ("example.com/x", "scheme"), ("//example.com/", "scheme"),
    ("http://user:pw@example.com/", "credentials"),
    ("http://example.com@127.0.0.1/", "credentials"),
    ("http://%6c%6fcalhost/", "percent-encoded"),
    ("http://[fe80::1%25eth0]/", "zone"),
    ("http://[::1/", "closing"), ("http://[::1]x/", "Only a port"),
    ("http://[nonsense]/", "IPv6 address is not valid"),
    ("http://example.com:99999/", "port"), ("http://example.com:-1/", "port"),
    ("http://example.com:8o/", "port"), ("http:///path", "name a host"),
    ("http://bücher.example/", "not ASCII"),
    ("http://a_b.example/", "not a valid host name"),
    ("http://-a.example/", "not a valid host name"),
    ("http://a..b/", "not a valid host name"),
    ("http://xn--zz.example/", "xn--"),
    ("http://exa：80/", "not a valid host name"),
    ("http://2130706433/", "dotted quad"), ("http://0177.0.0.1/", "dotted"),
    ("http://0x7f000001/", "dotted"), ("http://0x7f.1/", "dotted"),
    ("http://127.1/", "dotted"), ("http://127.000.000.001/", "dotted"),
    ("http://1.2.3.4.5/", "dotted"), ("http://example.0x10/", "dotted"),
    ("http://256.1.1.1/", "dotted"),
])
def test_malformed_or_ambiguous_urls_are_refused(url, words):
    with pytest.raises(urls.Refused) as exc:
        urls.parse(url)
    assert words in exc.value.message
    assert exc.value.status == 400


# ------------------------------------------------------------- addresses

@pytest.mark.parametrize("url,kind", [
    ("http://127.0.0.1/", "loopback"), ("http://127.8.9.10/", "loopback"),
    ("http://１２７．０．０．１/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://10.0.0.1/", "private"), ("http://172.16.0.1/", "private"),
    ("http://192.168.1.1/", "private"), ("http://100.64.0.1/", "private"),
    ("http://[fc00::1]/", "private"), ("http://192.0.2.1/", "private"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:169.254.169.254]/", "link-local"),
    ("http://[::127.0.0.1]/", "loopback"),
    ("http://[::10.0.0.1]/", "private"),
    ("http://[64:ff9b::127.0.0.1]/", "loopback"),
    ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),
    ("http://[64:ff9b:1::1]/", "private"),
    ("http://[2002:7f00:1::1]/", "loopback"),
    ("http://[2002:a00:1::]/", "private"),
    ("http://224.0.0.1/", "multicast"), ("http://239.1.2.3/", "multicast"),
    ("http://[ff02::1]/", "multicast"), ("http://0.0.0.0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://255.255.255.255/", "broadcast"),
])
def test_non_global_addresses_are_refused(url, kind):
    with pytest.raises(urls.Refused) as exc:
        urls.check(url, OPEN)
    assert kind in exc.value.message


@pytest.mark.parametrize("url", [
    "http://8.8.8.8/", "https://[2001:4860:4860::8888]/",
    "http://[64:ff9b::808:808]/", "http://1.1.1.1:8080/",
])
def test_global_addresses_pass(url):
    assert urls.check(url, OPEN)


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "a.localhost",
                                  "printer.local", "metadata.internal",
                                  "box.localdomain", "ⓛⓞⓒⓐⓛⓗⓞⓢⓣ"])
def test_local_names_are_refused(host):
    with pytest.raises(urls.Refused):
        urls.check("http://%s/x" % host, OPEN)


def test_an_explicitly_allowed_host_may_be_private_but_never_multicast():
    policy = urls.Policy.build(allowed_hosts=("127.0.0.1", "localhost",
                                              "::1", "224.0.0.1"))
    for url in ("http://127.0.0.1:8080/x", "http://localhost/x",
                "http://[::1]/x"):
        assert urls.check(url, policy)
    with pytest.raises(urls.Refused):
        urls.check("http://224.0.0.1/", policy)
    # Not listed (127.0.0.2), or listed only as a parent domain: refused.
    with pytest.raises(urls.Refused):
        urls.check("http://127.0.0.2/", policy)
    parent = urls.Policy.build(allowed_hosts=("example.com",),
                               subdomains=True)
    with pytest.raises(urls.Refused):
        urls.check("http://10.0.0.1/", parent)


# ------------------------------------------------------- operator's lists

def test_glance_lists_allowed_wins_over_disallowed():
    policy = urls.Policy.build(allowed_schemes=("https",),
                               disallowed_schemes=("https",))
    assert urls.check("https://example.com/", policy)
    with pytest.raises(urls.Refused):
        urls.check("http://example.com/", policy)
    policy = urls.Policy.build(allowed_schemes=(),
                               disallowed_schemes=("ftp",))
    assert urls.check("gopher://example.com/", policy)
    with pytest.raises(urls.Refused):
        urls.check("FTP://example.com/", policy)


def test_glance_lists_hosts_are_exact_unless_subdomains():
    exact = urls.Policy.build(allowed_hosts=("Mirror.Example.com",))
    assert urls.check("http://mirror.example.com/", exact)
    with pytest.raises(urls.Refused):
        urls.check("http://a.mirror.example.com/", exact)
    deny = urls.Policy.build(disallowed_hosts=("evil.example",),
                             subdomains=True)
    with pytest.raises(urls.Refused):
        urls.check("http://cdn.evil.example/", deny)


def test_ports_are_checked_only_when_named():
    assert urls.check("https://example.com/", GLANCE)
    assert urls.check("http://example.com:80/", GLANCE)
    with pytest.raises(urls.Refused) as exc:
        urls.check("http://example.com:8080/", GLANCE)
    assert "Port 8080" in exc.value.message
    deny = urls.Policy.build(disallowed_ports=(22,))
    with pytest.raises(urls.Refused):
        urls.check("http://example.com:22/", deny)


def test_bad_configured_hosts_fail_at_build():
    with pytest.raises(ValueError):
        urls.Policy.build(allowed_hosts=("a_b.example",))
    assert urls.Policy.build(allowed_hosts=("[::1]", "::1")).allowed_hosts \
        == ("::1", "::1")


# ----------------------------------------------------------- resolution

def test_names_resolving_to_non_global_addresses_are_refused():
    dns = fake_dns({"public.example": ["93.184.216.34"],
                    "sneaky.example": ["93.184.216.34", "127.0.0.1"],
                    "metadata.example": ["169.254.169.254"],
                    "v6.example": ["::ffff:10.0.0.1"],
                    "multi.example": ["224.0.0.5"]})
    assert urls.resolve(urls.check("http://public.example/", OPEN), OPEN,
                        dns) == [ipaddress.ip_address("93.184.216.34")]
    for host, words in (("sneaky.example", "loopback"),
                        ("metadata.example", "link-local"),
                        ("v6.example", "private"),
                        ("multi.example", "multicast"),
                        ("nowhere.example", "does not resolve")):
        with pytest.raises(urls.Refused) as exc:
            urls.check_fetchable("http://%s/" % host, OPEN, dns)
        assert words in exc.value.message


def test_an_explicitly_allowed_name_may_resolve_to_loopback():
    dns = fake_dns({"files.lan": ["10.1.2.3"]})
    policy = urls.Policy.build(allowed_hosts=("files.lan",))
    assert urls.check_fetchable("http://files.lan/x", policy, dns)


def test_disallowed_addresses_also_refuse_names_resolving_to_them():
    dns = fake_dns({"cdn.example": ["93.184.216.34"]})
    policy = urls.Policy.build(disallowed_hosts=("93.184.216.34",))
    with pytest.raises(urls.Refused):
        urls.check_fetchable("http://cdn.example/", policy, dns)


def test_literals_are_not_resolved():
    def no_dns(*_a, **_k):
        raise AssertionError("a literal address was looked up")
    assert urls.resolve(urls.check("http://8.8.8.8/", OPEN), OPEN,
                        no_dns) == [ipaddress.ip_address("8.8.8.8")]


def test_locations_check_http_urls_only():
    dns = fake_dns({"cdn.example": ["93.184.216.34"],
                    "inside.example": ["10.1.1.1"]})
    policy = urls.Policy.build(allowed_ports=(80, 443))
    assert urls.check_location("HTTP://CDN.example/a", policy, dns) == \
        "http://cdn.example/a"
    rbd = "rbd://fsid/pool/image/snap"
    assert urls.check_location(rbd, policy, dns) == rbd
    for bad in ("http://inside.example/a", "https://127.0.0.1/a",
                "http://cdn.example:8080/a", 5):
        with pytest.raises(urls.Refused):
            urls.check_location(bad, policy, dns)

