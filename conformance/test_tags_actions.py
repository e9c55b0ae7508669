"""Tag endpoints and the deactivate/reactivate actions."""

import urllib.parse

import pytest

from conformance.client import unique

DATA = b"0123456789"


def _tag(image_id, tag):
    return "/v2/images/%s/tags/%s" % (image_id, urllib.parse.quote(tag))


def _action(image_id, action):
    return "/v2/images/%s/actions/%s" % (image_id, action)


# ------------------------------------------------------------------ tags


def test_add_tag_is_204(member):
    """Glance: PUT /tags/{tag} answers 204 with an empty body and the tag
    shows in the image (Tempest test_update_delete_tags_for_image)."""
    image = member.create_image()
    resp = member.put(_tag(image["id"], "blue"))
    assert resp.status_code == 204
    assert resp.content == b""
    assert member.show(image["id"])["tags"] == ["blue"]


def test_add_tag_is_idempotent(member):
    """Glance: adding a tag twice keeps one copy (204 both times)."""
    image = member.create_image(tags=["blue"])
    assert member.put(_tag(image["id"], "blue")).status_code == 204
    assert member.show(image["id"])["tags"] == ["blue"]


def test_add_tag_keeps_others(member):
    """Glance: a tag is added to the existing set."""
    image = member.create_image(tags=["a"])
    member.put(_tag(image["id"], "b"))
    assert sorted(member.show(image["id"])["tags"]) == ["a", "b"]


def test_add_tag_ignores_content_type(member):
    """Glance: glanceclient sends Content-Type: application/octet-stream
    and Tempest application/json on this bodyless PUT; both are fine."""
    image = member.create_image()
    for ctype in ("application/octet-stream", "application/json"):
        tag = unique("t")
        resp = member.put(_tag(image["id"], tag),
                          headers={"Content-Type": ctype})
        assert resp.status_code == 204
        assert tag in member.show(image["id"])["tags"]


@pytest.mark.parametrize("tag", ["with space", "a.b-c_d:e", "x" * 255])
def test_tag_characters(member, tag):
    """Glance: tags are free strings up to 255 characters (URL-quoted in
    the path)."""
    image = member.create_image()
    assert member.put(_tag(image["id"], tag)).status_code == 204
    assert member.show(image["id"])["tags"] == [tag]
    assert member.delete(_tag(image["id"], tag)).status_code == 204


@pytest.mark.glance_deviation(
    "Glance takes the tag from the WSGI PATH_INFO without decoding it back "
    "to UTF-8, so a non-ASCII tag added through the tag endpoint is stored "
    "as mojibake ('ü' becomes 'Ã¼')")
def test_non_ascii_tag_in_path(member):
    """Correct behaviour: PUT /tags/<UTF-8, percent-encoded> stores the tag
    as sent."""
    image = member.create_image()
    assert member.put(_tag(image["id"], "ünïcode")).status_code == 204
    assert member.show(image["id"])["tags"] == ["ünïcode"]


def test_tag_over_255_is_400(member):
    """Glance: a tag longer than 255 characters is 400."""
    image = member.create_image()
    assert member.put(_tag(image["id"], "x" * 256)).status_code == 400


def test_delete_tag_is_204(member):
    """Glance: DELETE /tags/{tag} answers 204 and the tag is gone."""
    image = member.create_image(tags=["a", "b"])
    resp = member.delete(_tag(image["id"], "a"))
    assert resp.status_code == 204
    assert resp.content == b""
    assert member.show(image["id"])["tags"] == ["b"]


def test_delete_missing_tag_is_404(member):
    """Glance: deleting a tag the image lacks is 404 (Tempest
    test_delete_non_existing_tag)."""
    image = member.create_image(tags=["a"])
    assert member.delete(_tag(image["id"], "nope")).status_code == 404


def test_tag_unknown_image_is_404(member):
    """Glance: tag calls on an unknown image are 404 (Tempest
    test_update_tags_for_non_existing_image)."""
    unknown = "00000000-0000-0000-0000-000000000000"
    assert member.put(_tag(unknown, "a")).status_code == 404
    assert member.delete(_tag(unknown, "a")).status_code == 404


def test_tag_by_other_project_is_404(member, member_b):
    """Glance: another project cannot tag an image it cannot see (404)."""
    image = member.create_image()
    assert member_b.put(_tag(image["id"], "a")).status_code == 404


def test_tag_by_reader_is_403(member, reader):
    """Glance: tagging is modify_image: a reader gets 403."""
    image = member.create_image(tags=["a"])
    assert reader.put(_tag(image["id"], "b")).status_code == 403
    assert reader.delete(_tag(image["id"], "a")).status_code == 403


def test_tag_active_image(member):
    """Glance: tags can be changed whatever the status."""
    image = member.create_active(DATA)
    assert member.put(_tag(image["id"], "late")).status_code == 204
    assert member.show(image["id"])["tags"] == ["late"]


def test_get_tag_is_405(member):
    """Glance: GET on a tag path is 405 (Allow: PUT, DELETE)."""
    image = member.create_image(tags=["a"])
    resp = member.get(_tag(image["id"], "a"))
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "PUT, DELETE"


# --------------------------------------------------------------- actions


def test_deactivate_reactivate(member):
    """Glance: deactivate and reactivate answer 204 with an empty body and
    move active <-> deactivated (Tempest
    test_deactivate_reactivate_image)."""
    image = member.create_active(DATA)
    resp = member.post(_action(image["id"], "deactivate"))
    assert resp.status_code == 204 and resp.content == b""
    assert member.show(image["id"])["status"] == "deactivated"
    resp = member.post(_action(image["id"], "reactivate"))
    assert resp.status_code == 204 and resp.content == b""
    assert member.show(image["id"])["status"] == "active"
    assert member.get("/v2/images/%s/file" % image["id"]).content == DATA


def test_deactivate_twice_is_noop(member):
    """Glance: deactivating a deactivated image is 204 (no-op)."""
    image = member.create_active(DATA)
    member.post(_action(image["id"], "deactivate"))
    assert member.post(_action(image["id"], "deactivate")).status_code == 204
    assert member.show(image["id"])["status"] == "deactivated"


def test_reactivate_active_is_noop(member):
    """Glance: reactivating an active image is 204 (no-op)."""
    image = member.create_active(DATA)
    assert member.post(_action(image["id"], "reactivate")).status_code == 204
    assert member.show(image["id"])["status"] == "active"


@pytest.mark.parametrize("action", ["deactivate", "reactivate"])
def test_action_on_queued_is_403(member, action):
    """Glance: deactivate/reactivate of a queued image is 403 ('Not allowed
    to deactivate image in status 'queued'')."""
    image = member.create_image()
    assert member.post(_action(image["id"], action)).status_code == 403
    assert member.show(image["id"])["status"] == "queued"


def test_deactivated_download_forbidden_for_member(member):
    """Glance: a non-admin downloading a deactivated image gets 403 ('The
    requested image has been deactivated. Image data download is
    forbidden.')."""
    image = member.create_active(DATA)
    member.post(_action(image["id"], "deactivate"))
    assert member.get("/v2/images/%s/file" % image["id"]).status_code == 403


def test_deactivated_download_allowed_for_admin(member, admin):
    """Glance: an admin may still download a deactivated image."""
    image = member.create_active(DATA)
    member.post(_action(image["id"], "deactivate"))
    resp = admin.get("/v2/images/%s/file" % image["id"])
    assert resp.status_code == 200 and resp.content == DATA


def test_deactivated_image_listed_and_readable(member):
    """Glance: a deactivated image's record stays readable and listed."""
    tag = unique("deact")
    image = member.create_active(DATA, tags=[tag])
    member.post(_action(image["id"], "deactivate"))
    assert member.show(image["id"])["status"] == "deactivated"
    assert member.list_ids({"tag": tag}) == [image["id"]]


def test_deactivated_image_can_be_deleted(member):
    """Glance: a deactivated image can be deleted (204)."""
    image = member.create_active(DATA)
    member.post(_action(image["id"], "deactivate"))
    assert member.delete("/v2/images/%s" % image["id"]).status_code == 204


def test_reader_cannot_deactivate(member, reader):
    """Glance: deactivate needs the member role of the owner project (or
    admin): a reader gets 403."""
    image = member.create_active(DATA)
    assert reader.post(_action(image["id"], "deactivate")).status_code == 403


def test_other_project_deactivate_is_404(member, member_b):
    """Glance: another project cannot deactivate an image it cannot see
    (404)."""
    image = member.create_active(DATA)
    assert member_b.post(_action(image["id"], "deactivate")).status_code \
        == 404


def test_non_owner_deactivate_public_is_403(admin, member_b):
    """Glance: another project can see a public image but may not
    deactivate it (403)."""
    image = admin.create_active(DATA, visibility="public")
    assert member_b.post(_action(image["id"], "deactivate")).status_code \
        == 403


def test_admin_deactivates_any_image(member, admin):
    """Glance: an admin deactivates any project's image."""
    image = member.create_active(DATA)
    assert admin.post(_action(image["id"], "deactivate")).status_code == 204


def test_action_unknown_image_is_404(member):
    """Glance: actions on an unknown image are 404."""
    assert member.post(_action("00000000-0000-0000-0000-000000000000",
                               "deactivate")).status_code == 404


def test_unknown_action_is_404(member):
    """Glance: only deactivate and reactivate exist (others 404)."""
    image = member.create_active(DATA)
    assert member.post(_action(image["id"], "explode")).status_code == 404


def test_get_action_is_405(member):
    """Glance: actions are POST only (405, Allow: POST)."""
    image = member.create_active(DATA)
    resp = member.get(_action(image["id"], "deactivate"))
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "POST"
