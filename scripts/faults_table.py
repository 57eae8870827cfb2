"""Print the fault suite's results (the JSON lines of FAULTS_REPORT) as the table of docs/reliability.md.

    FAULTS_REPORT=/tmp/faults.jsonl make faults && python scripts/faults_table.py /tmp/faults.jsonl
"""

from __future__ import annotations

import json
import sys


def row(result: dict) -> str:
    recovered = "never" if result["recover_seconds"] is None else f"{result['recover_seconds']:.1f} s"
    notes = f" ({result['notes']})" if result["notes"] else ""
    return (f"| {result['scenario']} | {result['backend']} | {result['events']:,} | {result['injected']}{notes} | "
            f"{result['lost']} | {result['repeats']} of {result['requests']:,} requests | ≤ {result['repeats_bound']} "
            f"| {recovered} |")


def main(path: str) -> None:
    with open(path) as lines:
        results = [json.loads(line) for line in lines if line.strip()]
    print("| scenario | backend | events | injected | lost | repeats | bound | recovered |")
    print("|---|---|---|---|---|---|---|---|")
    for result in results:
        print(row(result))


if __name__ == "__main__":
    main(sys.argv[1])
