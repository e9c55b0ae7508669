"""Drive Nova's image layer (``nova.image.glance.API``) against an Image
API endpoint and print what Nova saw, as JSON.

Runs INSIDE Nova's venv (``make nova-venv``, ``.cache/nova-venv``), never
in Glare's: it imports the real ``nova`` package, configures its
``[glance]`` group the way a compute node without a service catalog does
(``endpoint_override`` = the endpoint) and calls the API with a
``nova.context.RequestContext`` carrying a token, exactly as the compute
manager does when it boots from or snapshots to an image::

    .cache/nova-venv/bin/python tests/integration/nova_image_probe.py \\
        '{"url": "http://127.0.0.1:9292", "token": "x",
          "image_id": "...", "download_to": "/tmp/img",
          "list_filters": {"name": "..."}, "copy_to_store": "archive"}'

Output (stdout, one JSON object): ``show`` (``API.get`` without
locations), ``show_with_locations`` (``include_locations=True``: Nova's
``locations`` list, with ``direct_url`` appended as Nova does), ``listed``
(ids from ``API.get_all``), ``download`` (``API.download`` to a file: size
and sha256 of what was written), ``copy`` (``API.copy_image_to_store``:
"ok" or Nova's exception class and message), ``missing`` (Nova's exception
for an unknown image id).  Nova's own logging goes to stderr.

For comparing endpoints image by image (the migration's end-to-end test),
without ``image_id``: ``runs``, a list of {``url``, ``headers`` (added to
every request Nova's glanceclient sends, e.g. the trusted identity
headers a Glance without Keystone reads)}, each answered in ``runs``
with ``endpoint`` (the one Nova resolved), ``shows`` (id -> ``API.get(include_locations=True)`` or Nova's
exception, for each of ``show_ids``), ``list`` (``API.get_all`` in full)
and ``downloads`` (id -> sha256 of ``API.download``, for each of
``download_ids``, through files in ``download_dir``).  One process for
all: importing Nova takes seconds.
"""

import datetime
import hashlib
import json
import os
import sys
import uuid


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def _configure(url):
    import nova.conf
    from nova import config  # noqa: F401 - registers nova's options
    conf = nova.conf.CONF
    conf([], project="nova", default_config_files=[])
    # What a compute node without a service catalog sets: the endpoint
    # itself, and no retries (an error must show, not be retried away).
    conf.set_override("endpoint_override", url, group="glance")
    conf.set_override("num_retries", 0, group="glance")
    return conf


def _error(exc):
    return {"error": type(exc).__name__, "message": str(exc)}


def probe(args):
    _configure(args.get("url") or args["runs"][0]["url"])
    from nova import context as nova_context
    from nova.image import glance

    ctx = nova_context.RequestContext(
        user_id=args.get("user_id", "nova-probe"),
        project_id=args.get("project_id", "nova-probe"),
        auth_token=args.get("token", "x"),
        roles=args.get("roles", ["admin", "member", "reader"]),
        is_admin=True)
    out = {"nova_version": _nova_version()}
    if "image_id" not in args:
        return _jsonable(_compare(glance, ctx, args, out))
    api = glance.API()
    image_id = args["image_id"]
    out["show"] = api.get(ctx, image_id)
    out["show_with_locations"] = api.get(ctx, image_id,
                                         include_locations=True)
    out["listed"] = [i["id"] for i in api.get_all(
        ctx, filters=args.get("list_filters") or {})]
    if args.get("download_to"):
        path = args["download_to"]
        api.download(ctx, image_id, dest_path=path)
        with open(path, "rb") as f:
            digest = hashlib.sha256()
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        out["download"] = {"size": os.path.getsize(path),
                           "sha256": digest.hexdigest()}
    if args.get("copy_to_store"):
        try:
            api.copy_image_to_store(ctx, image_id, args["copy_to_store"])
            out["copy"] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported to the test
            out["copy"] = _error(exc)
    try:
        api.get(ctx, str(uuid.uuid4()))
        out["missing"] = "found"
    except Exception as exc:  # noqa: BLE001 - reported to the test
        out["missing"] = _error(exc)
    return _jsonable(out)


_HEADERS = {}


def _add_headers():
    """Every request of keystoneauth's session (glanceclient's transport
    in Nova) carries ``_HEADERS`` too."""
    from keystoneauth1 import session
    request = session.Session.request

    def with_headers(self, url, method, **kwargs):
        kwargs["headers"] = dict(kwargs.get("headers") or {}, **_HEADERS)
        return request(self, url, method, **kwargs)
    session.Session.request = with_headers


def _sha256_of_download(api, ctx, image_id, path):
    api.download(ctx, image_id, dest_path=path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    os.unlink(path)
    return digest.hexdigest()


def _compare(glance, ctx, args, out):
    import nova.conf
    _add_headers()
    out["runs"] = []
    for run in args["runs"]:
        nova.conf.CONF.set_override("endpoint_override", run["url"],
                                    group="glance")
        _HEADERS.clear()
        _HEADERS.update(run.get("headers") or {})
        api = glance.API()
        seen = {"shows": {}, "downloads": {}, "list": api.get_all(ctx),
                "endpoint": next(glance.get_api_servers(ctx))}
        for image_id in args.get("show_ids", ()):
            try:
                seen["shows"][image_id] = api.get(ctx, image_id,
                                                  include_locations=True)
            except Exception as exc:  # noqa: BLE001 - reported to the test
                seen["shows"][image_id] = _error(exc)
        for image_id in args.get("download_ids", ()):
            try:
                seen["downloads"][image_id] = _sha256_of_download(
                    api, ctx, image_id, os.path.join(args["download_dir"],
                                                     image_id))
            except Exception as exc:  # noqa: BLE001 - reported to the test
                seen["downloads"][image_id] = _error(exc)
        out["runs"].append(seen)
    return out


def _nova_version():
    from importlib import metadata
    return metadata.version("nova")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    result = probe(json.loads(argv[0]))
    json.dump(result, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
