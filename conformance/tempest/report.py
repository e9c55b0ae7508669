"""Summarise Tempest runs (``.cache/tempest/<kind>.json`` of
``conformance.tempest.run``): counts per server, and the tests that pass
against Glance but not against Glare (the ones that matter), as Markdown
for docs/tempest.md.

::

    python -m conformance.tempest.report .cache/tempest/glare.json \\
        [.cache/tempest/glance.json]
"""

import json
import os
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def _short(test):
    return test.replace("tempest.api.image.v2.", "")


def summary(runs):
    """Markdown: a counts table, then Glare's failures (marked when Glance
    passes them) and the tests only Glance fails or skips."""
    lines = ["| server | passed | failed | skipped | seconds |",
             "|---|---|---|---|---|"]
    for run in runs:
        counts = run["counts"]
        lines.append("| %s | %d | %d | %d | %d |" % (
            run["kind"], counts.get("passed", 0), counts.get("failed", 0),
            counts.get("skipped", 0), run["seconds"]))
    by_kind = {run["kind"]: run["tests"] for run in runs}
    glare, glance = by_kind.get("glare", {}), by_kind.get("glance")
    failed = sorted(t for t, (status, _) in glare.items()
                    if status == "failed")
    lines += ["", "Failing against Glare (%d):" % len(failed), ""]
    for test in failed:
        other = ""
        if glance is not None:
            other = " (Glance: %s)" % glance.get(test, ["absent"])[0]
        lines.append("- `%s`%s: %s" % (_short(test), other,
                                       glare[test][1] or "see the log"))
    if glance is not None:
        regressions = sorted(
            t for t, (status, _) in glance.items()
            if status == "passed" and glare.get(t, ["absent"])[0] != "passed")
        lines += ["", "Passing against Glance but not Glare: %d" %
                  len(regressions)]
        lines += ["- `%s` (Glare: %s)" % (_short(t), glare.get(
            t, ["absent"])[0]) for t in regressions]
    return "\n".join(lines) + "\n"


def main(argv=None):
    paths = [p for p in (argv if argv is not None else sys.argv[1:])
             if os.path.exists(p)]
    if not paths:
        print("no results; run `make tempest` first", file=sys.stderr)
        return 2
    sys.stdout.write(summary([load(p) for p in paths]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
