#!/usr/bin/env python3
"""Summarises the skipped tests of one ctest run from its JUnit file.

usage: ctest_skips.py JUNIT-XML TITLE [MUST-RUN-AS-ROOT-REGEX]

Prints how many tests were skipped and, for each, why: the test's "SKIP: ..."
line (the convention of tests that exit 77), else its last line of output.
When running as root (uid 0), exits 3 if a skipped test's name matches the
regular expression: those tests (the e2e ones, the network-namespace ones)
skip only for want of root, so a skip there means CI did not test them.
"""
import os
import re
import sys
import xml.etree.ElementTree as ElementTree


def reason(testcase):
    out = (testcase.findtext("system-out") or "").splitlines()
    for line in reversed(out):
        if line.strip().startswith("SKIP"):
            return line.strip()
    for line in reversed(out):
        if line.strip():
            return f"(no SKIP line; last output) {line.strip()}"
    skipped = testcase.find("skipped")
    return skipped.get("message", "no output") if skipped is not None else "no output"


def main():
    junit, title = sys.argv[1], sys.argv[2]
    must_run = re.compile(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else None
    if not os.path.exists(junit):
        print(f"{title}: no test report ({junit}); skipped tests unknown")
        return 0
    root = ElementTree.parse(junit).getroot()
    skipped = [t for t in root.iter("testcase") if t.find("skipped") is not None]
    total = len(list(root.iter("testcase")))
    print(f"{title}: {len(skipped)} of {total} tests skipped")
    for testcase in skipped:
        print(f"  {testcase.get('name')}: {reason(testcase)}")
    if must_run is None or os.geteuid() != 0:
        return 0
    wrong = [t.get("name") for t in skipped if must_run.search(t.get("name", ""))]
    if wrong:
        print(f"{title}: FAILED: running as root, yet {len(wrong)} test(s) that need only root "
              f"were skipped (they test nothing): {', '.join(wrong)}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
