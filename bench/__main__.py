"""All of Haru's performance goals in one command: python -m bench [--quick] [--json PATH].
It exits with 1 when a goal is missed.

Each part runs in a fresh child process (its peak memory is its own), prints nothing until
done, and hands back figures; the table shows each figure with the floor measured in the
same run, the ratio the goal reads, the goal and the verdict. The JSON (default
bench/results/latest.json) holds the same, with the machine.

  tap          1-3: per tap against a bare PTB handler, Bot API calls per answer,
               throughput with 200 workers tapping at once           (bench/tap.py)
  scale        4: next item and save at 1k / 100k / 1M items, 10k workers; memory of
               `haru run`                                            (bench/scale.py)
  import       5: import pipeline against a bare Pillow loop         (bench/imports.py)
  aggregation  6: Dawid-Skene against crowd-kit (pip install -e '.[bench]')
                                                                     (bench/aggregation.py)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Figure, Section, machine

PARTS = ("tap", "scale", "import", "aggregation")
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def _child(part: str, quick: bool) -> list[Section]:
    """In the child process: run one part, return its sections."""
    if part == "tap":
        from bench.tap import sections

        return sections(quick)
    if part == "scale":
        from bench.scale import run
    elif part == "import":
        from bench.imports import run
    else:
        from bench.aggregation import run
    return [run(quick)]


def run_part(part: str, quick: bool) -> list[Section]:
    command = [sys.executable, "-m", "bench", "--child", part] + (["--quick"] if quick else [])
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        failed = Section(part, f"{part}: the benchmark failed (exit {done.returncode})")
        failed.notes = done.stderr.strip().splitlines()[-15:]
        failed.add(Figure("ran to the end", 0, "", goal="runs", ok=False))
        failed.seconds = time.perf_counter() - began
        return [failed]
    sections = [Section.from_json(s) for s in json.loads(done.stdout.strip().splitlines()[-1])]
    if sections and not any(s.seconds for s in sections):
        sections[0].seconds = time.perf_counter() - began
    return sections


def number(value: float | None) -> str:
    if value is None:
        return ""
    if value != value or value in (float("inf"), float("-inf")):  # nan, inf
        return str(value)
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def table(sections: list[Section]) -> list[str]:
    lines = ["| part | figure | value | floor | ratio | goal | verdict |",
             "|---|---|---:|---:|---:|---|---|"]
    for section in sections:
        for f in section.figures:
            ratio = f"{number(f.ratio)}x" if f.ratio is not None else ""
            lines.append(f"| {section.title} | {f.name} | {number(f.value)} {f.unit} | "
                         f"{number(f.floor)} | {ratio} | {f.goal} | {f.verdict} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: about a minute")
    parser.add_argument("--only", choices=PARTS, action="append",
                        help="run only this part (may be given more than once)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"default {RESULTS}")
    parser.add_argument("--child", choices=PARTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        found = _child(args.child, args.quick)
        print(json.dumps([s.to_json() for s in found]))
        return
    began = time.perf_counter()
    about = machine()
    print(f"# Haru benchmarks{' (--quick)' if args.quick else ''}\n")
    print(f"{about['cpus']} CPUs ({about['cpu']}), {about['platform']}; Python "
          f"{about['python']}, SQLite {about['sqlite']}, python-telegram-bot "
          f"{about['python-telegram-bot']}\n", flush=True)
    sections: list[Section] = []
    for part in args.only or PARTS:
        print(f"running {part} ...", file=sys.stderr, flush=True)
        found = run_part(part, args.quick)
        sections.extend(found)
        print(f"  {part}: {sum(s.seconds for s in found):.0f} s", file=sys.stderr, flush=True)
    print("\n".join(table(sections)))
    for section in sections:
        if section.notes:
            print(f"\n{section.title}:")
            for note in section.notes:
                print(f"    {note}")
    missed = [f"{s.key}: {f.name}" for s in sections for f in s.figures if f.ok is False]
    seconds = time.perf_counter() - began
    print(f"\n{sum(1 for s in sections for f in s.figures if f.ok)} goals met, "
          f"{len(missed)} missed; {seconds:.0f} s in all.")
    for name in missed:
        print(f"  MISSED {name}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "quick": args.quick,
        "seconds": round(seconds, 1), "machine": about,
        "sections": [s.to_json() for s in sections],
    }, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"(written to {args.json})")
    if missed:
        sys.exit(1)  # so a script or CI can tell


if __name__ == "__main__":
    main()
