"""artifacts.api.schemas and the OpenAPI document: /artifacts/schemas,
/artifacts/openapi.json and the interactive page /artifacts/docs."""

import jsonschema

from tests.artifacts.api.conftest import KINDS_NAME


def test_all_schemas(api):
    resp = api.get("/artifacts/schemas")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    schemas = resp.json["schemas"]
    assert {"files", "heat_templates", "heat_environments",
            "tosca_templates", "vnf_packages"} <= set(schemas)
    assert "images" not in schemas
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_one_schema_validates_what_the_api_renders(api):
    resp = api.get("/artifacts/schemas/" + KINDS_NAME)
    schema = resp.json["schemas"][KINDS_NAME]
    art = api.create(KINDS_NAME, name="s", count=2, labels=["a"],
                     options={"k": "v"})
    api.put_data("/artifacts/%s/%s/tree/a/b" % (KINDS_NAME, art["id"]),
                 b"x")
    shown = api.get("/artifacts/%s/%s" % (KINDS_NAME, art["id"])).json
    jsonschema.Draft202012Validator(schema).validate(shown)
    assert schema["properties"]["file"]["readOnly"] is True
    assert schema["properties"]["count"]["sortable"] is True


def test_unknown_type_schema_is_404(api):
    resp = api.get("/artifacts/schemas/images")
    assert resp.status_code == 404
    assert "Unknown artifact type" in resp.json["error"]["message"]


def test_openapi_document(api):
    resp = api.get("/artifacts/openapi.json")
    assert resp.status_code == 200
    doc = resp.json
    assert doc["openapi"].startswith("3.1")
    paths = doc["paths"]
    for path, methods in {
            "/artifacts/{type_name}": {"get", "post"},
            "/artifacts/{type_name}/{artifact_id}": {"get", "patch",
                                                     "delete"},
            "/artifacts/{type_name}/{artifact_id}/actions/activate":
                {"post"},
            "/artifacts/{type_name}/{artifact_id}/{field}":
                {"get", "put", "delete"},
            "/artifacts/{type_name}/{artifact_id}/{field}/{path}":
                {"get", "put", "delete"},
            "/artifacts/{type_name}/{artifact_id}/members": {"get", "post"},
            "/artifacts/{type_name}/{artifact_id}/members/{member}":
                {"get", "put", "delete"},
            "/artifacts/schemas": {"get"},
            "/artifacts/schemas/{type_name}": {"get"}}.items():
        assert methods <= set(paths[path]), path
    patch = paths["/artifacts/{type_name}/{artifact_id}"]["patch"]
    assert "application/json-patch+json" in patch["requestBody"]["content"]
    put = paths["/artifacts/{type_name}/{artifact_id}/{field}"]["put"]
    assert "application/octet-stream" in put["requestBody"]["content"]
    listing = paths["/artifacts/{type_name}"]
    type_param = [p for p in listing["parameters"]
                  if p["name"] == "type_name"][0]
    assert "all" in type_param["schema"]["enum"]
    assert {"limit", "marker", "sort", "version", "tags"} <= {
        p["name"] for p in listing["get"]["parameters"]}
    # Links from a created artifact to what can be done with it.
    links = listing["post"]["responses"]["201"]["links"]
    assert links["show"]["parameters"]["artifact_id"] == \
        "$response.body#/id"
    for link in links.values():
        ref = link["operationRef"].split("/")
        path = ref[2].replace("~1", "/").replace("~0", "~")
        assert ref[3] in paths[path], link
    # Errors are documented with the API's one error format.
    error = doc["components"]["schemas"]["Error"]
    assert error["properties"]["error"]
    assert not any(p.startswith("/v2") for p in paths)


def test_docs_page(api):
    resp = api.get("/artifacts/docs")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    assert b"/artifacts/openapi.json" in resp.data



def test_docs_page_uses_no_cdn(api):
    page = api.get("/artifacts/docs").get_data(as_text=True)
    assert "docs/assets/swagger-ui-bundle.js" in page
    assert "docs/assets/swagger-ui.css" in page
    assert "//" not in page.replace("<!--", "").split("<body>")[0] \
        .replace("http-equiv", "")


def test_docs_assets_are_served_from_the_installed_bundle(api):
    js = api.get("/artifacts/docs/assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and "javascript" in js.mimetype
    assert len(js.data) > 100_000
    css = api.get("/artifacts/docs/assets/swagger-ui.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    for name in ("nope.js", "../__init__.py", "..%2f__init__.py"):
        assert api.get("/artifacts/docs/assets/" + name).status_code == 404
