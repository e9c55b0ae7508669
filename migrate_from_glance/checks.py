"""Reading image data back whole and checking it against the image's size,
checksum (md5) and os_hash, for ``--copy-data`` and ``verify --data``."""

import hashlib

CHUNK = 1024 * 1024


def data_mismatches(reader, props):
    """What differs between the bytes of ``reader`` (closed here) and the
    image ``props``; an empty list when they match."""
    md5 = hashlib.md5(usedforsecurity=False)
    algo = props.get("os_hash_algo")
    other = hashlib.new(algo) if algo else None
    size = 0
    try:
        while True:
            chunk = reader.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            md5.update(chunk)
            if other is not None:
                other.update(chunk)
    finally:
        reader.close()
    wrong = []
    if props.get("size") is not None and size != props["size"]:
        wrong.append("%d bytes, not %d" % (size, props["size"]))
    if props.get("checksum") and md5.hexdigest() != props["checksum"]:
        wrong.append("md5 %s, not %s" % (md5.hexdigest(), props["checksum"]))
    if other is not None and props.get("os_hash_value") and \
            other.hexdigest() != props["os_hash_value"]:
        wrong.append("%s differs from os_hash_value" % algo)
    return wrong
