"""One closing line for the test runs `make test` makes (JUnit XML files from pytest)."""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def main(paths: list[str]) -> int:
    totals = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    for path in paths:
        if not Path(path).exists():
            print(f"test summary: {path} is missing: that run did not complete")
            totals["errors"] += 1
            continue
        for suite in ET.parse(path).getroot().iter("testsuite"):
            tests, failures = int(suite.get("tests", 0)), int(suite.get("failures", 0))
            errors, skipped = int(suite.get("errors", 0)), int(suite.get("skipped", 0))
            totals["passed"] += tests - failures - errors - skipped
            totals["failed"] += failures
            totals["errors"] += errors
            totals["skipped"] += skipped
    print("all runs: " + ", ".join(f"{n} {k}" for k, n in totals.items()))
    return 1 if totals["failed"] or totals["errors"] or not totals["passed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
