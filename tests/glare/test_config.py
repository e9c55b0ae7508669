"""Configuration loading: Glance option names, defaults, clear errors."""

import pytest

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
    ("[paste_deploy]\nflavor = keystone+cache\n", "flavor"),
    ("[DEFAULT]\nenabled_import_methods = web-download\n",
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
