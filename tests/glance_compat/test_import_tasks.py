"""glance_compat.import_tasks: results and messages of import tasks in
Glance's words (the fetch and import paths run in
tests/integration/test_web_download.py)."""

import pytest

from artifacts import errors
from artifacts.types.images import IMAGES
from glance_compat import import_tasks
from tests.artifacts.conftest import db_engine, enforcer  # noqa: F401
from tests.artifacts.test_data import DATA, admin, eng, image  # noqa: F401

MiB = 1024 * 1024


def test_copied_messages():
    assert import_tasks.copied(None) == "Copied 0 MiB"
    assert import_tasks.copied(5 * 1024 * 1024 + 1) == "Copied 5 MiB"


def test_import_stores():
    assert import_tasks.import_stores({"input": {"backend": [None]}}) == []
    assert import_tasks.import_stores({"input": {"backend": ["a", "b"]}}) \
        == ["a", "b"]
    assert import_tasks.import_stores({"input": None}) == []


def test_copies_done_follows_all_stores_must_succeed(eng):  # noqa: F811
    ctx = admin()
    art = image(eng, ctx)
    eng.data.upload(ctx, IMAGES, art["id"], "image", [DATA])
    work = import_tasks.ImportWork(eng, IMAGES, schemas=None)

    def task(must_succeed):
        return {"input": {"image_id": art["id"], "import_req": {
            "method": {"name": "copy-image"},
            "all_stores_must_succeed": must_succeed}}}
    assert work.copies_done(task(True), []) == (
        "success", {"image_id": art["id"]}, "Copied 3 MiB")
    assert work.copies_done(task(True), ["cold"]) == (
        "failure", None, "Copying to store(s) cold failed.")
    assert work.copies_done(task(False), ["cold"])[0] == "success"


def test_a_task_refused_by_an_image_quota_fails_with_glances_words():
    from artifacts import quotas
    error = errors.RequestTooLarge("Quota exceeded for staged_bytes")
    error.quota = quotas.Breach("staged_bytes", "images", "p1", 5 * MiB,
                                6 * MiB, 2 * MiB)

    def refused(task, beat):
        raise error
    with pytest.raises(errors.RequestTooLarge) as caught:
        import_tasks.glance_words(refused)({}, None)
    assert "Resource image_stage_total is over limit of 5 due to current " \
        "usage 6 and delta 2" in caught.value.message
    # Any other refusal keeps its words; a success passes through.
    other = errors.RequestTooLarge("Folder full")

    def full(task, beat):
        raise other
    with pytest.raises(errors.RequestTooLarge, match="Folder full"):
        import_tasks.glance_words(full)({}, None)
    assert import_tasks.glance_words(lambda t, b: ("r", "m"))({}, None) == \
        ("r", "m")
