"""python-glanceclient (library) against a real Glare, unchanged.

glanceclient validates bodies with the served schemas (warlock), streams
uploads chunked, verifies downloads against ``os_hash_value`` and follows
``next`` links; every test here goes through those code paths.
"""

import hashlib
import io
import os

import glanceclient
import pytest
import requests
from glanceclient import exc

from tests.integration.helpers import project_headers, unique

pytestmark = pytest.mark.integration


def admin_client(server):
    return glanceclient.Client("2", endpoint=server.url, token="x")


def project_client(server, project):
    """A client acting as ``project`` (roles member,reader, not admin).

    glanceclient's own ``identity_headers`` are %-quoted on the way out
    (``member,reader`` becomes ``member%2Creader``), so the trusted headers
    go on the underlying requests session instead.
    """
    client = glanceclient.Client("2", endpoint=server.url, token="x")
    client.http_client.session.headers.update(project_headers(project))
    return client


@pytest.fixture
def gc(server):
    return admin_client(server)


def test_create_with_properties_and_tags(gc):
    name = unique()
    image = gc.images.create(name=name, disk_format="raw",
                             container_format="bare", tags=["a", "b"],
                             os_distro="ubuntu", hw_disk_bus="virtio",
                             min_ram=512)
    assert image.status == "queued"
    assert image.name == name
    assert image.visibility == "shared"
    assert image.os_distro == "ubuntu"
    assert image.hw_disk_bus == "virtio"
    assert image.min_ram == 512
    assert sorted(image.tags) == ["a", "b"]
    # The model is the raw schema glanceclient/Nova read.
    assert image.schema["name"] == "image"
    # request ids are exposed on every returned object.
    assert image.request_ids and image.request_ids[0].startswith("req-")

    fetched = gc.images.get(image.id)
    assert fetched.id == image.id
    assert fetched.os_distro == "ubuntu"
    assert sorted(fetched.tags) == ["a", "b"]
    assert "self" not in fetched


def test_upload_chunked_and_download_verified(gc):
    image = gc.images.create(name=unique(), disk_format="raw",
                             container_format="bare")
    data = os.urandom(3 * 1024 * 1024 + 123)  # several 1 MiB chunks
    # A file object: glanceclient sends it chunked, without Content-Length.
    gc.images.upload(image.id, io.BytesIO(data))

    record = gc.images.get(image.id)
    assert record.status == "active"
    assert record.size == len(data)
    assert record.checksum == hashlib.md5(data).hexdigest()
    assert record.os_hash_algo == "sha512"
    assert record.os_hash_value == hashlib.sha512(data).hexdigest()

    # images.data() GETs the record first and checks os_hash_value after the
    # last chunk; a mismatch would raise IOError while iterating.
    body = gc.images.data(image.id)
    downloaded = b"".join(body)
    assert downloaded == data
    assert len(body) == len(data)


def test_download_of_image_without_data(gc):
    image = gc.images.create(name=unique(), disk_format="raw",
                             container_format="bare")
    body = gc.images.data(image.id)
    # 204: glanceclient returns None (inside its request-id proxy), not an
    # error and not an empty stream.
    assert body.__wrapped__ is None
    assert body.request_ids[0].startswith("req-")


def test_list_filters_and_paging(gc):
    batch = unique("batch")
    names = ["%s-%02d" % (batch, i) for i in range(7)]
    created = {}
    # Created in an order that differs from name order.
    for name in reversed(names):
        created[name] = gc.images.create(name=name, disk_format="raw",
                                         container_format="bare",
                                         batch=batch).id
    other = gc.images.create(name=batch + "-other", disk_format="raw",
                             container_format="bare", batch="not-" + batch)

    # page_size=2 forces 4 pages, reached by following `next` links.
    listed = list(gc.images.list(filters={"batch": batch}, page_size=2,
                                 sort_key="name", sort_dir="asc"))
    assert [i.name for i in listed] == names
    assert len({i.id for i in listed}) == 7
    assert [i.id for i in listed] == [created[n] for n in names]
    assert other.id not in {i.id for i in listed}

    desc = list(gc.images.list(filters={"batch": batch}, page_size=3,
                               sort_key="name", sort_dir="desc"))
    assert [i.name for i in desc] == names[::-1]

    # New sort syntax, client-side limit across pages.
    limited = list(gc.images.list(filters={"batch": batch}, page_size=2,
                                  limit=5, sort="name:asc"))
    assert [i.name for i in limited] == names[:5]

    # A name filter and a tag filter.
    by_name = list(gc.images.list(filters={"name": names[3]}))
    assert [i.id for i in by_name] == [created[names[3]]]
    gc.image_tags.update(created[names[1]], batch)
    tagged = list(gc.images.list(filters={"tag": [batch]}))
    assert [i.id for i in tagged] == [created[names[1]]]


@pytest.mark.parametrize("sort", [
    {"sort_key": "name", "sort_dir": "asc"},
    {"sort_key": "size", "sort_dir": "asc"},
    {"sort_key": "size", "sort_dir": "desc"},
    {"sort": "status:desc,name:asc"},
    {},  # created_at desc, then id
])
def test_paging_with_ties_and_nulls(gc, sort):
    """Markers must work when the sort key ties (same name, same second)
    and when it is NULL (size of queued images): every image comes back
    exactly once, whatever the page size."""
    batch = unique("ties")
    ids = set()
    for i in range(6):
        image = gc.images.create(name=batch, disk_format="raw",
                                 container_format="bare", batch=batch)
        if i % 2:
            gc.images.upload(image.id, io.BytesIO(b"d" * i))
        ids.add(image.id)
    for page_size in (1, 2, 3, 6, 7):
        listed = [i.id for i in gc.images.list(
            filters={"batch": batch}, page_size=page_size, **sort)]
        assert sorted(listed) == sorted(ids), (page_size, sort)
        whole = [i.id for i in gc.images.list(filters={"batch": batch},
                                              page_size=100, **sort)]
        assert listed == whole, (page_size, sort)


def test_update_properties(gc):
    image = gc.images.create(name=unique(), disk_format="raw",
                             container_format="bare", keep="1",
                             drop_me="x", change_me="old")
    updated = gc.images.update(image.id, remove_props=["drop_me"],
                               change_me="new", added="yes",
                               name="renamed", min_disk=3)
    assert updated.change_me == "new"
    assert updated.added == "yes"
    assert updated.keep == "1"
    assert updated.name == "renamed"
    assert updated.min_disk == 3
    assert "drop_me" not in updated

    again = gc.images.get(image.id)
    assert "drop_me" not in again
    assert again.change_me == "new"
    assert again.added == "yes"

    # glanceclient drops removals of absent properties and sends an empty
    # patch, which must leave the image as it is.
    same = gc.images.update(image.id, remove_props=["never-set"])
    assert same.added == "yes"
    assert same.name == "renamed"
    assert same.updated_at == again.updated_at  # nothing was written


def test_tags_update_and_delete(gc):
    image = gc.images.create(name=unique(), disk_format="raw",
                             container_format="bare", tags=["keep"])
    gc.image_tags.update(image.id, "new-tag")
    gc.image_tags.update(image.id, "new-tag")  # idempotent
    assert sorted(gc.images.get(image.id).tags) == ["keep", "new-tag"]
    gc.image_tags.delete(image.id, "keep")
    assert gc.images.get(image.id).tags == ["new-tag"]
    with pytest.raises(exc.HTTPNotFound):
        gc.image_tags.delete(image.id, "keep")


def test_deactivate_reactivate(server, gc):
    project = unique("proj")
    owner = project_client(server, project)
    image = owner.images.create(name=unique(), disk_format="raw",
                                container_format="bare")
    data = b"deactivate me " * 100
    owner.images.upload(image.id, io.BytesIO(data))

    owner.images.deactivate(image.id)
    assert owner.images.get(image.id).status == "deactivated"
    owner.images.deactivate(image.id)  # no-op when already deactivated
    # The owner (non-admin) may not download a deactivated image ...
    with pytest.raises(exc.HTTPForbidden):
        b"".join(owner.images.data(image.id))
    resp = requests.get(server.url + "/v2/images/%s/file" % image.id,
                        headers=project_headers(project), timeout=30)
    assert resp.status_code == 403
    assert "deactivated" in resp.text
    # ... but an admin may.
    assert b"".join(admin_client(server).images.data(image.id)) == data

    owner.images.reactivate(image.id)
    assert owner.images.get(image.id).status == "active"
    assert b"".join(owner.images.data(image.id)) == data


def test_deactivate_queued_image_is_forbidden(gc):
    image = gc.images.create(name=unique(), disk_format="raw",
                             container_format="bare")
    with pytest.raises(exc.HTTPForbidden):
        gc.images.deactivate(image.id)


def test_members_between_projects(server):
    owner_project, member_project = unique("owner"), unique("member")
    owner = project_client(server, owner_project)
    member = project_client(server, member_project)
    stranger = project_client(server, unique("stranger"))
    image = owner.images.create(name=unique(), disk_format="raw",
                                container_format="bare")
    data = b"shared bytes"
    owner.images.upload(image.id, io.BytesIO(data))
    assert image.visibility == "shared"

    with pytest.raises(exc.HTTPNotFound):
        member.images.get(image.id)

    created = owner.image_members.create(image.id, member_project)
    assert created.member_id == member_project
    assert created.image_id == image.id
    assert created.status == "pending"
    with pytest.raises(exc.HTTPConflict):
        owner.image_members.create(image.id, member_project)

    listed = list(owner.image_members.list(image.id))
    assert [(m.member_id, m.status) for m in listed] == \
        [(member_project, "pending")]

    # Visible and downloadable by id to the member while pending ...
    assert member.images.get(image.id).id == image.id
    assert b"".join(member.images.data(image.id)) == data
    # ... but not in the member's default list until accepted.
    assert image.id not in {i.id for i in member.images.list()}
    pending = member.images.list(filters={"member_status": "pending"})
    assert image.id in {i.id for i in pending}
    # A stranger sees nothing.
    with pytest.raises(exc.HTTPNotFound):
        stranger.images.get(image.id)
    assert image.id not in {i.id for i in stranger.images.list()}

    # The owner cannot accept on the member's behalf.
    with pytest.raises(exc.HTTPForbidden):
        owner.image_members.update(image.id, member_project, "accepted")

    accepted = member.image_members.update(image.id, member_project,
                                           "accepted")
    assert accepted.status == "accepted"
    assert image.id in {i.id for i in member.images.list()}
    assert [m.status for m in owner.image_members.list(image.id)] == \
        ["accepted"]
    # A member sees only its own membership.
    assert [m.member_id for m in member.image_members.list(image.id)] == \
        [member_project]

    member.image_members.update(image.id, member_project, "rejected")
    assert image.id not in {i.id for i in member.images.list()}

    assert image.id not in {i.id for i in member.images.list(
        filters={"visibility": "shared"})}
    every = member.images.list(filters={"member_status": "all"})
    assert image.id in {i.id for i in every}
    # A member cannot remove itself; only the owner can.
    with pytest.raises(exc.HTTPForbidden):
        member.image_members.delete(image.id, member_project)

    owner.image_members.delete(image.id, member_project)
    assert list(owner.image_members.list(image.id)) == []
    with pytest.raises(exc.HTTPNotFound):
        member.images.get(image.id)
    assert image.id not in {i.id for i in member.images.list(
        filters={"member_status": "all"})}


def test_members_only_on_shared_images(server):
    owner = project_client(server, unique("owner"))
    image = owner.images.create(name=unique(), disk_format="raw",
                                container_format="bare",
                                visibility="private")
    with pytest.raises(exc.HTTPForbidden):
        owner.image_members.create(image.id, unique("member"))
    with pytest.raises(exc.HTTPForbidden):
        list(owner.image_members.list(image.id))
    # Making it shared allows members.
    owner.images.update(image.id, visibility="shared")
    assert owner.image_members.create(image.id, "p2").status == "pending"
    # Publicising needs admin.
    with pytest.raises(exc.HTTPForbidden):
        owner.images.update(image.id, visibility="public")


def test_delete(gc):
    image = gc.images.create(name=unique(), disk_format="raw",
                             container_format="bare")
    gc.images.upload(image.id, io.BytesIO(b"x" * 1000))
    gc.images.delete(image.id)
    with pytest.raises(exc.HTTPNotFound):
        gc.images.get(image.id)
    with pytest.raises(exc.HTTPNotFound):
        gc.images.delete(image.id)


def test_delete_protected(gc):
    image = gc.images.create(name=unique(), disk_format="raw",
                             container_format="bare", protected=True)
    with pytest.raises(exc.HTTPForbidden):
        gc.images.delete(image.id)
    gc.images.update(image.id, protected=False)
    gc.images.delete(image.id)
    with pytest.raises(exc.HTTPNotFound):
        gc.images.get(image.id)
