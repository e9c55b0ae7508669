"""metadefs.service.Catalog: namespaces, their visibility and policy, on
every database of the matrix."""

import uuid

import pytest
import sqlalchemy as sa

from artifacts import errors
from artifacts.db.session import read
from metadefs import tables as t
from tests.metadefs.conftest import ctx, make_enforcer


def fresh():
    return "ns-" + uuid.uuid4().hex[:10]


def make(catalog, admin, **body):
    body.setdefault("namespace", fresh())
    return catalog.create_namespace(admin, body)[0]["namespace"]


def test_create_defaults_and_owner(catalog, admin):
    ns, contents = catalog.create_namespace(admin, {"namespace": fresh()})
    assert ns["owner"] == "pa" and ns["visibility"] == "private"
    assert ns["protected"] is False and contents == {}
    shown = catalog.show_namespace(admin, ns["namespace"])
    assert shown["objects"] == [] and shown["tags"] == []


def test_create_is_all_or_nothing(catalog, admin, db_engine):
    """A document whose objects clash creates nothing at all."""
    name = fresh()
    with pytest.raises(errors.Conflict) as info:
        catalog.create_namespace(admin, {
            "namespace": name, "tags": [{"name": "t"}],
            "objects": [{"name": "o"}, {"name": "o"}]})
    assert "name=o already exists in namespace=%s" % name \
        in info.value.message
    with db_engine.connect() as conn:
        assert conn.execute(sa.select(t.namespaces).where(
            t.namespaces.c.namespace == name)).first() is None


def test_create_refuses_what_glance_cannot_store(catalog, admin):
    with pytest.raises(errors.Invalid) as info:
        catalog.create_namespace(admin, {"namespace": fresh(), "properties": {
            "p" * 81: {"type": "string", "title": "T"}}})
    assert info.value.message.startswith(
        "Couldn't create metadata namespace: ")


def test_duplicate_namespace(catalog, admin):
    name = make(catalog, admin)
    with pytest.raises(errors.Conflict):
        catalog.create_namespace(admin, {"namespace": name})


def test_visibility(catalog, admin, member, other):
    private = make(catalog, admin)
    public = make(catalog, admin, visibility="public")
    assert catalog.show_namespace(member, private)["namespace"] == private
    assert catalog.show_namespace(other, public)["namespace"] == public
    with pytest.raises(errors.NotFound) as info:
        catalog.show_namespace(other, private)
    missing = fresh()
    with pytest.raises(errors.NotFound) as absent:
        catalog.show_namespace(other, missing)
    # Nothing tells the private namespace from a missing one.
    assert info.value.message.replace(private, "N") == \
        absent.value.message.replace(missing, "N")


def test_policy_refusals(catalog, admin, member, other):
    public = make(catalog, admin, visibility="public")
    with pytest.raises(errors.Forbidden) as info:
        catalog.create_namespace(member, {"namespace": fresh()})
    assert info.value.message == ("You are not authorized to complete "
                                  "add_metadef_namespace action.")
    with pytest.raises(errors.Forbidden):
        catalog.delete_namespace(other, public)
    # No reader role: the namespace itself is unreadable, so 404.
    no_reader = ctx("pa", "member")
    with pytest.raises(errors.NotFound) as hidden:
        catalog.show_namespace(no_reader, public)
    assert hidden.value.message == ""


def test_operator_policy_lets_members_create(db_engine, tmp_path, member):
    from metadefs.service import Catalog
    policy = tmp_path / "policy.yaml"
    policy.write_text('add_metadef_namespace: "role:member"\n')
    loose = Catalog(db_engine, make_enforcer(str(policy)))
    ns, _ = loose.create_namespace(member, {"namespace": fresh()})
    assert ns["owner"] == "pa"


def test_list_pages_by_marker(catalog, admin, other):
    rtype = "T::" + uuid.uuid4().hex[:8]
    names = sorted(make(catalog, admin, visibility="public",
                        resource_type_associations=[{"name": rtype}])
                   for _ in range(3))
    kwargs = dict(sort_key="namespace", sort_dir="asc",
                  resource_types=rtype)
    page, last = catalog.list_namespaces(other, 2, **kwargs)
    assert [n["namespace"] for n in page] == names[:2] and last == names[1]
    assert page[0]["resource_type_associations"][0]["name"] == rtype
    rest, last = catalog.list_namespaces(other, 2, marker=names[1], **kwargs)
    assert [n["namespace"] for n in rest] == names[2:] and last is None
    down, _ = catalog.list_namespaces(other, 5, sort_key="namespace",
                                      sort_dir="desc", resource_types=rtype)
    assert [n["namespace"] for n in down] == names[::-1]


def test_list_sorts_on_columns_that_may_be_null(catalog, admin):
    """display_name may be NULL: paging by it still visits every row."""
    rtype = "T::" + uuid.uuid4().hex[:8]
    link = [{"name": rtype}]
    made = {make(catalog, admin, resource_type_associations=link,
                 display_name=d) for d in ("b", None, "a", None)}
    seen, marker = [], None
    while True:
        page, marker = catalog.list_namespaces(
            admin, 1, marker=marker, sort_key="display_name",
            sort_dir="asc", resource_types=rtype)
        seen += [n["namespace"] for n in page]
        if marker is None:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 4


def test_list_hides_private_namespaces_of_others(catalog, admin, other):
    private = make(catalog, admin)
    page, _ = catalog.list_namespaces(other, 1000)
    assert private not in [n["namespace"] for n in page]
    with pytest.raises(errors.NotFound):
        catalog.list_namespaces(other, 10, marker=private)


def test_list_refuses_unknown_sort_key(catalog, admin):
    with pytest.raises(errors.Invalid) as info:
        catalog.list_namespaces(admin, 10, sort_key="secret")
    assert "Invalid sort key: secret" in info.value.message


def test_update_replaces_fields_and_renames(catalog, admin):
    name = make(catalog, admin, display_name="D", visibility="public",
                protected=True)
    new = fresh()
    out = catalog.update_namespace(admin, name, {"namespace": new})
    assert out["namespace"] == new and out["display_name"] is None
    assert out["visibility"] == "private" and out["protected"] is False
    with pytest.raises(errors.NotFound):
        catalog.show_namespace(admin, name)
    taken = make(catalog, admin)
    with pytest.raises(errors.Conflict):
        catalog.update_namespace(admin, new, {"namespace": taken})


def test_delete_removes_contents(catalog, admin, db_engine):
    name = make(catalog, admin, tags=[{"name": "t"}],
                objects=[{"name": "o"}],
                properties={"p": {"type": "string", "title": "T"}},
                resource_type_associations=[{"name": "OS::Glance::Image"}])
    catalog.delete_namespace(admin, name)
    with db_engine.connect() as conn:
        for table in t.CHILDREN:
            assert conn.execute(sa.select(sa.func.count()).select_from(
                table).join(t.namespaces, isouter=True).where(
                t.namespaces.c.id.is_(None))).scalar() == 0


def test_protected_refuses_deletes(catalog, admin):
    name = make(catalog, admin, protected=True, tags=[{"name": "t"}])
    for call in (lambda: catalog.delete_namespace(admin, name),
                 lambda: catalog.delete_contents(admin, name, "tags")):
        with pytest.raises(errors.Forbidden) as info:
            call()
        assert "is protected and cannot be deleted" in info.value.message
    assert catalog.show_namespace(admin, name)["tags"] == ["t"]


def test_delete_contents_of_one_kind(catalog, admin):
    name = make(catalog, admin, tags=[{"name": "t"}],
                objects=[{"name": "o"}])
    catalog.delete_contents(admin, name, "objects")
    shown = catalog.show_namespace(admin, name)
    assert shown["objects"] == [] and shown["tags"] == ["t"]


# ------------------------------------------------------------ changes told

def test_changes_are_told_after_the_commit_and_never_fail_it(
        catalog, admin, db_engine):
    """A listener sees each committed change (the namespace already
    readable in the database); one that fails is logged, the change
    stands; a write that fails tells nothing."""
    seen = []

    def listener(change):
        stored = read(db_engine, lambda c: c.execute(sa.select(
            t.namespaces.c.namespace).where(t.namespaces.c.namespace
                                            == "told")).scalar())
        seen.append((change.action, change.kind, stored,
                     (change.item or {}).get("name")))

    def broken(change):
        raise RuntimeError("listener bug")
    catalog.subscribe(broken)
    catalog.subscribe(listener)
    try:
        catalog.create_namespace(admin, {"namespace": "told", "tags": [
            {"name": "a"}]})
        with pytest.raises(errors.Conflict):
            catalog.create_namespace(admin, {"namespace": "told"})
        catalog.tags.update(admin, "told", "a", "b")
        catalog.delete_namespace(admin, "told")
    finally:
        catalog.listeners.remove(broken)
        catalog.listeners.remove(listener)
    assert seen == [("create", "namespace", "told", None),
                    ("create", "tag", "told", "a"),
                    ("update", "tag", "told", "b"),
                    ("delete", "namespace", None, None)]
