"""Zip bombs and oversized zips are refused before anything in them is unpacked, by the CLI
and by the bot alike (tasks.importing.check_zip)."""

from __future__ import annotations

import io
import re
import struct
import zipfile
from pathlib import Path

import pytest

from bot.cli import main
from tasks.errors import InvalidInput
from tasks.importing import ZipLimits, ZipProblem, check_zip, import_path
from tests.test_coordinator_tools import declaring, jpeg, zipped
from tests.test_importing import FakeSink


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_zipfile_never_unpacks_more_than_an_entry_declares() -> None:
    """What the limits rest on: CPython cuts an entry's data at its declared size (and then
    the CRC fails), so the declared sizes bound the work."""
    data = declaring(zipped({"a.bin": bytes(1_000_000)}), [1000])
    with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open("a.bin") as entry:
        with pytest.raises(zipfile.BadZipFile, match="CRC"):
            entry.read()
        assert entry._left == 0  # type: ignore[attr-defined]


def test_an_ordinary_zip_of_pictures_passes(tmp_path: Path) -> None:
    path = write(tmp_path / "p.zip", zipped({f"{n}.jpg": jpeg(n) for n in range(5)}))
    assert check_zip(path) is None
    assert check_zip(path, ZipLimits(entries=5, unpacked=10_000_000)) is None


def test_a_small_zip_may_compress_very_well(tmp_path: Path) -> None:
    path = write(tmp_path / "s.zip", zipped({"s.csv": b"text\n" + b"same line\n" * 200_000}))
    assert path.stat().st_size * 100 < 2_000_000  # over 100 times smaller than its content
    assert check_zip(path) is None


@pytest.mark.parametrize(("data", "problem", "found"), [
    (b"not a zip at all", ZipProblem.CORRUPT, 0),
    (b"PK\x05\x06" + bytes(10), ZipProblem.CORRUPT, 0),  # an end record cut short
    (declaring(zipped({"a.jpg": b"x"}), [200 * 2**20]), ZipProblem.RATIO, 200 * 2**20),
    (zipped({f"{n}": b"" for n in range(11)}, zipfile.ZIP_STORED), ZipProblem.ENTRIES, 11),
])
def test_a_corrupt_zip_or_a_bomb_is_named_as_such(
    tmp_path: Path, data: bytes, problem: ZipProblem, found: int
) -> None:
    refusal = check_zip(write(tmp_path / "x.zip", data), ZipLimits(entries=10))
    assert refusal is not None
    assert (refusal.problem, refusal.found) == (problem, found)


def test_an_end_record_that_understates_the_entries_is_not_believed(tmp_path: Path) -> None:
    data = bytearray(zipped({f"{n}": b"" for n in range(30)}, zipfile.ZIP_STORED))
    at = data.rindex(b"PK\x05\x06")
    struct.pack_into("<HH", data, at + 8, 1, 1)  # "one entry"
    refusal = check_zip(write(tmp_path / "x.zip", bytes(data)), ZipLimits(entries=10))
    assert refusal is not None and (refusal.problem, refusal.found) == (ZipProblem.ENTRIES, 30)


def test_a_zip64_end_record_is_read_for_the_count(tmp_path: Path) -> None:
    path = write(tmp_path / "many.zip",
                 zipped({f"{n}": b"" for n in range(65_536)}, zipfile.ZIP_STORED))
    refusal = check_zip(path, ZipLimits(entries=20_000))
    assert refusal is not None and (refusal.problem, refusal.found) == (ZipProblem.ENTRIES,
                                                                        65_536)
    assert check_zip(path) is None  # the CLI's limit is 100,000


def test_the_sum_of_declared_sizes_over_the_limit_is_refused(tmp_path: Path) -> None:
    # Many entries sharing one compressed body (an overlapping bomb) declare a lot in total.
    data = declaring(zipped({f"{n}.jpg": jpeg(n) for n in range(4)}), [300_000_000] * 4)
    refusal = check_zip(write(tmp_path / "x.zip", data), ZipLimits(unpacked=2**30))
    assert refusal is not None
    assert (refusal.problem, refusal.found) == (ZipProblem.UNPACKED, 1_200_000_000)
    assert str(refusal) == ("x.zip would unpack to 1,144.4 MB; the limit is 1,024 MB per zip: "
                            "split it into smaller zips")


async def test_import_refuses_a_bomb_whole_before_reading_any_entry(tmp_path: Path) -> None:
    data = declaring(zipped({"a.jpg": jpeg(1), "b.jpg": jpeg(2)}), [150 * 2**20] * 2)
    sink = FakeSink()
    with pytest.raises(InvalidInput, match="refused as a likely zip bomb"):
        await import_path(sink, 1, write(tmp_path / "bomb.zip", data))
    assert sink.images == []


def test_haru_import_refuses_a_zip_bomb_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HARU_DB", str(tmp_path / "work.db"))
    assert main(["project", "create", "animals", "--question", "What is it?",
                 "--choice", "🐶 Dog", "--choice", "🐱 Cat"]) == 0
    capsys.readouterr()
    bomb = write(tmp_path / "bomb.zip", declaring(zipped({"a.jpg": jpeg(1)}), [4_000_000_000]))
    assert main(["import", "animals", str(bomb)]) == 1
    assert re.fullmatch(r"haru: bomb\.zip says it unpacks to 3,814\.7 MB from \d+\.\d KB, "
                        r"more than 100 times its size: refused as a likely zip bomb\.\n",
                        capsys.readouterr().err)
