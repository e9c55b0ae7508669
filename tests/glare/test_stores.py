"""Stores from configuration: default, named [store:<id>] sections, per type."""

from artifacts.data import open_locations
import pytest
import sqlalchemy as sa

from artifacts.db import migrate
from artifacts.db.session import make_engine
from glare import config, stores


def load(tmp_path, text):
    path = tmp_path / "glare.conf"
    path.write_text(text)
    return config.load(str(path))


@pytest.fixture
def db(tmp_path):
    engine = make_engine("sqlite:///%s" % (tmp_path / "g.sqlite"))
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def test_default_is_glance_store_filesystem(tmp_path, db):
    conf = load(tmp_path, "[glance_store]\nfilesystem_store_datadir = %s\n"
                % (tmp_path / "images"))
    default, built, type_stores = stores.build(conf, db)
    assert default.name == "file" and list(built) == ["file"]
    assert default.datadir == str(tmp_path / "images")
    assert type_stores == {}


def test_named_stores_and_type_routing(tmp_path, db):
    conf = load(tmp_path, """
[glance_store]
filesystem_store_datadir = %s
[store:templates]
driver = database
[store:other]
driver = filesystem
datadir = %s
[glare]
type_stores = heat_templates:templates,files:other
""" % (tmp_path / "images", tmp_path / "other"))
    default, built, type_stores = stores.build(conf, db)
    assert sorted(built) == ["file", "other", "templates"]
    assert type_stores == {"heat_templates": "templates", "files": "other"}
    assert built["templates"].scheme != "file"


@pytest.mark.parametrize("text,named", [
    ("[store:x]\n", "driver"),
    ("[store:x]\ndriver = filesystem\n", "datadir"),
    ("[store:x]\ndriver = s3\n", "bucket"),
    ("[glare]\ntype_stores = files:nowhere\n", "nowhere"),
])
def test_bad_store_configuration_is_named(tmp_path, db, text, named):
    conf = load(tmp_path, text)
    with pytest.raises(config.ConfigError) as err:
        stores.build(conf, db)
    assert named in str(err.value)


def test_engine_writes_a_type_to_its_store(tmp_path, db):
    from artifacts import types
    from artifacts.context import RequestContext
    from glare.app import build_engine
    conf = load(tmp_path, """
[database]
connection = sqlite:///%s
[glance_store]
filesystem_store_datadir = %s
[store:templates]
driver = database
[glare]
type_stores = heat_templates:templates,files.files:templates
""" % (tmp_path / "g.sqlite", tmp_path / "images"))
    engine = build_engine(conf)
    ctx = RequestContext(project_id="p", user_id="u",
                         roles=("member", "reader"))
    heat = types.get("heat_templates")
    art = engine.create(ctx, heat, {"name": "t", "version": "1.0.0"})
    engine.data.upload(ctx, heat, art["id"], "template", [b"heat: 1"])
    blob = engine.data.open(ctx, heat, art["id"], "template").blob
    [location] = blob["locations"]
    assert location["store"] == "templates"
    assert location["url"].startswith("glare-db://")
    reader = open_locations(engine.stores, blob)
    assert reader.read(100) == b"heat: 1"
    reader.close()
    # Per field: files' folder goes to the database, its blob does not.
    files = types.get("files")
    art = engine.create(ctx, files, {"name": "f", "version": "1.0.0"})
    engine.data.upload(ctx, files, art["id"], "files", [b"a"], path="a")
    engine.data.upload(ctx, files, art["id"], "file", [b"b"])
    stored = {b["field"]: b["locations"][0]["store"]
              for b in engine.get(ctx, files, art["id"])["blobs"]}
    assert stored == {"files": "templates", "file": "file"}
    with engine.db.connect() as conn:
        assert conn.execute(sa.text(
            "SELECT count(*) FROM store_objects")).scalar() == 2
