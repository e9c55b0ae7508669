"""Schemathesis against a running Glare's Artifact API (not a test module).

``run(url, max_examples)`` seeds a few artifacts (every type, every
status, data in blobs and folders, a shared one with a member) so that
generated requests reach real artifacts and not only 404s, writes a
schemathesis config whose dictionaries offer their ids, fields, paths and
members, and runs the schemathesis CLI on ``<url>/artifacts/openapi.json``
checking only ``not_a_server_error``.  Returns ``(exit status, output)``.

``python -m tests.integration.artifact_fuzz [--url URL] [--max-examples N]
[-- extra schemathesis args]`` does the same from the command line; with
no ``--url`` it starts a Glare of its own on SQLite (``make fuzz``).
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import uuid

import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
OCTETS = {"Content-Type": "application/octet-stream"}


def _check(resp, *ok):
    assert resp.status_code in ok, (resp.status_code, resp.text[:300])
    return resp


def seed(url):
    """Create artifacts in every state; returns what the config offers."""
    s = requests.Session()
    api = url + "/artifacts"
    ids, fields, paths = [], set(), ["a.txt", "dir/b.txt", "x"]
    schemas = _check(s.get(api + "/schemas", timeout=30), 200).json()
    for type_name, schema in schemas["schemas"].items():
        art = _check(s.post("%s/%s" % (api, type_name), timeout=30, json={
            "name": "fuzz-seed-%s" % uuid.uuid4().hex[:8],
            "version": "1.0.0", "visibility": "shared"}), 201).json()
        ids.append(art["id"])
        for name, prop in schema["properties"].items():
            if prop.get("glareType") in ("Blob", "Folder"):
                fields.add(name)
        _check(s.post("%s/%s/%s/members" % (api, type_name, art["id"]),
                      json={"member": "fuzz-member"}, timeout=30), 201)
    # files: every status, with data.
    for status in ("drafted", "active", "deactivated"):
        art = _check(s.post(api + "/files", json={
            "name": "fuzz-%s-%s" % (status, uuid.uuid4().hex[:6])},
            timeout=30), 201).json()
        base = "%s/files/%s" % (api, art["id"])
        _check(s.put(base + "/file", data=b"0123456789", headers=OCTETS,
                     timeout=30), 200)
        for path in paths:
            _check(s.put(base + "/files/" + path, data=b"data",
                         headers=OCTETS, timeout=30), 200)
        if status != "drafted":
            _check(s.post(base + "/actions/activate", timeout=30), 200)
        if status == "deactivated":
            _check(s.post(base + "/actions/deactivate", timeout=30), 200)
        ids.append(art["id"])
    return {"ids": ids, "fields": sorted(fields), "paths": paths,
            "members": ["fuzz-member"]}


def _toml_list(values):
    return "[%s]" % ", ".join('"%s"' % v for v in values)


def config_text(seeded):
    return "\n".join([
        "[dictionaries.artifact_ids]",
        "values = %s" % _toml_list(seeded["ids"]),
        "[dictionaries.fields]",
        "values = %s" % _toml_list(seeded["fields"]),
        "[dictionaries.paths]",
        "values = %s" % _toml_list(seeded["paths"]),
        "[dictionaries.types]",
        'values = ["files"]',
        "[dictionaries.members]",
        "values = %s" % _toml_list(seeded["members"]),
        "[parameters]",
        '"path.type_name" = { dictionary = "types", probability = 0.5 }',
        '"path.artifact_id" = { dictionary = "artifact_ids", '
        'probability = 0.8 }',
        '"path.field" = { dictionary = "fields", probability = 0.7 }',
        '"path.path" = { dictionary = "paths", probability = 0.5 }',
        '"path.member" = { dictionary = "members", probability = 0.5 }',
        ""])


def run(url, max_examples=20, extra=(), workdir=None, timeout=600):
    seeded = seed(url)
    workdir = pathlib.Path(workdir or tempfile.mkdtemp(prefix="fuzz-"))
    config = workdir / "schemathesis.toml"
    config.write_text(config_text(seeded))
    cli = pathlib.Path(sys.executable).with_name("schemathesis")
    command = [str(cli), "--config-file", str(config), "run",
               url + "/artifacts/openapi.json", "--url", url,
               "--checks", "not_a_server_error",
               "--max-examples", str(max_examples), "--no-color",
               "--report-dir", str(workdir / "report"), *extra]
    proc = subprocess.run(command, cwd=workdir, capture_output=True,
                          text=True, timeout=timeout,
                          env=dict(os.environ, SCHEMATHESIS_HOOKS=""))
    return proc.returncode, proc.stdout + proc.stderr


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url")
    parser.add_argument("--max-examples", type=int, default=20)
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args(argv)
    if args.url:
        code, output = run(args.url, args.max_examples, args.extra)
        print(output)
        return code
    sys.path.insert(0, str(ROOT))
    from tests.conftest import database_url, glare_server
    with tempfile.TemporaryDirectory(prefix="glare-fuzz-") as tmp:
        tmp = pathlib.Path(tmp)
        with database_url("sqlite", tmp) as db_url:
            with glare_server(tmp, db_url) as server:
                code, output = run(server.url, args.max_examples,
                                   args.extra, workdir=tmp)
                print(output)
                errors = [line for line in server.log_text().splitlines()
                          if "Traceback" in line or " ERROR " in line]
                if errors:
                    print("Server log errors:\n" + "\n".join(errors[:20]))
    return code


if __name__ == "__main__":
    sys.exit(main())
