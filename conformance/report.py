"""docs/compatibility.md from the conformance suite's results on both sides.

::

    python -m conformance.report --glance glance.xml --glare glare.xml \\
        --output docs/compatibility.md
    python -m conformance.report --check docs/compatibility.md \\
        [--glare glare.xml] [--glance glance.xml]

The inputs are pytest ``--junitxml`` files of one run against a real Glance
(``--server-kind glance``) and one against Glare.  Every test of the suite
gets a row: the Glance behaviour it pins (its docstring), its result on each
side, and a status:

* **matches Glance** - passes on both sides;
* **deliberate difference** - marked ``glance_deviation``: real Glance is
  knowingly wrong there, the test pins the correct behaviour, Glare passes;
* **not yet** - marked ``glare_not_yet``, or skipped on Glare because Glare
  does not offer the feature while Glance passes;
* **n/a** - an optional feature neither endpoint offers (skipped on both).

``--check`` regenerates the rows from the current tests (and from result
files when given) and fails if the committed document differs, so the
document cannot drift from the suite.
"""

import argparse
import collections
import difflib
import importlib
import inspect
import os
import pkgutil
import re
import sys
import warnings
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOC = os.path.join(ROOT, "docs", "compatibility.md")

MODULES = [
    ("test_versions", "Version discovery"),
    ("test_images_crud", "Image records: create, show, delete"),
    ("test_list", "Image list: filters, sorting, paging"),
    ("test_patch", "PATCH (both json-patch media types)"),
    ("test_data", "Image data: upload, download, ranges"),
    ("test_tags_actions", "Tags and deactivate/reactivate"),
    ("test_members", "Sharing (members)"),
    ("test_schemas", "Schemas"),
    ("test_errors", "Errors, routing, request ids"),
    ("test_import", "Discovery and interoperable import"),
    ("test_metadefs", "Metadata definitions: namespaces, schemas, "
                      "visibility, policy, protection"),
    ("test_metadefs_contents", "Metadata definitions: objects, properties, "
                               "tags, resource types"),
    ("test_stores", "Several stores: discovery, upload, copy, delete "
                    "(multi-store run)"),
    ("test_locations", "Locations and direct_url (multi-store run)"),
    ("test_cache", "Image cache and /v2/cache (cache run)"),
    ("test_property_protections", "Property protections (property "
                                  "protections run)"),
    ("test_tasks", "Tasks and web-download"),
]

# Modules run only in the multi-store configuration (conformance.run
# --multi-store); the single-store run skips them, and such skips are not
# results (parse_junit leaves them out, check() does not expect them).
MULTI_STORE_MODULES = ("test_stores", "test_locations")
MULTI_STORE_SKIP = "not multi-store:"
# Likewise the cache module, run only with an image cache (--cache).
CACHE_MODULES = ("test_cache",)
CACHE_SKIP = "no image cache:"
# And the property protection module (--property-protections).
PROTECTION_MODULES = ("test_property_protections",)
PROTECTIONS_SKIP = "no property protections:"
MODE_SKIPS = (MULTI_STORE_SKIP, CACHE_SKIP, PROTECTIONS_SKIP)

MATCHES = "matches Glance"
DELIBERATE = "deliberate difference"
NOT_YET = "not yet"
NA = "n/a (not offered)"
FAILING = "FAILING"

# The API surface: every Glance v2 route, and which tests cover it.  A
# route without tests is an optional Glance feature Glare does not offer.
ROUTES = [
    ("GET /versions, GET / (300), /v2.N/... negotiation",
     ["test_versions"]),
    ("POST /v2/images", ["test_images_crud::test_create",
                         "test_images_crud::test_default",
                         "test_images_crud::test_owner",
                         "test_images_crud::test_id",
                         "test_images_crud::test_extra",
                         "test_images_crud::test_unicode",
                         "test_images_crud::test_non_string",
                         "test_images_crud::test_property",
                         "test_images_crud::test_name",
                         "test_images_crud::test_invalid",
                         "test_images_crud::test_negative",
                         "test_images_crud::test_wrong",
                         "test_images_crud::test_read_only",
                         "test_images_crud::test_multihash",
                         "test_images_crud::test_reserved",
                         "test_images_crud::test_custom",
                         "test_images_crud::test_admin",
                         "test_images_crud::test_reader_cannot_create",
                         "test_images_crud::test_member"]),
    ("GET /v2/images", ["test_list"]),
    ("GET /v2/images/{id}", ["test_images_crud::test_show",
                             "test_images_crud::test_list_path",
                             "test_images_crud::test_other",
                             "test_images_crud::test_project",
                             "test_images_crud::test_public",
                             "test_images_crud::test_community",
                             "test_images_crud::test_image_without"]),
    ("PATCH /v2/images/{id}", ["test_patch"]),
    ("DELETE /v2/images/{id}", ["test_images_crud::test_delete",
                                "test_images_crud::test_reader_cannot_delete",
                                "test_images_crud::test_admin_sees"]),
    ("PUT /v2/images/{id}/file", ["test_data::test_upload",
                                  "test_data::test_raw",
                                  "test_data::test_default",
                                  "test_data::test_chunked",
                                  "test_data::test_zero",
                                  "test_data::test_qcow2",
                                  "test_data::test_format",
                                  "test_data::test_rejected",
                                  "test_data::test_non_bare"]),
    ("GET /v2/images/{id}/file (200/204/206)",
     ["test_data::test_download", "test_data::test_public",
      "test_data::test_community", "test_data::test_reader",
      "test_data::test_head", "test_data::test_deleted",
      "test_data::test_range", "test_data::test_unsatisfiable",
      "test_data::test_zero_suffix", "test_data::test_multiple",
      "test_data::test_legacy", "test_data::test_no_accept"]),
    ("PUT/DELETE /v2/images/{id}/tags/{tag}",
     ["test_tags_actions::test_add", "test_tags_actions::test_tag",
      "test_tags_actions::test_delete", "test_tags_actions::test_non_ascii",
      "test_tags_actions::test_get_tag"]),
    ("POST /v2/images/{id}/actions/deactivate|reactivate",
     ["test_tags_actions::test_deactivate", "test_tags_actions::test_react",
      "test_tags_actions::test_action", "test_tags_actions::test_reader",
      "test_tags_actions::test_other", "test_tags_actions::test_non_owner",
      "test_tags_actions::test_admin", "test_tags_actions::test_unknown",
      "test_tags_actions::test_get_action"]),
    ("POST/GET /v2/images/{id}/members, GET/PUT/DELETE .../members/{m}",
     ["test_members"]),
    ("GET /v2/schemas/image, images, member, members",
     ["test_schemas::test_image", "test_schemas::test_custom",
      "test_schemas::test_member", "test_schemas::test_members",
      "test_schemas::test_schemas", "test_schemas::test_unknown",
      "test_schemas::test_schema_other"]),
    ("GET /v2/schemas/task, tasks", ["test_schemas::test_task",
                                     "test_tasks::test_task_schema",
                                     "test_tasks::test_tasks_schema"]),
    ("GET /v2/schemas/metadefs/*", ["test_schemas::test_metadef",
                                     "test_metadefs::test_metadef_"]),
    ("GET /v2/info/import, /v2/info/stores, /v2/info/usage",
     ["test_import::test_info", "test_import::test_import_methods",
      "test_stores::test_info_stores_lists", "test_stores::test_multi",
      "test_stores::test_store_ids"]),
    ("PUT /v2/images/{id}/stage, POST /v2/images/{id}/import",
     ["test_import::test_stage", "test_import::test_glance_direct",
      "test_import::test_import", "test_import::test_bad_import",
      "test_import::test_delete_staged", "test_import::test_web",
      "test_stores::test_stage", "test_stores::test_glance_direct",
      "test_tasks::test_web_download"]),
    ("PUT /v2/images/{id}/file to a store (X-Image-Meta-Store)",
     ["test_stores::test_upload"]),
    ("POST /v2/images/{id}/import copy-image (multi-store)",
     ["test_stores::test_copy"]),
    ("locations/direct_url in image bodies, PATCH /locations",
     ["test_locations::test_locations_and", "test_locations::test_image",
      "test_locations::test_add_file", "test_locations::test_add_unusable",
      "test_locations::test_validation", "test_locations::test_location",
      "test_locations::test_replace", "test_locations::test_remove",
      "test_locations::test_add_location_checks",
      "test_locations::test_add_location_position",
      "test_locations::test_new_validation",
      "test_locations::test_a_refused"]),
    ("Error bodies, 405/501 routing, request ids, CORS",
     ["test_errors"]),
    ("GET /v2/images/{id}/tasks (v2.12)", ["test_tasks::test_image_tasks"]),
    ("/v2/tasks (deprecated tasks API)",
     ["test_tasks::test_tasks_api", "test_tasks::test_task_list",
      "test_tasks::test_task_create", "test_tasks::test_missing_task",
      "test_tasks::test_task_delete", "test_tasks::test_task_collection"]),
    ("/v2/metadefs/* (metadata definitions)",
     ["test_metadefs", "test_metadefs_contents"]),
    ("/v2/cache* (cache API, v2.14+), downloads from the cache",
     ["test_cache"]),
    ("POST/GET /v2/images/{id}/locations (v2.17)",
     ["test_locations::test_get_locations",
      "test_locations::test_add_location_api"]),
    ("DELETE /v2/stores/{store}/{id}, /v2/info/stores/detail (multi-store)",
     ["test_stores::test_delete", "test_stores::test_store_route",
      "test_stores::test_info_stores_detail"]),
]

HEADER = """\
# Glare and Glance: compatibility of the Image API v2

This page is **generated** by `conformance/report.py` from the results of
the conformance suite (`conformance/`) run against a real Glance and
against Glare; only this introduction is written by hand.  Regenerate it
with `make compatibility-doc` after changing the suite or either server
(`make compatibility-doc-glare` reruns only Glare and keeps the Glance
column); `make test` (tests/integration/test_conformance.py) fails when it
no longer matches the tests or the servers' results.

**How the two sides run.**  Real Glance 33 (PyPI) with its own
`glance-manage db_sync` on SQLite, the filesystem store, no cache, single
store, Glance's default import methods (`glance-direct`, `web-download`,
`copy-image`) and default policies, served by uWSGI (2 processes,
chunked-input limit raised) through a paste pipeline where Glance's stock
`context` filter stands where `authtoken context` stands in the keystone
flavor (`conformance/glance_runner.py`).  Glare runs with its defaults on
SQLite (`conformance/run.py`).  Both see the same identities: trusted
keystonemiddleware headers for an admin, a member and a reader of project A
and a member of project B.

**The multi-store checks** (`test_stores.py`, `test_locations.py`) run in
a second pass on each side with the same multi-store configuration
(`python -m conformance.run glance|glare --multi-store`: filesystem stores
`fast`, the default, and `cold`, `show_multiple_locations` and
`show_image_direct_url` on, `glance-direct` and `copy-image`, an image
location quota of 2; see `conformance/glance_runner.py`); the single-store
pass skips them and that skip is not a result.  Until Glare accepts
`enabled_import_methods = [glance-direct,copy-image]` (it refuses to start
with it today), its multi-store column comes from a run with
`enabled_import_methods = glance-direct` and otherwise the same text.

**The cache checks** (`test_cache.py`) run in a third pass on each side
with `image_cache_dir` set (`python -m conformance.run glance|glare
--cache`; the other cache options at their defaults, so
`image_cache_driver` is `centralized_db`, each node named by
`worker_self_reference_url` (its own URL), and Glance's paste pipeline with
the `cache` filter); the other passes skip them and that skip is not a
result.

**The property protection checks** (`test_property_protections.py`) run in
a fourth pass on each side with the same property protection file, roles
format (`python -m conformance.run glance|glare --property-protections`;
the file is `PROPERTY_PROTECTIONS` in `conformance/glance_runner.py`).

**What "status" means.**

* *matches Glance*: the test passes on both servers.
* *deliberate difference*: real Glance is knowingly wrong here (the test is
  marked `glance_deviation` and is an expected failure on Glance); the test
  pins the correct behaviour and Glare passes it.  The reasons are listed
  below.
* *not yet*: Glare does not do this yet (marked `glare_not_yet`, or the
  feature is not offered by Glare and the test skips there while Glance
  passes).
* *n/a*: an optional feature neither server offered in this run.

**Deliberately not compared.**  The exact list of version ids (Glare
advertises only the minor versions whose features it implements; tests
check the document's structure and that every advertised id routes), the
prose `description` of schema properties, and configuration-dependent
limits (quotas, `image_size_cap`).

"""


# ------------------------------------------------------------------ tests


class TestInfo:
    def __init__(self, module, name, doc, deviation, not_yet):
        self.module = module
        self.name = name
        self.doc = doc
        self.deviation = deviation
        self.not_yet = not_yet

    @property
    def key(self):
        return "%s::%s" % (self.module, self.name)


def _marker_reason(func, name):
    for mark in getattr(func, "pytestmark", []):
        if mark.name == name:
            return mark.args[0] if mark.args else mark.kwargs.get("reason",
                                                                  "")
    return None


def _one_line(text):
    return re.sub(r"\s+", " ", (text or "").strip())


def collect_tests():
    """Every test function of the suite, in file order."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    known = {m for m, _ in MODULES}
    found = {name for _, name, _ in pkgutil.iter_modules([HERE])
             if name.startswith("test_")}
    missing = found - known
    if missing:
        raise SystemExit("report.py: add %s to MODULES" % sorted(missing))
    tests = []
    for module_name, _ in MODULES:
        with warnings.catch_warnings():
            # The suite's markers are registered by its conftest, which is
            # not loaded when another pytest session imports the modules.
            warnings.simplefilter("ignore")
            module = importlib.import_module("conformance." + module_name)
        funcs = [f for n, f in vars(module).items()
                 if n.startswith("test_") and inspect.isfunction(f)]
        funcs.sort(key=lambda f: f.__code__.co_firstlineno)
        for func in funcs:
            tests.append(TestInfo(
                module_name, func.__name__, _one_line(func.__doc__),
                _marker_reason(func, "glance_deviation"),
                _marker_reason(func, "glare_not_yet")))
    return tests


# ---------------------------------------------------------------- results


def parse_junit(paths):
    """{"module::test": Counter(outcome)} from pytest junit xml files (one
    path or several: a single-store and a multi-store run of one server).
    A multi-store check skipped for want of that configuration is left
    out: it was not run, it has no result."""
    if not paths:
        return None
    if isinstance(paths, str):
        paths = [paths]
    results = collections.defaultdict(collections.Counter)
    for path in paths:
        for case in ET.parse(path).getroot().iter("testcase"):
            module = case.get("classname", "").rsplit(".", 1)[-1]
            name = case.get("name", "").split("[", 1)[0]
            outcome = "pass"
            for child in case:
                if child.tag in ("failure", "error"):
                    outcome = "FAIL"
                elif child.tag == "skipped":
                    outcome = ("xfail" if child.get("type") == "pytest.xfail"
                               else "skip")
                    if any(mark in (child.get("message") or "")
                           for mark in MODE_SKIPS):
                        outcome = None
            if outcome:
                results["%s::%s" % (module, name)][outcome] += 1
    return results


def _cell(counter):
    if not counter:
        return "-"
    order = ["pass", "xfail", "skip", "FAIL"]
    parts = []
    for outcome in order:
        n = counter.get(outcome)
        if n:
            parts.append(outcome if n == 1 else "%s x%d" % (outcome, n))
    return ", ".join(parts)


def status_of(test, glance, glare):
    """The row's status from the markers and (when known) the results."""
    g = glance.get(test.key) if glance is not None else None
    l = glare.get(test.key) if glare is not None else None
    if (g and g.get("FAIL")) or (l and l.get("FAIL")):
        return FAILING
    if test.not_yet:
        return NOT_YET
    if test.deviation:
        return DELIBERATE
    if l is not None and g is not None:
        glare_skipped = not l.get("pass") and l.get("skip")
        glance_skipped = not g.get("pass") and g.get("skip")
        if glare_skipped and glance_skipped:
            return NA
        if glare_skipped:
            return NOT_YET
    return MATCHES


def _esc(text):
    """Table-cell safe: no column breaks, no text taken for HTML tags."""
    return (text.replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace("|", "\\|"))


def _route_tests(tests, patterns):
    chosen = []
    for test in tests:
        for pattern in patterns:
            if "::" in pattern:
                if test.key.startswith(pattern):
                    chosen.append(test)
                    break
            elif test.module == pattern:
                chosen.append(test)
                break
    return chosen


def render(tests, glance, glare):
    """The whole document."""
    statuses = {t.key: status_of(t, glance, glare) for t in tests}
    out = [HEADER]

    # Summary.
    counts = collections.Counter(statuses.values())
    out.append("## Summary\n")
    out.append("%d checks (test functions; parametrised ones count once): "
               "%s.\n" % (len(tests), ", ".join(
                   "%d %s" % (counts[s], s) for s in
                   (MATCHES, DELIBERATE, NOT_YET, NA, FAILING)
                   if counts[s])))
    for label, results in (("Glance", glance), ("Glare", glare)):
        if results is None:
            continue
        total = collections.Counter()
        for counter in results.values():
            total.update(counter)
        out.append("* %s run: %s test cases.\n" % (label, ", ".join(
            "%d %s" % (total[o], o) for o in ("pass", "xfail", "skip",
                                               "FAIL") if total[o])))
    out.append("\n")

    # API surface.
    out.append("## API surface\n\n")
    out.append("| Route or behaviour | Status in Glare | Checks |\n")
    out.append("|---|---|---|\n")
    for route, patterns in ROUTES:
        chosen = _route_tests(tests, patterns)
        if not chosen:
            out.append("| %s | not yet (not offered; no checks) | 0 |\n"
                       % _esc(route))
            continue
        kinds = collections.Counter(statuses[t.key] for t in chosen)
        parts = ["%d %s" % (kinds[s], s) for s in
                 (MATCHES, DELIBERATE, NOT_YET, NA, FAILING) if kinds[s]]
        if kinds[FAILING]:
            overall = FAILING
        elif kinds[MATCHES] == 0 and kinds[DELIBERATE] == 0:
            overall = NOT_YET if kinds[NOT_YET] else NA
        elif kinds[NOT_YET]:
            overall = "partly (%s)" % ", ".join(parts)
        elif kinds[DELIBERATE]:
            overall = "matches, with deliberate differences"
        else:
            overall = MATCHES
        out.append("| %s | %s | %s |\n" % (_esc(route), overall,
                                             ", ".join(parts)))
    out.append("\n")

    # Reasons.
    out.append("## Deliberate differences (known Glance deviations)\n\n")
    out.append("Real Glance fails these tests on purpose (strict xfail); "
               "Glare does what the test pins.\n\n")
    for test in tests:
        if test.deviation:
            out.append("* `%s` - %s\n" % (test.key, _one_line(
                test.deviation)))
    out.append("\n## Not yet in Glare\n\n")
    for test in tests:
        if test.not_yet:
            out.append("* `%s` - %s\n" % (test.key, _one_line(test.not_yet)))
        elif statuses[test.key] == NOT_YET:
            out.append("* `%s` - skipped on Glare: the feature is not "
                       "offered.\n" % test.key)
    out.append("\n")

    # Every check.
    out.append("## Every check\n")
    for module, title in MODULES:
        out.append("\n### %s (`conformance/%s.py`)\n\n" % (title, module))
        out.append("| Check | Glance behaviour pinned | Glance | Glare | "
                   "Status |\n")
        out.append("|---|---|---|---|---|\n")
        for test in tests:
            if test.module != module:
                continue
            g = _cell(glance.get(test.key)) if glance is not None else "?"
            l = _cell(glare.get(test.key)) if glare is not None else "?"
            out.append("| `%s` | %s | %s | %s | %s |\n" % (
                test.name, _esc(test.doc), g, l, statuses[test.key]))
    return "".join(out)


# -------------------------------------------------------------- checking


ROW = re.compile(r"^\| `(test_\w+)` \| (.*) \| ([^|]*) \| ([^|]*) \| "
                 r"([^|]*) \|$")


def parse_doc(text):
    """{"module::test": (doc, glance, glare, status)} from a document."""
    rows = {}
    module = None
    for line in text.splitlines():
        m = re.match(r"^### .*\(`conformance/(test_\w+)\.py`\)$", line)
        if m:
            module = m.group(1)
            continue
        m = ROW.match(line)
        if m and module:
            rows["%s::%s" % (module, m.group(1))] = (
                m.group(2), m.group(3).strip(), m.group(4).strip(),
                m.group(5).strip())
    return rows


def _uncell(cell):
    """Counter from a result cell ("pass x5, xfail"); None for "-"/"?"."""
    if cell in ("-", "?", ""):
        return None
    counter = collections.Counter()
    for part in cell.split(", "):
        outcome, _, n = part.partition(" x")
        counter[outcome] += int(n) if n else 1
    return counter


def results_from_doc(doc_path, column):
    """One side's results as recorded in an existing document (column 0:
    Glance, 1: Glare), to regenerate it when only the other side ran."""
    with open(doc_path) as f:
        rows = parse_doc(f.read())
    results = {}
    for key, (_, g_cell, l_cell, _) in rows.items():
        counter = _uncell((g_cell, l_cell)[column])
        if counter is not None:
            results[key] = counter
    return results


def check(doc_path, glance=None, glare=None):
    """Problems that make the committed document stale (empty: fine).

    Always: every test is listed, with its current docstring and the status
    its markers imply, and nothing else is listed.  With result files: the
    corresponding column equals the run's outcome.
    """
    tests = collect_tests()
    with open(doc_path) as f:
        rows = parse_doc(f.read())
    problems = []
    keys = {t.key for t in tests}
    for key in sorted(set(rows) - keys):
        problems.append("%s is in the document but not in the suite" % key)
    for test in tests:
        row = rows.get(test.key)
        if row is None:
            problems.append("%s is missing from the document" % test.key)
            continue
        doc, g_cell, l_cell, status = row
        if doc != _esc(test.doc):
            problems.append("%s: docstring changed" % test.key)
        if test.deviation and not test.not_yet and \
                status not in (DELIBERATE, FAILING):
            problems.append("%s: marked glance_deviation but listed as %r"
                            % (test.key, status))
        if test.not_yet and status not in (NOT_YET, FAILING):
            problems.append("%s: marked glare_not_yet but listed as %r"
                            % (test.key, status))
        if not test.deviation and status == DELIBERATE:
            problems.append("%s: listed as a deliberate difference but not "
                            "marked glance_deviation" % test.key)
        # A single-store run has no result for the multi-store checks.
        mode_only = test.module in (MULTI_STORE_MODULES + CACHE_MODULES +
                                    PROTECTION_MODULES)
        if glance is not None and _cell(glance.get(test.key)) != g_cell \
                and not (mode_only and test.key not in glance):
            problems.append("%s: Glance result is %s, document says %s"
                            % (test.key, _cell(glance.get(test.key)),
                               g_cell))
        if glare is not None and _cell(glare.get(test.key)) != l_cell \
                and not (mode_only and test.key not in glare):
            problems.append("%s: Glare result is %s, document says %s"
                            % (test.key, _cell(glare.get(test.key)),
                               l_cell))
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m conformance.report")
    parser.add_argument("--glance", action="append",
                        help="junit xml of a run on Glance (repeat for the "
                             "single-store and the multi-store run)")
    parser.add_argument("--glare", action="append",
                        help="junit xml of a run on Glare (repeatable)")
    parser.add_argument("--output", default=None,
                        help="write the document here (default: stdout)")
    parser.add_argument("--check", metavar="DOC", default=None,
                        help="verify DOC instead of writing a new one")
    parser.add_argument("--keep-glance", action="store_true",
                        help="take the Glance column from the existing "
                             "--output document (when only Glare was run "
                             "again); results of --glance files, if any, "
                             "replace those of the tests they ran (a new "
                             "check run on Glance alone)")
    args = parser.parse_args(argv)
    glance = parse_junit(args.glance)
    glare = parse_junit(args.glare)
    if args.keep_glance and args.output and os.path.exists(args.output):
        kept = results_from_doc(args.output, 0)
        kept.update(glance or {})
        glance = kept
    if args.check:
        problems = check(args.check, glance, glare)
        for problem in problems:
            print("stale: " + problem)
        if problems:
            print("Regenerate with: make compatibility-doc (or "
                  "compatibility-doc-glare when only Glare changed)")
            return 1
        print("%s matches the suite" % args.check)
        return 0
    text = render(collect_tests(), glance, glare)
    if args.output:
        old = ""
        if os.path.exists(args.output):
            with open(args.output) as f:
                old = f.read()
        with open(args.output, "w") as f:
            f.write(text)
        changed = sum(1 for line in difflib.unified_diff(
            old.splitlines(), text.splitlines(), n=0)
            if line[:1] in "+-") if old else 0
        print("wrote %s (%d changed lines)" % (args.output, changed))
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
