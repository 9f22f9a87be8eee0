#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Adds up the individual test cases of a `make check` run from its logs:
cmocka's "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)" lines and
pytest's closing line, and prints one "N passed, N failed, N skipped" line,
preceded by the name of every failing test case (CI shows only the tail of
the output)."""
import glob
import os
import re
import sys

build = sys.argv[1] if len(sys.argv) > 1 else "."
passed = failed = skipped = 0
names = []
for log in sorted(glob.glob(os.path.join(build, "tests", "*.log"))):
    if log.endswith("test-suite.log"):
        continue
    text = open(log, errors="replace").read()
    # pytest -q: "FAILED file.py::test - reason", "ERROR file.py::test";
    # cmocka: "[  FAILED  ] test_name" (the count line ends in "test(s)").
    names += re.findall(r"^(?:FAILED|ERROR) (\S+::\S+)", text, re.M)
    names += [os.path.basename(log)[:-4] + ": " + n for n in
              re.findall(r"^\[  FAILED  \] (?!\d+ test)(\S+)", text, re.M)]
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
for n in dict.fromkeys(names):
    print(f"failed: {n}")
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
