"""staged_bytes and uploading_count (artifacts/quota_usage.py) and limits
kept outside Glare (``Quotas.external``), through the engine on each
database of the suite (the fixtures of test_quotas.py)."""

import pytest

from artifacts import errors, quota_admin
from tests.artifacts.test_quotas import (IMAGES, MiB, admin,  # noqa: F401
                                         blocks, build, env, eng, member,
                                         project, reservation_count, used)


def set_images(eng, project_id, **values):
    return quota_admin.set_quotas(eng, admin(), [
        {"project_id": project_id, "type_name": "images", "name": name,
         "value": value} for name, value in values.items()])


def new_image(eng, ctx):
    return eng.create(ctx, IMAGES, {"name": "img", "properties": {
        "disk_format": "raw", "container_format": "bare"}})["id"]


def status(eng, ctx, image_id):
    return eng.get(ctx, IMAGES, image_id)["status"]


def test_staged_data_counts_as_staged_until_its_import(eng):
    p = project()
    ctx = member(p)
    image = new_image(eng, ctx)
    eng.data.upload(ctx, IMAGES, image, "staging", blocks(1))
    assert used(eng, p, "staged_bytes", "images") == MiB
    assert used(eng, p, "stored_bytes", "images") == 0
    assert used(eng, p, "uploading_count", "images") == 1   # uploading
    eng.data.import_staged(ctx, IMAGES, image)
    assert status(eng, ctx, image) == "active"
    assert used(eng, p, "staged_bytes", "images") == 0
    assert used(eng, p, "stored_bytes", "images") == MiB
    assert used(eng, p, "uploading_count", "images") == 0


def test_import_that_would_pass_stored_bytes_is_refused_and_kept(eng):
    p = project()
    ctx = member(p)
    set_images(eng, p, stored_bytes=MiB)
    first = new_image(eng, ctx)
    eng.data.upload(ctx, IMAGES, first, "image", blocks(1))
    staged = new_image(eng, ctx)
    eng.data.upload(ctx, IMAGES, staged, "staging", blocks(1))
    with pytest.raises(errors.RequestTooLarge, match="stored_bytes"):
        eng.data.import_staged(ctx, IMAGES, staged)
    # Nothing changed: the staged data waits for another try.
    assert status(eng, ctx, staged) == "uploading"
    assert used(eng, p, "staged_bytes", "images") == MiB
    assert used(eng, p, "stored_bytes", "images") == MiB
    assert reservation_count(eng, p) == 0
    eng.delete(ctx, IMAGES, first)
    eng.data.import_staged(ctx, IMAGES, staged)
    assert status(eng, ctx, staged) == "active"


def test_import_refused_while_the_project_is_over(eng):
    p = project()
    ctx = member(p)
    first = new_image(eng, ctx)
    eng.data.upload(ctx, IMAGES, first, "image", blocks(2))
    staged = new_image(eng, ctx)
    eng.data.upload(ctx, IMAGES, staged, "staging", blocks(1))
    set_images(eng, p, stored_bytes=MiB)     # lowered below what is used
    with pytest.raises(errors.RequestTooLarge) as caught:
        eng.data.import_staged(ctx, IMAGES, staged)
    assert caught.value.quota.name == "stored_bytes"
    assert caught.value.quota.used == 2 * MiB
    assert status(eng, ctx, staged) == "uploading"


def test_uploading_count_refuses_one_more_upload_in_progress(eng):
    p = project()
    ctx = member(p)
    set_images(eng, p, uploading_count=1)
    waiting = new_image(eng, ctx)
    eng.data.upload(ctx, IMAGES, waiting, "staging", blocks(1))
    other = new_image(eng, ctx)
    for field in ("staging", "image"):
        with pytest.raises(errors.RequestTooLarge) as caught:
            eng.data.upload(ctx, IMAGES, other, field, blocks(1))
        assert caught.value.quota[:2] == ("uploading_count", "images")
        assert (caught.value.quota.used, caught.value.quota.requested) == \
            (2, 0)                           # Glance's figures
        assert status(eng, ctx, other) == "queued"
    assert used(eng, p, "uploading_count", "images") == 1
    eng.data.import_staged(ctx, IMAGES, waiting)    # counts itself only
    eng.data.upload(ctx, IMAGES, other, "image", blocks(1))
    assert status(eng, ctx, other) == "active"
    assert used(eng, p, "uploading_count", "images") == 0


def test_staged_bytes_count_other_stagings_not_uploads(build):
    eng = build(min_step=MiB)
    p = project()
    ctx = member(p)
    set_images(eng, p, staged_bytes=2 * MiB)
    first = new_image(eng, ctx)
    eng.data.upload(ctx, IMAGES, first, "staging", blocks(2))
    # An upload is not staging: the staging quota does not meter it.
    plain = new_image(eng, ctx)
    eng.data.upload(ctx, IMAGES, plain, "image", blocks(3))
    second = new_image(eng, ctx)
    with pytest.raises(errors.RequestTooLarge, match="staged_bytes"):
        eng.data.upload(ctx, IMAGES, second, "staging", blocks(1))
    assert used(eng, p, "staged_bytes", "images") == 2 * MiB


class External:
    """Limits an outside service keeps (as KeystoneLimits does)."""

    source = "keystone"
    where = "the test's Keystone"

    def __init__(self, values):
        self.values = values
        self.managed = set(values)

    def limits(self, project_id):
        return dict(self.values)


def test_external_limits_replace_glares_own_and_cannot_be_set(eng):
    p = project()
    ctx = member(p)
    set_images(eng, p, artifact_count=10)
    eng.quotas.external = External({("images", "artifact_count"): 1})
    new_image(eng, ctx)
    with pytest.raises(errors.RequestTooLarge, match="artifact_count"):
        new_image(eng, ctx)
    shown = {(q["type_name"], q["name"]): (q["value"], q["source"])
             for q in quota_admin.get_quotas(eng, admin(), p)["quotas"]}
    assert shown[("images", "artifact_count")] == (1, "keystone")
    with pytest.raises(errors.Invalid, match="the test's Keystone"):
        set_images(eng, p, artifact_count=5)
    # Scopes it does not manage are still Glare's.
    set_images(eng, p, stored_bytes=5)
    assert shown[("images", "stored_bytes")][1] == "none"


def test_a_copy_in_progress_counts_as_uploading(eng):
    p = project()
    ctx = member(p)
    image = new_image(eng, ctx)
    eng.data.upload(ctx, IMAGES, image, "image", blocks(1))
    set_images(eng, p, uploading_count=0)
    with pytest.raises(errors.RequestTooLarge, match="uploading_count"):
        eng.jobs.submit_copies(IMAGES, image, "image", ["fs"])
    set_images(eng, p, uploading_count=1)
    batch = eng.jobs.submit_copies(IMAGES, image, "image", ["fs"])
    assert batch
    assert used(eng, p, "uploading_count", "images") == 1
