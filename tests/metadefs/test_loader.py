"""metadefs.loader: definition files in (load, merge, prefer-new,
overwrite), out (export) and away (unload), on every database of the
matrix.  Glance's own files are loaded in
tests/integration/test_metadefs_glance.py."""

import json
import uuid

import pytest

from metadefs import loader


def write(directory, name, doc):
    path = directory / name
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return str(path)


def namespace(name, **extra):
    doc = {"namespace": name, "display_name": "Display " + name,
           "visibility": "public", "protected": True,
           "resource_type_associations": [
               {"name": "OS::Nova::Flavor", "prefix": "hw:"},
               {"name": "OS::Glance::Image", "prefix": "hw_"}],
           "properties": {"p": {"type": "integer", "title": "P",
                                "default": 2}},
           "objects": [{"name": "o", "description": "d", "properties": {
               "x": {"type": "string", "title": "X"}}}],
           "tags": [{"name": "t"}]}
    doc.update(extra)
    return doc


@pytest.fixture
def name():
    return "OS::Test::" + uuid.uuid4().hex[:8]


def test_load_as_glance_does(catalog, db_engine, admin, other, tmp_path,
                             name):
    files = [write(tmp_path, "a.json", namespace(name))]
    assert loader.load(db_engine, files, report=lambda m: None) == (1, 0, 0)
    shown = catalog.show_namespace(other, name)
    assert shown["owner"] == "admin" and shown["protected"] is True
    assert shown["updated_at"] is None
    # The file's order of associations, stored definitions as written.
    assert [a["name"] for a in shown["resource_type_associations"]] == [
        "OS::Nova::Flavor", "OS::Glance::Image"]
    assert shown["properties"]["p"]["default"] == 2
    assert shown["tags"] == ["t"]
    # Existing namespaces are skipped unless merging.
    assert loader.load(db_engine, files, report=lambda m: None) == (0, 1, 0)


def test_bad_files_are_reported_and_left_out(db_engine, tmp_path, name):
    lines = []
    files = [write(tmp_path, "broken.json", "{not json"),
             write(tmp_path, "list.json", "[]"),
             write(tmp_path, "bad.json", {"namespace": name, "properties": {
                 "p": {"type": "string"}}}),
             write(tmp_path, "enum.json", {"namespace": name, "properties": {
                 "p": {"type": "integer", "title": "T", "enum": [1]}}}),
             write(tmp_path, "good.json", namespace(name))]
    assert loader.load(db_engine, files, report=lines.append) == (1, 0, 4)
    assert "broken.json: not loaded: cannot read JSON" in lines[0]
    assert "does not match schema 'namespace'" in lines[2]
    assert "list of strings" in lines[3]


def test_merge_prefer_new_and_overwrite(catalog, db_engine, admin, tmp_path,
                                        name):
    quiet = {"report": lambda m: None}
    loader.load(db_engine, [write(tmp_path, "v1.json", namespace(name))],
                **quiet)
    v2 = namespace(name, display_name="Second", tags=[{"name": "t2"}],
                   properties={"p": {"type": "string", "title": "New"},
                               "q": {"type": "string", "title": "Q"}})
    files = [write(tmp_path, "v2.json", v2)]
    loader.load(db_engine, files, merge=True, **quiet)
    shown = catalog.show_namespace(admin, name)
    assert shown["display_name"] == "Display " + name
    assert sorted(shown["tags"]) == ["t", "t2"]
    assert shown["properties"]["p"]["title"] == "P"
    loader.load(db_engine, files, merge=True, prefer_new=True, **quiet)
    shown = catalog.show_namespace(admin, name)
    assert shown["display_name"] == "Second"
    assert shown["properties"]["p"]["title"] == "New"
    loader.load(db_engine, files, merge=True, overwrite=True, **quiet)
    shown = catalog.show_namespace(admin, name)
    assert shown["tags"] == ["t2"] and shown["objects"][0]["name"] == "o"


def test_option_rules(db_engine):
    with pytest.raises(loader.LoadError):
        loader.load(db_engine, [], prefer_new=True)
    with pytest.raises(loader.LoadError):
        loader.load(db_engine, [], merge=True, prefer_new=True,
                    overwrite=True)


def test_export_round_trip(catalog, db_engine, admin, tmp_path, name):
    loader.load(db_engine, [write(tmp_path, "in.json", namespace(name))],
                report=lambda m: None)
    out = tmp_path / "out"
    assert loader.export(db_engine, str(out), report=lambda m: None) >= 1
    exported = json.loads((out / ("Display" + name.replace(":", "")
                                  + ".json")).read_text())
    assert exported["namespace"] == name
    assert exported["properties"] == {"p": {"type": "integer", "title": "P",
                                            "default": 2}}
    assert [a["name"] for a in exported["resource_type_associations"]] == [
        "OS::Nova::Flavor", "OS::Glance::Image"]


def test_unload_removes_everything(catalog, db_engine, admin, tmp_path,
                                   name):
    loader.load(db_engine, [write(tmp_path, "in.json", namespace(name))],
                report=lambda m: None)
    assert loader.unload(db_engine) >= 1
    assert catalog.resource_types.list(admin) == []
    assert catalog.list_namespaces(admin, 10)[0] == []


def test_find_source(tmp_path):
    venv = tmp_path / "venv"
    data = venv / "etc" / "glance" / "metadefs"
    data.mkdir(parents=True)
    write(data, "x.json", {"namespace": "x"})
    files, where = loader.find_source(str(venv))
    assert where == str(data) and files == [str(data / "x.json")]
    assert loader.find_source(str(data / "x.json"))[0] == [
        str(data / "x.json")]
    assert loader.find_source(None, configured=str(data))[1] == str(data)
    with pytest.raises(loader.LoadError) as info:
        loader.find_source(str(tmp_path / "empty"))
    assert "No metadata definition files" in str(info.value)
