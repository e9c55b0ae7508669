"""Glance's location encryption (``metadata_encryption_key``), read side.

With that option Glance stores each location URL as URL-safe base64 of a
16-byte IV followed by AES-CBC ciphertext of the UTF-8 URL, a NUL byte and
random padding (glance.common.crypt).  The migration decrypts them with the
operator's key so Glare stores plain URLs (Glare does not encrypt
locations).
"""

import base64
import binascii

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def decrypt(key, text):
    """The URL Glance encrypted as ``text`` with ``key``; ValueError when
    it cannot be (wrong key, not Glance's format)."""
    key = key.encode("utf-8")
    if len(key) not in (16, 24, 32):
        raise ValueError("the key must be 16, 24 or 32 bytes long (AES), "
                         "not %d" % len(key))
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("not base64: %s" % exc) from None
    if len(raw) < 32 or len(raw) % 16:
        raise ValueError("not AES-CBC data of Glance's form")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(raw[:16])).decryptor()
    padded = decryptor.update(raw[16:]) + decryptor.finalize()
    end = padded.rfind(b"\0")
    if end < 0:
        raise ValueError("no NUL delimiter: wrong key")
    try:
        url = padded[:end].decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the result is not text: wrong key") from None
    if "://" not in url:
        raise ValueError("the result is not a URL: wrong key")
    return url


def encrypt(key, url, iv=None):
    """Glance's encryption of ``url`` (for tests and fixtures)."""
    import os
    iv = iv or os.urandom(16)
    data = url.encode("utf-8") + b"\0"
    pad = 16 - len(data) % 16 if len(data) % 16 else 0
    data += bytes(((i % 255) + 1 for i in range(pad)))
    encryptor = Cipher(algorithms.AES(key.encode("utf-8")),
                       modes.CBC(iv)).encryptor()
    return base64.urlsafe_b64encode(
        iv + encryptor.update(data) + encryptor.finalize()).decode("ascii")
