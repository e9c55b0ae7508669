"""Stores from configuration: Glance's single- and multi-store forms, named
[store:<id>] sections, per-type routing, reserved staging/tasks stores."""

from artifacts.stores.placement import open_locations
import pytest
import sqlalchemy as sa

from artifacts import errors
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
    built = stores.build(conf, db)
    assert built.default == "file" and list(built.drivers) == ["file"]
    assert built.default_driver.datadir == str(tmp_path / "images")
    assert built.type_stores == {}
    assert not stores.multi_store(conf)
    assert (built.descriptions, built.weights) == ({"file": ""}, {"file": 0})
    # Glance has no reserved stores in single-store mode.
    assert (built.staging, built.tasks) == (None, None)


def test_glance_single_store_list_adds_a_store_per_type(tmp_path, db):
    # An operator's single-store glance-api.conf: [glance_store] stores
    # names the types, their options live in [glance_store] itself.
    conf = load(tmp_path, """
[glance_store]
stores = file, http, rbd
default_store = file
filesystem_store_datadir = %(root)s/images
http_internal_hosts = 127.0.0.1
""" % {"root": tmp_path})
    built = stores.build(conf, db)
    assert list(built.drivers) == ["file", "http", "rbd"]
    assert built.default == "file" and not stores.multi_store(conf)
    assert built.default_driver.datadir == str(tmp_path / "images")
    assert config.unused_options(conf) == []


def test_a_type_left_out_of_glance_store_stores_is_not_offered(tmp_path,
                                                                db):
    # Glance refuses a location whose scheme no enabled store has; here no
    # store owns it, so adding it is refused and reading it names why.
    http_url = "http://images.example.com/cirros.img"
    file_url = "file://%s/images/abc" % tmp_path
    for listed in ("stores = file\n", ""):
        built = stores.build(load(tmp_path, (
            "[glance_store]\n%sfilesystem_store_datadir = %s/images\n")
            % (listed, tmp_path)), db)
        assert list(built.drivers) == ["file"], listed
        assert built.owner_of(http_url) is None, listed
        assert built.owner_of(file_url) == "file", listed
        with pytest.raises(errors.StoreUnavailable,
                           match="http://: no configured store reads it"):
            open_locations(built, {"id": "b1", "locations": [
                {"url": http_url, "store": None}]})
    built = stores.build(load(tmp_path, (
        "[glance_store]\nstores = file, http\n"
        "filesystem_store_datadir = %s/images\n") % tmp_path), db)
    assert built.owner_of(http_url) == "http"
    assert built.owner_of(file_url) == "file"


@pytest.mark.parametrize("text, words", [
    ("stores = file, ftp\n", "unknown store 'ftp'"),
    ("stores = http\n", "default_store 'file' is not one of"),
    # A default of a type Glare knows but the list leaves out: the same
    # error, naming what is enabled.
    ("stores = file, http\ndefault_store = s3\n",
     r"default_store 's3' is not one of \[glance_store\] stores "
     r"\(file, http\)"),
    ("stores = file\ndefault_store = nowhere\n",
     "default_store 'nowhere' is not one of"),
    # The store table (database) is Glare's own, not a Glance type.
    ("stores = file, database\n", "unknown store 'database'"),
])
def test_glance_single_store_list_errors_name_the_option(tmp_path, db, text,
                                                          words):
    conf = load(tmp_path, "[glance_store]\n" + text)
    with pytest.raises(stores.ConfigError, match=words):
        stores.build(conf, db)


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
    built = stores.build(conf, db)
    assert list(built.drivers) == ["file", "templates", "other"]
    assert built.type_stores == {"heat_templates": "templates",
                                 "files": "other"}
    assert built.drivers["templates"].scheme != "file"


def test_named_http_and_foreign_stores_serve_migrated_locations(tmp_path,
                                                                db):
    # Single-store Glare serving a Glance whose images have http and rbd
    # locations (glare migrate-from-glance keeps them as stored).
    conf = load(tmp_path, """
[glance_store]
filesystem_store_datadir = %s
[store:web]
driver = http
[store:ceph]
driver = foreign
schemes = rbd
""" % (tmp_path / "images"))
    built = stores.build(conf, db)
    assert built.owner_of("https://example.com/image.qcow2") == "web"
    assert built.owner_of("rbd://fsid/images/x/snap") == "ceph"
    assert built.drivers["web"].read_only and built.drivers["ceph"].read_only
    assert set(built.writable()) == {"file"}


@pytest.mark.parametrize("text,named", [
    ("[store:x]\ndriver = foreign\n", "schemes is required"),
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


# -- Glance's multi-store form ---------------------------------------------

def test_enabled_backends_build_every_store_in_order(tmp_path, db):
    conf = load(tmp_path, """
[DEFAULT]
enabled_backends = fast:file, small:database , slow:file
[glance_store]
default_backend = small
filesystem_store_datadir = %(root)s/images
[fast]
filesystem_store_datadir = %(root)s/fast
store_description = Local disks
weight = 100
[small]
database_store_chunk_size = 65536
weight = -5
[slow]
filesystem_store_datadir = %(root)s/slow
""" % {"root": tmp_path})
    built = stores.build(conf, db)
    assert stores.multi_store(conf)
    assert list(built.drivers) == ["fast", "small", "slow"]
    assert built.default == "small"
    assert built.default_driver.scheme == "glare-db"
    assert built.drivers["fast"].datadir == str(tmp_path / "fast")
    assert built.descriptions == {"fast": "Local disks", "small": "",
                                  "slow": ""}
    assert built.weights == {"fast": 100, "small": -5, "slow": 0}
    # The single-store default is not a store of its own any more.
    assert "file" not in built.drivers


def test_reserved_stores_default_beside_the_images_directory(tmp_path, db):
    conf = load(tmp_path, """
[DEFAULT]
enabled_backends = fast:file
[glance_store]
default_backend = fast
filesystem_store_datadir = %(root)s/data/images
[fast]
filesystem_store_datadir = %(root)s/fast
""" % {"root": tmp_path})
    built = stores.build(conf, db)
    assert built.staging.datadir == str(
        tmp_path / "data" / "os_glance_staging_store")
    assert built.tasks.datadir == str(
        tmp_path / "data" / "os_glance_tasks_store")
    assert "os_glance_staging_store" not in built.drivers


def test_reserved_sections_set_the_staging_and_tasks_directories(
        tmp_path, db):
    conf = load(tmp_path, """
[DEFAULT]
enabled_backends = fast:file
[glance_store]
default_backend = fast
[fast]
filesystem_store_datadir = %(root)s/fast
[os_glance_staging_store]
filesystem_store_datadir = %(root)s/staging
[os_glance_tasks_store]
filesystem_store_datadir = %(root)s/tasks
""" % {"root": tmp_path})
    built = stores.build(conf, db)
    assert built.staging.datadir == str(tmp_path / "staging")
    assert built.tasks.datadir == str(tmp_path / "tasks")


def test_a_reserved_section_turns_staging_on_in_single_store_mode(
        tmp_path, db):
    conf = load(tmp_path, """
[glance_store]
filesystem_store_datadir = %(root)s/images
[os_glance_staging_store]
filesystem_store_datadir = %(root)s/staging
""" % {"root": tmp_path})
    built = stores.build(conf, db)
    assert built.staging.datadir == str(tmp_path / "staging")
    assert built.tasks is None and not stores.multi_store(conf)


def test_enabled_backends_take_precedence_over_default_store(tmp_path, db):
    conf = load(tmp_path, """
[DEFAULT]
enabled_backends = fast:file
[glance_store]
default_store = file
default_backend = fast
filesystem_store_datadir = %(root)s/images
[fast]
filesystem_store_datadir = %(root)s/fast
[store:templates]
driver = database
[glare]
type_stores = heat_templates:templates
""" % {"root": tmp_path})
    built = stores.build(conf, db)
    assert list(built.drivers) == ["fast", "templates"]
    assert built.default == "fast"
    assert built.type_stores == {"heat_templates": "templates"}


def test_a_file_store_without_datadir_uses_glance_stores_directory(
        tmp_path, db):
    conf = load(tmp_path, """
[DEFAULT]
enabled_backends = fast:file
[glance_store]
default_backend = fast
filesystem_store_datadir = %s
""" % (tmp_path / "images"))
    assert stores.build(conf, db).drivers["fast"].datadir == str(
        tmp_path / "images")


def section(tmp_path, store_type, body, extra=""):
    conf = load(tmp_path, "[DEFAULT]\nenabled_backends = st:%s\n%s[st]\n%s"
                % (store_type, extra, body))
    return stores.map_section(conf, "st", store_type, db_engine="ENGINE")


def test_file_section_maps_to_the_filesystem_driver(tmp_path):
    assert section(tmp_path, "file", """
filesystem_store_datadir = /srv/a
filesystem_store_file_perm = 640
""") == ("filesystem", {"datadir": "/srv/a", "file_mode": 0o640})
    # 0 (the default) and negative values leave the permissions alone.
    assert section(tmp_path, "file", "filesystem_store_datadir = /srv/a\n"
                   "filesystem_store_file_perm = -1\n") == (
        "filesystem", {"datadir": "/srv/a"})


def test_filesystem_store_datadirs_write_to_the_highest_priority(tmp_path):
    kind, options = section(tmp_path, "file", """
filesystem_store_datadirs = /srv/low:1
filesystem_store_datadirs = /srv/high:200
filesystem_store_datadirs = /srv/none
filesystem_store_datadirs = /srv/high2:200
""")
    assert kind == "filesystem"
    assert options == {"datadir": "/srv/high",
                       "allowed_roots": ["/srv/high2", "/srv/low",
                                         "/srv/none"]}


def test_s3_section_maps_glance_names_and_units(tmp_path):
    kind, options = section(tmp_path, "s3", """
s3_store_host = https://s3.example.net/
s3_store_access_key = AK
s3_store_secret_key = SK
s3_store_bucket = glance
s3_store_region_name = eu-west-1
s3_store_large_object_size = 200
s3_store_large_object_chunk_size = 20
s3_store_bucket_url_format = path
""")
    assert kind == "s3"
    assert options == {"endpoint_url": "https://s3.example.net",
                       "bucket": "glance", "access_key": "AK",
                       "secret_key": "SK", "region": "eu-west-1",
                       "large_object_size": 200 * 1024 * 1024,
                       "chunk_size": 20 * 1024 * 1024,
                       "addressing_style": "path"}


def test_s3_section_defaults_are_glances(tmp_path):
    kind, options = section(tmp_path, "s3", """
s3_store_host = s3.example.net:8080
s3_store_bucket = glance
s3_store_create_bucket_on_put = true
""")
    # A host without a scheme is plain http, as glance_store's s3 store.
    assert options == {"endpoint_url": "http://s3.example.net:8080",
                       "bucket": "glance",
                       "large_object_size": 100 * 1024 * 1024,
                       "chunk_size": 10 * 1024 * 1024,
                       "addressing_style": "auto",
                       "create_bucket_on_put": True}


def test_database_section_maps_its_chunk_size(tmp_path):
    assert section(tmp_path, "database", "database_store_chunk_size = 65536\n"
                   ) == ("database", {"engine": "ENGINE",
                                      "chunk_size": 65536})
    assert section(tmp_path, "database", "") == (
        "database", {"engine": "ENGINE"})


def test_http_section_is_the_read_only_http_driver(tmp_path):
    assert section(tmp_path, "http", "https_insecure = false\n") == (
        "http", {"internal_hosts": [], "denied_hosts": []})
    # Glare's own: the hosts that may be internal (every read is checked).
    assert section(tmp_path, "http", "http_internal_hosts = 10.0.0.5, "
                   "images.lan\nhttp_denied_hosts = bad.example\n") == (
        "http", {"internal_hosts": ["10.0.0.5", "images.lan"],
                 "denied_hosts": ["bad.example"]})


@pytest.mark.parametrize("store_type,schemes", [
    ("rbd", ["rbd"]),
    ("swift", ["swift", "swift+https", "swift+http", "swift+config"]),
    ("cinder", ["cinder"]),
    ("vmware", ["vsphere"]),
])
def test_stores_without_a_glare_driver_are_foreign(tmp_path, store_type,
                                                   schemes):
    assert section(tmp_path, store_type, "rbd_store_pool = images\n") == (
        "foreign", {"schemes": schemes})


@pytest.mark.parametrize("text,named", [
    ("[DEFAULT]\nenabled_backends = a:file\n", "default_backend"),
    ("[DEFAULT]\nenabled_backends = a:file\n[glance_store]\n"
     "default_backend = b\n", "default_backend 'b'"),
    ("[DEFAULT]\nenabled_backends = a:file,w:http\n[glance_store]\n"
     "default_backend = w\n", "cannot write"),
    ("[DEFAULT]\nenabled_backends = a:ftp\n[glance_store]\n"
     "default_backend = a\n", "'ftp'"),
    ("[DEFAULT]\nenabled_backends = a\n", "enabled_backends"),
    ("[DEFAULT]\nenabled_backends = os_glance_x:file\n",
     "os_glance_"),
    ("[DEFAULT]\nenabled_backends = glare:file\n", "'glare'"),
    ("[DEFAULT]\nenabled_backends = a:file\n[glance_store]\n"
     "default_backend = a\n[a]\nweight = heavy\n", "[a] weight"),
    ("[DEFAULT]\nenabled_backends = a:s3\n[glance_store]\n"
     "default_backend = a\n[a]\ns3_store_host = h\n", "[a] s3_store_bucket"),
    ("[DEFAULT]\nenabled_backends = a:s3\n[glance_store]\n"
     "default_backend = a\n[a]\ns3_store_bucket = b\n", "[a] s3_store_host"),
    ("[DEFAULT]\nenabled_backends = a:s3\n[glance_store]\n"
     "default_backend = a\n[a]\ns3_store_host = h\ns3_store_bucket = b\n"
     "s3_store_large_object_chunk_size = 4\n",
     "[a] s3_store_large_object_chunk_size"),
    ("[DEFAULT]\nenabled_backends = a:file\n[glance_store]\n"
     "default_backend = a\n[a]\nfilesystem_store_datadir = /x\n"
     "filesystem_store_datadirs = /y\n", "filesystem_store_datadirs"),
    ("[DEFAULT]\nenabled_backends = a:file\n[glance_store]\n"
     "default_backend = a\n[a]\nfilesystem_store_datadir = /x\n"
     "filesystem_store_file_perm = 999\n", "filesystem_store_file_perm"),
    ("[DEFAULT]\nenabled_backends = a:file\n[glance_store]\n"
     "default_backend = a\n[store:a]\ndriver = database\n", "second time"),
])
def test_bad_multi_store_configuration_is_named(tmp_path, db, text, named):
    with pytest.raises(config.ConfigError) as err:
        stores.build(config.load(_write(tmp_path, text)), db)
    assert named in str(err.value)


def _write(tmp_path, text):
    path = tmp_path / "glare.conf"
    path.write_text(text)
    return str(path)


def test_unknown_options_in_store_sections_are_not_fatal(tmp_path, db):
    conf = load(tmp_path, """
[DEFAULT]
enabled_backends = fast:file
[glance_store]
default_backend = fast
[fast]
filesystem_store_datadir = %(root)s/fast
filesystem_thin_provisioning = true
[os_glance_staging_store]
filesystem_store_datadir = %(root)s/staging
filesystem_store_chunk_size = 65536
""" % {"root": tmp_path})
    assert list(stores.build(conf, db).drivers) == ["fast"]
    assert config.unused_options(conf) == [
        ("fast", "filesystem_thin_provisioning"),
        ("os_glance_staging_store", "filesystem_store_chunk_size")]
