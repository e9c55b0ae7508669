"""The ``glare`` command's own behaviour (``config-check``)."""

import pytest

from glare import cli


def check(tmp_path, capsys, text):
    path = tmp_path / "glance-api.conf"
    path.write_text(text)
    with pytest.raises(SystemExit) as done:
        cli.main(["config-check", str(path)])
        raise SystemExit(0)
    return done.value.code, capsys.readouterr().out.splitlines()


def test_config_check_sorts_every_written_option(tmp_path, capsys):
    code, lines = check(tmp_path, capsys, """
[DEFAULT]
bind_port = 9393
log_dir = /var/log/glance
enabled_import_methods = [glance-direct,web-download,copy-image,glance-download]
[image_format]
require_image_format_match = false
[taskflow_executor]
engine_mode = parallel
""")
    assert code == 0
    assert "honoured  [DEFAULT] bind_port" in lines
    assert "ignored   [DEFAULT] log_dir: Glare does not use it" in lines
    assert "honoured  [image_format] require_image_format_match" in lines
    assert "ignored   [taskflow_executor] engine_mode: Glare does not use " \
           "it" in lines
    assert "honoured  [DEFAULT] enabled_import_methods" in lines
    assert lines[-1].endswith("0 rejected")


def test_config_check_names_a_rejected_value(tmp_path, capsys):
    code, lines = check(tmp_path, capsys, "[DEFAULT]\nbind_port = nine\n")
    assert code == 1
    assert lines[0].startswith("rejected: ") and "bind_port" in lines[0]
