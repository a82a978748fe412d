"""Every number the book publishes, in one file, so that a change meant to leave results
alone can be checked to have done so.

    python scripts/results_snapshot.py save before.json            # results/ and book/
    python scripts/results_snapshot.py save after.json
    python scripts/results_snapshot.py compare before.json after.json

A snapshot holds every `results/**/*.json` (wall-time records excluded) and, from every
executed chapter (`book/*.ipynb`, `results/*/chapters/*.ipynb`), each glued value and
each table it displays. `compare` lists what differs; numbers equal to 12 significant
digits count as equal (summation order may move the last digits)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
# wall times and what quotes them change with every run
SKIPPED = {"timings.json", "benchmarks.json", "performance.ipynb"}


def _chapter_values(path: Path) -> dict[str, str]:
    nb = nbformat.read(path, as_version=4)
    values, tables = {}, 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name and not any("image" in k for k in data):
                values[f"glue:{name}"] = data.get(
                    "application/papermill.record/text/plain"
                )
            elif "text/markdown" in data:
                tables += 1
                values[f"table:{tables}"] = data["text/markdown"]
    return values


def snapshot(root: Path) -> dict:
    files = {}
    for path in sorted((root / "results").rglob("*.json")):
        if path.name not in SKIPPED:
            files[path.relative_to(root).as_posix()] = json.loads(path.read_text())
    notebooks = [
        *(root / "book").glob("*.ipynb"),
        *(root / "results").glob("*/chapters/*.ipynb"),
    ]
    for path in sorted(notebooks):
        if path.name not in SKIPPED:
            files[path.relative_to(root).as_posix()] = _chapter_values(path)
    return files


def _close(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return (
            a == b
            or (math.isnan(a) and math.isnan(b))
            or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)
        )
    return a == b


def differences(a, b, where: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}/{k}: only before" for k in a.keys() - b.keys()]
        out += [f"{where}/{k}: only after" for k in b.keys() - a.keys()]
        for k in sorted(a.keys() & b.keys()):
            out += differences(a[k], b[k], f"{where}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b))
            for d in differences(x, y, f"{where}[{i}]")
        ]
    return [] if _close(a, b) else [f"{where}: {str(a)[:200]!r} -> {str(b)[:200]!r}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("save").add_argument("out")
    compare = commands.add_parser("compare")
    compare.add_argument("before")
    compare.add_argument("after")
    args = parser.parse_args()
    if args.command == "save":
        Path(args.out).write_text(json.dumps(snapshot(ROOT), sort_keys=True))
        return 0
    before, after = (json.loads(Path(p).read_text()) for p in (args.before, args.after))
    found = differences(before, after)
    print("\n".join(found) or "no differences")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
