"""glance_compat.glance_download: Glance's request checks and endpoint
lookup, the copied properties, and a task whose credentials this process
does not hold (the whole method runs in
tests/integration/test_glance_download.py)."""

import pytest

from artifacts import errors
from artifacts.types.images import FAILED_IMPORT, IMAGES
from glance_compat import glance_download as gd
from glance_compat import import_tasks
from tests.artifacts.conftest import db_engine, enforcer  # noqa: F401
from tests.artifacts.test_data import admin, eng, image  # noqa: F401

REMOTE_ID = "0b9a3b8c-6a55-4b8e-9a5e-2f3c1d0e4a77"
CATALOG = [
    {"type": "compute", "endpoints": [
        {"region": "RegionTwo", "publicURL": "http://nova:8774"}]},
    {"type": "image", "endpoints": [
        {"region": "RegionOne", "publicURL": "http://g1:9292",
         "internalURL": "http://g1-int:9292"},
        {"region": "RegionTwo", "publicURL": "http://g2:9292/",
         "adminURL": "http://g2-admin:9292"}]},
]


@pytest.mark.parametrize("method,message", [
    ({"glance_image_id": REMOTE_ID},
     "'glance_region' needs to be set for glance-download import method"),
    ({"glance_region": "RegionTwo"},
     "'glance_image_id' needs to be set for glance-download import method"),
    ({"glance_region": "RegionTwo", "glance_image_id": "not-a-uuid"},
     "Remote image id does not look like a UUID: not-a-uuid"),
    ({"glance_region": "RegionTwo", "glance_image_id": 7},
     "Remote image id does not look like a UUID: 7"),
    ({"glance_region": ["RegionTwo"], "glance_image_id": REMOTE_ID},
     "'glance_region' must be a string."),
])
def test_check_request_refuses_with_glances_words(method, message):
    with pytest.raises(errors.Invalid) as exc:
        gd.check_request(dict(method, name="glance-download"))
    assert exc.value.message == message


def test_check_request_defaults_the_interface_to_public():
    method = {"name": "glance-download", "glance_region": "RegionTwo",
              "glance_image_id": REMOTE_ID}
    gd.check_request(method)
    assert method["glance_service_interface"] == "public"
    method["glance_service_interface"] = "internal"
    gd.check_request(method)
    assert method["glance_service_interface"] == "internal"


def test_find_endpoint_by_region_and_interface():
    assert gd.find_endpoint(CATALOG, "RegionTwo", "public") == \
        "http://g2:9292"
    assert gd.find_endpoint(CATALOG, "regionone", "internal") == \
        "http://g1-int:9292"
    assert gd.find_endpoint(CATALOG, "REGIONTWO", "admin") == \
        "http://g2-admin:9292"


@pytest.mark.parametrize("catalog,region,interface", [
    (CATALOG, "RegionThree", "public"),
    (CATALOG, "RegionTwo", "internal"),     # that region lacks it
    ([CATALOG[0]], "RegionTwo", "public"),  # no image service
    (None, "RegionTwo", "public"),          # embedded mode: no catalog
    (["junk", {"type": "image", "endpoints": ["junk"]}], "RegionTwo",
     "public"),
    # Endpoints that are not a list of objects: none found, no TypeError.
    ([{"type": "image", "endpoints": 5}], "RegionTwo", "public"),
    ([{"type": "image", "endpoints": True}], "RegionTwo", "public"),
    ([{"type": "image", "endpoints": {"region": "RegionTwo",
                                      "publicURL": "http://g2:9292"}}],
     "RegionTwo", "public"),
    ([{"type": "image", "endpoints": [{"region": None, "publicURL": 7}]}],
     "RegionTwo", "public"),
])
def test_find_endpoint_not_found_in_glances_words(catalog, region,
                                                  interface):
    with pytest.raises(errors.NotFound) as exc:
        gd.find_endpoint(catalog, region, interface)
    assert exc.value.message == "%s glance endpoint not found for " \
        "region %s" % (interface, region)


def test_parse_catalog():
    assert gd.parse_catalog('[{"type": "image"}]') == [{"type": "image"}]
    for header in (None, "", "nope", '{"type": "image"}', "3", "[1,",
                   '"[]"', "null",
                   # Deeper than the decoder's recursion limit: no
                   # RecursionError (a 500 for any request carrying it).
                   "[" * 100000, "[" * 5000 + "]" * 5000,
                   # What the request-body reader refuses is no catalog.
                   '[{"type": "image\\u0000"}]', "[%d]" % 2 ** 64):
        assert gd.parse_catalog(header) is None, header[:20]


class _Fetched:
    """What ``fetch.open_url`` gives: the body in blocks."""

    def __init__(self, body):
        self.body = body

    def chunks(self):
        yield self.body

    def close(self):
        pass


@pytest.mark.parametrize("body", [
    b"[" * 5000 + b"]" * 5000, b'{"name": "x\\u0000"}',
    b'{"size": %d}' % 2 ** 64, b"[]", b"not json"])
def test_a_remote_record_the_json_reader_refuses_fails_the_fetch(
        monkeypatch, body):
    """The remote Glance's image record is read like a request body
    (depth, NUL, integer range): refused, the task fails with a message
    naming the URL, never an internal error or a stored NUL."""
    monkeypatch.setattr(gd.fetch, "open_url",
                        lambda url, policy, headers: _Fetched(body))
    download = gd.Download(type("E", (), {"import_policy": None})(), IMAGES,
                           None, (), None)
    with pytest.raises(gd.fetch.FetchFailed, match="not a JSON object"):
        download._remote_image("http://remote", "i", {})


# What X-Service-Catalog headers end in, through the task that uses them.
BAD_CATALOGS = [
    "{not json",
    '{"type": "image", "endpoints": []}',       # an object, not a list
    "[" * 5000 + "]" * 5000,                      # nested past the limit
    '[{"type": "image", "endpoints": 5}]',
    '[{"type": "image", "endpoints": [{"region": "RegionOne", '
    '"publicURL": "http://g1:9292"}]}]',        # not for this region
    '[{"type": "compute", "endpoints": [{"region": "R2", '
    '"publicURL": "http://nova:8774"}]}]',      # no image service
]


def _import_task(eng, ctx, art, claim=False):
    """The api_image_import task of a glance-download import of REMOTE_ID
    from region R2 into ``art``, as POST /import records it."""
    body = {"method": {"name": "glance-download", "glance_region": "R2",
                       "glance_image_id": REMOTE_ID,
                       "glance_service_interface": "public"}}
    return eng.tasks.create(ctx, import_tasks.API_IMAGE_IMPORT,
                            {"image_id": art["id"], "import_req": body,
                             "backend": [None]},
                            atype=IMAGES, artifact_id=art["id"],
                            handler=import_tasks.API_IMAGE_IMPORT,
                            claim=claim)


@pytest.mark.parametrize("header", BAD_CATALOGS)
def test_a_bad_service_catalog_fails_the_task_in_glances_words(
        eng, header):  # noqa: F811
    """The task the import starts (claimed by this process, run by the
    handover's thread with the caller's parsed header) fails with
    Glance's endpoint-not-found words, never an internal error; the
    image is queued again with os_glance_failed_import."""
    ctx = admin()
    art = image(eng, ctx)
    work = import_tasks.register(eng, IMAGES, schemas=None)
    task = _import_task(eng, ctx, art, claim=True)
    work.handover.start(task, "tok", gd.parse_catalog(header)).join(30)
    done = eng.tasks.get(ctx, task["id"])
    assert (done["status"], done["message"]) == (
        "failure", "public glance endpoint not found for region R2")
    after = eng.get(ctx, IMAGES, art["id"])
    assert after["status"] == "queued"
    assert after["properties"].get(FAILED_IMPORT) == ""
    # The credentials are gone with the task.
    assert work.handover.take(task["id"]) is None


def test_copied_properties_follow_the_prefixes_never_os_glance():
    remote = {"hw_disk_bus": "scsi", "os_distro": "ubuntu",
              "trait:CUSTOM_X": "required", "os_glance_import_task": "t",
              "os_hash_value": "abc", "owner": "someone", "size": 3,
              "custom": "x"}
    assert gd.copied_properties(remote, gd.DEFAULT_EXTRA_PROPERTIES) == {
        "hw_disk_bus": "scsi", "os_distro": "ubuntu",
        "trait:CUSTOM_X": "required"}
    assert gd.copied_properties(remote, ("os_",)) == {
        "os_distro": "ubuntu", "os_hash_value": "abc"}


def test_a_task_without_its_credentials_fails_and_queues_the_image(
        eng):  # noqa: F811
    """What a runner of another process (or after a restart) does with a
    glance-download task: fail it cleanly, the image queued again with
    os_glance_failed_import, nothing left importing."""
    ctx = admin()
    art = image(eng, ctx)
    import_tasks.register(eng, IMAGES, schemas=None)
    task = _import_task(eng, ctx, art)
    assert eng.tasks.run_one()
    done = eng.tasks.get(ctx, task["id"])
    assert (done["status"], done["message"]) == ("failure",
                                                gd.NO_CREDENTIALS)
    after = eng.get(ctx, IMAGES, art["id"])
    assert after["status"] == "queued"
    assert after["properties"].get(FAILED_IMPORT) == ""
    assert not after["properties"].get("os_glance_import_task")


class _Record(gd.Download):
    """A Download whose remote record is given (the HTTP read runs in the
    integration test)."""

    remote = None

    def _remote_image(self, endpoint, remote_id, headers):
        self.asked = (endpoint, remote_id, headers)
        return self.remote


def test_a_failed_download_puts_the_formats_and_properties_back(
        eng):  # noqa: F811
    ctx = admin()
    art = image(eng, ctx)
    eng.update(ctx, IMAGES, art["id"],
               lambda a: a["properties"].update(os_distro="mine"))
    handover = gd.Handover(eng.tasks)
    handover._held["t1"] = ("tok", CATALOG)
    staged = []

    def stage_from(image_id, url, task, beat, method, headers, expected):
        during = eng.get(ctx, IMAGES, image_id)["properties"]
        staged.append((url, method, headers, expected, during["disk_format"],
                       during["os_distro"], during["hw_rng_model"]))
        raise errors.Invalid("the data went wrong")
    work = _Record(eng, IMAGES, handover, gd.DEFAULT_EXTRA_PROPERTIES,
                   stage_from)
    work.remote = {"status": "active", "size": 3, "disk_format": "qcow2",
                   "container_format": "ovf", "os_distro": "remote",
                   "hw_rng_model": "virtio", "owner": "other"}
    method = {"glance_region": "RegionTwo", "glance_image_id": REMOTE_ID}
    with pytest.raises(errors.Invalid):
        work.stage(art["id"], method, {"id": "t1"}, lambda total=0: None)
    assert work.asked == ("http://g2:9292", REMOTE_ID,
                          {"X-Auth-Token": "tok"})
    assert staged == [("http://g2:9292/v2/images/%s/file" % REMOTE_ID,
                       "glance-download", {"X-Auth-Token": "tok"}, 3,
                       "qcow2", "remote", "virtio")]
    props = eng.get(ctx, IMAGES, art["id"])["properties"]
    assert (props["disk_format"], props["container_format"],
            props["os_distro"]) == ("raw", "bare", "mine")
    assert "hw_rng_model" not in props and "owner" not in props


def test_sized_passes_exactly_the_expected_bytes():
    assert list(import_tasks._sized(iter([b"ab", b"c"]), 3, "t")) == [
        b"ab", b"c"]
    for blocks, expected in (([b"ab"], 3), ([b"ab", b"cd"], 3)):
        with pytest.raises(errors.Invalid) as exc:
            list(import_tasks._sized(iter(blocks), expected, "t"))
        assert exc.value.message.startswith(
            "Task t failed because downloaded data size ")
        assert exc.value.message.endswith(
            " is different from expected %d" % expected)
