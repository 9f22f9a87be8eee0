#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Adds up the individual test cases of a `make check` run from its logs:
cmocka's "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)" lines and
pytest's closing line, and prints one "N passed, N failed, N skipped" line."""
import glob
import os
import re
import sys

build = sys.argv[1] if len(sys.argv) > 1 else "."
passed = failed = skipped = 0
for log in sorted(glob.glob(os.path.join(build, "tests", "*.log"))):
    if log.endswith("test-suite.log"):
        continue
    text = open(log, errors="replace").read()
    m = re.findall(r"^\[  PASSED  \] (\d+) test", text, re.M)
    if m:
        passed += sum(map(int, m))
        failed += sum(map(int, re.findall(r"^\[  FAILED  \] (\d+) test",
                                          text, re.M)))
        skipped += sum(map(int, re.findall(r"^\[  SKIPPED \] (\d+) test",
                                           text, re.M)))
        continue
    m = re.search(r"^=*\s*(.*\b(?:passed|failed|skipped|error)\b.*) in "
                  r"[\d.]+s", text, re.M)
    if m:
        for n, what in re.findall(r"(\d+) (passed|failed|skipped|errors?)",
                                  m.group(1)):
            n = int(n)
            if what == "passed":
                passed += n
            elif what == "skipped":
                skipped += n
            else:
                failed += n
        continue
    trs = log[:-4] + ".trs"
    if os.path.exists(trs):
        res = open(trs).read()
        if ":test-result: PASS" in res:
            passed += 1
        elif ":test-result: SKIP" in res:
            skipped += 1
        else:
            failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
