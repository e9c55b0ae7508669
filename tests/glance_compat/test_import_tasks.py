"""glance_compat.import_tasks: results and messages of import tasks in
Glance's words (the fetch and import paths run in
tests/integration/test_web_download.py)."""

from artifacts.types.images import IMAGES
from glance_compat import import_tasks
from tests.artifacts.conftest import db_engine, enforcer  # noqa: F401
from tests.artifacts.test_data import DATA, admin, eng, image  # noqa: F401


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
