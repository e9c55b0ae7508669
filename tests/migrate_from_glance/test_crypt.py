"""migrate_from_glance.crypt: Glance's metadata_encryption_key format
(the test_hostile fixture encrypts with Glance's own code when its venv is
there)."""

import pytest

from migrate_from_glance import crypt

KEY = "0123456789abcdef"


@pytest.mark.parametrize("url", ["file:///var/lib/glance/images/x",
                                 "swift+https://u:p@h/v1/c/" + "o" * 40,
                                 "rbd://f/p/ünï/snap", "http://a/" + "b" * 6])
def test_round_trip(url):
    for key in (KEY, KEY * 2, KEY + "01234567"):
        assert crypt.decrypt(key, crypt.encrypt(key, url)) == url


def test_wrong_key_is_an_error_not_garbage():
    text = crypt.encrypt(KEY, "file:///var/lib/glance/images/x")
    with pytest.raises(ValueError):
        crypt.decrypt("fedcba9876543210", text)


@pytest.mark.parametrize("text, words", [
    ("not base64 at all!", "base64"),
    ("QUJD", "AES-CBC"),
])
def test_not_glance_ciphertext(text, words):
    with pytest.raises(ValueError, match=words):
        crypt.decrypt(KEY, text)


def test_key_length_checked():
    with pytest.raises(ValueError, match="16, 24 or 32"):
        crypt.decrypt("short", crypt.encrypt(KEY, "file:///x"))
