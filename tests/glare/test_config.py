"""Configuration loading: Glance option names, defaults, clear errors,
Glance's list syntax, import-method filtering, ignored options."""

import logging

import pytest
import sqlalchemy as sa

from glare import config


def write(tmp_path, text):
    path = tmp_path / "glare.conf"
    path.write_text(text)
    return str(path)


def test_defaults_are_the_embedded_mode():
    conf = config.load()
    assert (conf.bind_host, conf.bind_port) == ("127.0.0.1", 9292)
    assert conf.database.connection == "sqlite:///./data/glare.sqlite"
    assert conf.glance_store.filesystem_store_datadir == "./data/images"
    assert conf.paste_deploy.flavor == ""
    assert conf.noauth.default_roles == ["admin", "member", "reader"]
    assert (conf.limit_param_default, conf.api_limit_max) == (25, 1000)
    assert conf.image_size_cap == 1099511627776


def test_glance_api_conf_names_are_read(tmp_path):
    conf = config.load(write(tmp_path, """
[DEFAULT]
bind_port = 9999
workers = 4
image_size_cap = 1000
show_image_direct_url = true
limit_param_default = 10
api_limit_max = 50
public_endpoint = https://images.example.test/image
[database]
connection = postgresql+psycopg2://glare@db/glare
[glance_store]
filesystem_store_datadir = /srv/images
[paste_deploy]
flavor = keystone
"""))
    assert conf.bind_port == 9999 and conf.workers == 4
    assert conf.image_size_cap == 1000 and conf.show_image_direct_url
    assert (conf.limit_param_default, conf.api_limit_max) == (10, 50)
    assert conf.public_endpoint == "https://images.example.test/image"
    assert conf.database.connection.startswith("postgresql")
    assert conf.glance_store.filesystem_store_datadir == "/srv/images"
    assert conf.paste_deploy.flavor == "keystone"


@pytest.mark.parametrize("text,named", [
    ("[DEFAULT]\nbind_port = notaport\n", "bind_port"),
    ("[DEFAULT]\nworkers = 0\n", "workers"),
    ("[DEFAULT]\nshow_image_direct_url = maybe\n", "show_image_direct_url"),
    ("[DEFAULT]\nlimit_param_default = 2000\n", "limit_param_default"),
    # Not one of Glance's stock pipelines (Glance fails to load it too).
    ("[paste_deploy]\nflavor = keystone+cache\n", "flavor"),
    # A name Glance does not know is refused, as Glance refuses it.
    ("[DEFAULT]\nenabled_import_methods = [glance-direct,ftp-pull]\n",
     "enabled_import_methods"),
    ("[DEFAULT]\nenabled_import_methods = [glance-direct\n",
     "enabled_import_methods"),
    ("[DEFAULT]\nenabled_import_methods = 'glance-direct\n",
     "enabled_import_methods"),
    ("[DEFAULT]\nhashing_algorithm = crc32\n", "hashing_algorithm"),
])
def test_a_bad_value_fails_at_start_naming_the_option(tmp_path, text, named):
    with pytest.raises(config.ConfigError) as err:
        config.load(write(tmp_path, text))
    assert named in str(err.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(config.ConfigError) as err:
        config.load(str(tmp_path / "nope.conf"))
    assert "nope.conf" in str(err.value)


def test_overrides_apply_after_the_file(tmp_path):
    conf = config.load(write(tmp_path, "[DEFAULT]\nbind_port = 9999\n"),
                       overrides={"DEFAULT.bind_port": 9393,
                                  "database.connection": "sqlite://"})
    assert conf.bind_port == 9393 and conf.database.connection == "sqlite://"


# -- list options, parsed as Glance parses them ------------------------------

@pytest.mark.parametrize("written,parsed", [
    # Glance's sample file writes it in brackets; Glare's without.
    ("[glance-direct,web-download,copy-image]",
     ["glance-direct", "web-download", "copy-image"]),
    ("glance-direct,copy-image", ["glance-direct", "copy-image"]),
    # Spaces around items and brackets are dropped, a trailing comma too.
    (" [ glance-direct , copy-image ] ", ["glance-direct", "copy-image"]),
    ("[glance-direct,]", ["glance-direct"]),
    # Items may be quoted, single or double.
    ("['glance-direct', \"copy-image\"]", ["glance-direct", "copy-image"]),
    ("[]", []),
])
def test_enabled_import_methods_take_glances_list_syntax(tmp_path, written,
                                                         parsed):
    conf = config.load(write(tmp_path, "[DEFAULT]\nenabled_import_methods = "
                             "%s\n" % written))
    assert conf.enabled_import_methods == parsed


def test_format_lists_are_plain_lists_read_from_both_sections(tmp_path):
    # Glance's disk_formats and container_formats: plain lists (spaces
    # dropped, no brackets or quotes taken off), also accepted in
    # [DEFAULT] where older glance-api.conf files have them.
    conf = config.load(write(tmp_path, """
[DEFAULT]
container_formats = bare , ovf
[image_format]
disk_formats = raw, qcow2,
"""))
    assert conf.image_format.disk_formats == ["raw", "qcow2"]
    assert conf.image_format.container_formats == ["bare", "ovf"]
    conf = config.load(write(tmp_path, "[image_format]\n"
                             "disk_formats = [raw,qcow2]\n"))
    assert conf.image_format.disk_formats == ["[raw", "qcow2]"]


# -- import methods ------------------------------------------------------------

def test_every_glance_import_method_is_offered_without_a_warning(
        tmp_path, caplog):
    conf = config.load(write(tmp_path, "[DEFAULT]\nenabled_import_methods = "
                             "[glance-download,glance-direct,copy-image]\n"))
    assert config.offered_import_methods(conf) == [
        "glance-download", "glance-direct", "copy-image"]
    with caplog.at_level(logging.INFO, logger="glare.config"):
        config.log_start_notes(conf)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_info_import_lists_the_enabled_methods(tmp_path):
    from glare.app import create_app
    conf = config.load(write(tmp_path, """
[DEFAULT]
enabled_import_methods = [glance-download,glance-direct]
[database]
connection = sqlite:///%(root)s/g.sqlite
[glance_store]
filesystem_store_datadir = %(root)s/images
""" % {"root": tmp_path}))
    import werkzeug.test
    client = werkzeug.test.Client(create_app(conf))
    resp = client.get("/v2/info/import", headers={"X-Auth-Token": "x"})
    assert resp.status_code == 200, resp.text
    assert resp.json["import-methods"]["value"] == ["glance-download",
                                                    "glance-direct"]


# -- options Glare does not use -------------------------------------------------

GLANCE_API_CONF = """\
[DEFAULT]
bind_host = 127.0.0.1
bind_port = 9292
workers = 2
debug = false
log_dir = /var/log/glance
use_stderr = false
transport_url = rabbit://openstack:secret@rabbit:5672/
enabled_backends = fast:file, backup:file
enabled_import_methods = [glance-direct,web-download,copy-image]
show_multiple_locations = false
disk_formats = raw,qcow2
node_staging_uri = file:///var/lib/glance/staging

[database]
connection = sqlite:///%(root)s/glance.sqlite
max_retries = -1

[glance_store]
stores = file,http
default_store = file
default_backend = fast
filesystem_store_datadir = %(root)s/images

[fast]
filesystem_store_datadir = %(root)s/fast
store_description = Fast local disks
weight = 10

[backup]
filesystem_store_datadir = %(root)s/backup
filesystem_thin_provisioning = true

# A store no longer in enabled_backends: its section has no effect.  (An
# enabled rbd store would be a 'foreign' store; tests/glare/test_stores.py
# checks that mapping without building the driver.)
[ceph]
rbd_store_pool = images
rbd_store_user = glance
rbd_store_ceph_conf = /etc/ceph/ceph.conf
store_description = Ceph

[os_glance_staging_store]
filesystem_store_datadir = %(root)s/staging

[os_glance_tasks_store]
filesystem_store_datadir = %(root)s/tasks

[keystone_authtoken]
www_authenticate_uri = http://keystone:5000
auth_url = http://keystone:5000
memcached_servers = memcached:11211
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = glance
password = secret

[paste_deploy]
flavor = keystone

[oslo_messaging_notifications]
driver = messagingv2

[oslo_policy]
enforce_new_defaults = true

[taskflow_executor]
engine_mode = parallel
conversion_format = raw

[cors]
allowed_origin = https://dashboard.example.test

[image_format]
container_formats = bare,ovf
"""


def test_a_real_glance_api_conf_loads_and_reports_what_is_ignored(
        tmp_path, caplog):
    from artifacts.db import migrate
    from artifacts.db.session import make_engine
    from glare import stores
    conf = config.load(write(tmp_path, GLANCE_API_CONF % {"root": tmp_path}))
    engine = make_engine(conf.database.connection)
    try:
        migrate.upgrade(engine)
        built = stores.build(conf, engine)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()
    assert list(built.drivers) == ["fast", "backup"]
    assert built.default == "fast" and stores.multi_store(conf)
    assert built.descriptions == {"fast": "Fast local disks", "backup": ""}
    assert built.weights == {"fast": 10, "backup": 0}
    assert built.staging.datadir == str(tmp_path / "staging")
    assert config.unused_options(conf) == [
        ("DEFAULT", "log_dir"), ("DEFAULT", "use_stderr"),
        ("DEFAULT", "node_staging_uri"),
        ("database", "max_retries"),
        ("glance_store", "stores"),
        ("backup", "filesystem_thin_provisioning"),
        ("ceph", "rbd_store_pool"), ("ceph", "rbd_store_user"),
        ("ceph", "rbd_store_ceph_conf"), ("ceph", "store_description"),
        ("taskflow_executor", "engine_mode"),
        ("taskflow_executor", "conversion_format"),
    ]
    with caplog.at_level(logging.INFO, logger="glare.config"):
        config.log_start_notes(conf)
    lines = [r.getMessage() for r in caplog.records
             if r.name == "glare.config"]
    assert "Configuration option [glance_store] stores is ignored: Glare " \
           "does not use it." in lines
    # (transport_url and [oslo_messaging_notifications] driver are
    # honoured: notifications, glare/notifier.py; every import method
    # listed is served)
    assert len(lines) == 12


def test_keystone_authtoken_is_ignored_without_keystone(tmp_path):
    conf = config.load(write(tmp_path, "[keystone_authtoken]\n"
                             "auth_url = http://keystone:5000\n"))
    assert config.unused_options(conf) == [("keystone_authtoken",
                                            "auth_url")]


def test_oslo_limit_is_read_only_with_keystone_limits(tmp_path):
    """oslo.limit reads all of [oslo_limit] (its auth plugin's options
    too) when use_keystone_limits is on; otherwise nothing does."""
    section = ("[oslo_limit]\nendpoint_id = e1\nauth_type = password\n"
               "username = glance\n")
    conf = config.load(write(tmp_path, section))
    assert config.unused_options(conf) == [
        ("oslo_limit", "endpoint_id"), ("oslo_limit", "auth_type"),
        ("oslo_limit", "username")]
    conf = config.load(write(tmp_path, "[DEFAULT]\nuse_keystone_limits = "
                             "true\n" + section))
    assert config.unused_options(conf) == []


def test_image_format_options_reach_the_upload_inspector(tmp_path):
    """[image_format] require_image_format_match = false (Tempest's
    setting): placeholder bytes declared qcow2 are accepted without a
    virtual size, as Glance accepts them."""
    from artifacts.db import migrate
    from artifacts.types import image_format
    from glare.app import create_app
    import werkzeug.test
    conf = config.load(write(tmp_path, """
[image_format]
require_image_format_match = false
gpt_safety_checks_nonfatal = mbr
[database]
connection = sqlite:///%(root)s/g.sqlite
[glance_store]
filesystem_store_datadir = %(root)s/images
""" % {"root": tmp_path}))
    assert conf.image_format.vmdk_allowed_types == ["streamOptimized",
                                                    "monolithicSparse"]
    try:
        migrate.upgrade(sa.create_engine(conf.database.connection))
        client = werkzeug.test.Client(create_app(conf))
        made = client.post("/v2/images", json={
            "disk_format": "qcow2", "container_format": "bare"})
        assert made.status_code == 201, made.text
        url = "/v2/images/%s" % made.json["id"]
        put = client.put(url + "/file", data=b"placeholder" * 100,
                         content_type="application/octet-stream")
        assert put.status_code == 204, put.text
        shown = client.get(url).json
        assert shown["status"] == "active"
        assert shown["virtual_size"] is None
    finally:
        image_format.configure(image_format.FormatPolicy())
