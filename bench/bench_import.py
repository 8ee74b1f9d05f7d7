"""How fast `haru import` prepares photos, and how much memory it needs.

Run: python bench/bench_import.py [--big 50] [--small 200]
Prints a Markdown table. Fixtures are made, and each case is run, in a fresh child process, so
each row's peak RSS is that import's own high-water mark (Python + Pillow alone is the first row).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from tasks.importing import ImportReport, PreparedItem, import_path


class MemorySink:
    """Keeps only content keys, so the sink's own memory does not hide the importer's."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.jpeg_bytes = 0

    async def add_items(self, project_id: int, items: Sequence[PreparedItem]) -> tuple[int, int]:
        new = [item for item in items if item.content_key not in self.keys]
        self.keys.update(item.content_key for item in new)
        self.jpeg_bytes += sum(len(getattr(item, "jpeg", b"")) for item in new)
        return len(new), len(items) - len(new)


def photo(size: tuple[int, int], seed: int) -> bytes:
    """A photo-like JPEG: noise over a gradient, so it compresses and decodes like a real one."""
    small = (size[0] // 10, size[1] // 10)
    noise = Image.effect_noise(small, 40 + seed % 20).resize(size, Image.Resampling.BILINEAR)
    gradient = Image.linear_gradient("L").rotate(seed * 7).resize(size)
    image = Image.merge("RGB", (noise, gradient, noise.point(lambda v: 255 - v)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def make_folder(root: Path, count: int, size: tuple[int, int]) -> Path:
    root.mkdir()
    for index in range(count):
        (root / f"IMG_{index:04}.jpg").write_bytes(photo(size, index))
    return root


def make_fixtures(temp: Path, big: int, small: int) -> None:
    make_folder(temp / "empty", 0, (1, 1))
    make_folder(temp / "big", big, (4000, 3000))
    small_folder = make_folder(temp / "small", small, (800, 600))
    with zipfile.ZipFile(temp / "small.zip", "w", zipfile.ZIP_STORED) as archive:
        for file in sorted(small_folder.iterdir()):  # stored: JPEGs do not deflate
            archive.write(file, file.name)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def measure(case: str, path: Path, files: int) -> str:
    sink = MemorySink()
    start = time.perf_counter()
    report: ImportReport = await import_path(sink, 1, path)
    seconds = time.perf_counter() - start
    assert report.imported == files and not report.rejected, report
    rate = files / seconds if seconds else 0.0
    average_kb = sink.jpeg_bytes / max(1, report.imported) / 1024
    cells = [
        case,
        files,
        f"{seconds:.2f}",
        f"{rate:.1f}",
        f"{average_kb:.0f}",
        f"{peak_rss_mb():.0f}",
    ]
    return "| " + " | ".join(map(str, cells)) + " |"


def child(*args: object) -> str:
    command = [sys.executable, __file__, *map(str, args)]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--big", type=int, default=50, help="number of 4000x3000 photos")
    parser.add_argument("--small", type=int, default=200, help="number of 800x600 photos")
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--case", nargs=3, metavar=("NAME", "PATH", "FILES"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.make:
        make_fixtures(args.make, args.big, args.small)
    elif args.case:
        name, path, files = args.case
        print(asyncio.run(measure(name, Path(path), int(files))))
    else:
        with tempfile.TemporaryDirectory() as temp:
            child("--make", temp, "--big", args.big, "--small", args.small)
            print("| case | files | seconds | files/s | avg JPEG KB | peak RSS MB |")
            print("|---|---:|---:|---:|---:|---:|")
            for name, entry, files in [
                ("empty folder (baseline)", "empty", 0),
                ("800x600 JPEG folder", "small", args.small),
                ("800x600 JPEG zip", "small.zip", args.small),
                ("4000x3000 JPEG folder", "big", args.big),
            ]:
                print(child("--case", name, Path(temp, entry), files))


if __name__ == "__main__":
    main()
