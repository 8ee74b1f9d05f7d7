"""Importing work items: images become phone-ready JPEGs, sentences clean text, and every bad
file a plain-English rejection that never stops the rest of the import."""

from __future__ import annotations

import io
import os
import struct
import warnings
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import pytest
from PIL import Image

from bot.progress import TerminalProgress, format_report
from tasks import importing
from tasks.errors import InvalidInput
from tasks.importing import (
    MAX_SIDE,
    ImportReport,
    PreparedImage,
    PreparedItem,
    PreparedText,
    Rejected,
    import_path,
    prepare_image,
    read_texts,
)
from tasks.model import ItemKind

PROJECT = 1


class FakeSink:
    """In-memory ItemSink: all or nothing per call, duplicates by content key per project."""

    def __init__(self) -> None:
        self.keys: dict[int, set[str]] = defaultdict(set)
        self.items: list[PreparedItem] = []
        self.calls = 0
        self.fail_on_call: int | None = None

    async def add_items(self, project_id: int, items: Sequence[PreparedItem]) -> tuple[int, int]:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RuntimeError("disk full")
        known = self.keys[project_id]
        new = {}
        for item in items:
            if item.content_key not in known and item.content_key not in new:
                new[item.content_key] = item
        known.update(new)
        self.items.extend(new.values())
        return len(new), len(items) - len(new)

    @property
    def images(self) -> list[PreparedImage]:
        return [item for item in self.items if isinstance(item, PreparedImage)]

    @property
    def texts(self) -> list[str]:
        return [item.text for item in self.items if isinstance(item, PreparedText)]


def image_bytes(
    size: tuple[int, int] = (64, 48),
    fmt: str = "JPEG",
    color: object = "teal",
    mode: str = "RGB",
    **params: object,
) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt, **params)  # type: ignore[arg-type]
    return out.getvalue()


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size: decoding it would fail, so a size
    rejection proves the size was read from the header alone."""
    data = bytearray(image_bytes((4, 4), "PNG"))
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def decoded(item: PreparedImage) -> Image.Image:
    return Image.open(io.BytesIO(item.jpeg))


def prepared(data: bytes, source: str = "x") -> PreparedImage:
    result = prepare_image(data, source)
    assert isinstance(result, PreparedImage), result
    return result


def reasons(report: ImportReport) -> dict[str, str]:
    return {r.source: r.reason for r in report.rejected}


# ---- one image ----------------------------------------------------------------------------


def test_a_photo_taken_sideways_is_turned_upright() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    item = prepared(image_bytes((200, 100), exif=exif.tobytes()))
    assert (item.width, item.height) == (100, 200)
    assert decoded(item).size == (100, 200)


def test_the_prepared_jpeg_keeps_no_exif() -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    item = prepared(image_bytes(exif=exif.tobytes(), comment=b"Kim's house"))
    image = decoded(item)
    assert image.format == "JPEG"
    assert len(image.getexif()) == 0
    assert "comment" not in image.info


def test_a_transparent_png_becomes_an_rgb_jpeg_on_white() -> None:
    item = prepared(image_bytes(fmt="PNG", mode="RGBA", color=(255, 0, 0, 0)))
    image = decoded(item)
    assert image.mode == "RGB"
    assert all(channel > 245 for channel in image.getpixel((10, 10)))  # type: ignore[union-attr]


def test_a_big_image_is_shrunk_to_the_longest_side_limit() -> None:
    item = prepared(image_bytes((4000, 3000)))
    assert (item.width, item.height) == (MAX_SIDE, 960)
    assert decoded(item).size == (MAX_SIDE, 960)


def test_a_small_image_is_never_enlarged() -> None:
    item = prepared(image_bytes((320, 200), "PNG"))
    assert (item.width, item.height) == (320, 200)


def test_webp_is_accepted() -> None:
    assert prepared(image_bytes(fmt="WEBP")).kind is ItemKind.IMAGE


def test_a_gif_is_rejected_as_unsupported() -> None:
    assert prepare_image(image_bytes(fmt="GIF"), "a.gif") == Rejected(
        "a.gif", "unsupported image type (GIF); use JPEG, PNG or WebP"
    )


def test_the_same_bytes_always_give_the_same_content_key() -> None:
    data = image_bytes((500, 400), "PNG")
    assert prepared(data).content_key == prepared(data).content_key
    assert prepared(data).content_key.startswith("img:")
    assert prepared(data).content_key != prepared(image_bytes((500, 401), "PNG")).content_key


def test_a_truncated_jpeg_is_rejected_as_corrupt() -> None:
    data = image_bytes((400, 300))
    result = prepare_image(data[: len(data) // 2], "half.jpg")
    assert result == Rejected("half.jpg", "corrupt or truncated image")


def test_a_text_file_named_jpg_is_not_an_image() -> None:
    assert prepare_image(b"shopping list", "notes.jpg") == Rejected("notes.jpg", "not an image")


def test_an_empty_file_is_rejected_as_empty() -> None:
    assert prepare_image(b"", "blank.jpg") == Rejected("blank.jpg", "empty file")


@pytest.mark.parametrize(("width", "height"), [(8000, 6500), (10_000, 10_000), (20_000, 20_000)])
def test_an_image_over_40_megapixels_is_rejected_from_its_header(width: int, height: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's bomb warning must not escape either
        result = prepare_image(png_claiming_size(width, height), "big.png")
    megapixels = width * height / 1e6
    expected = f"image too large ({megapixels:.1f} megapixels; the limit is 40)"
    assert result == Rejected("big.png", expected)


# ---- folders, single files and zips ------------------------------------------------------


async def test_two_identical_files_in_a_folder_are_imported_once(tmp_path: Path) -> None:
    data = image_bytes((300, 200))
    write(tmp_path / "a.jpg", data)
    write(tmp_path / "b.jpg", data)
    sink = FakeSink()
    report = await import_path(sink, PROJECT, tmp_path)
    assert (report.imported, report.duplicates, report.rejected) == (1, 1, [])


async def test_nested_folders_are_imported_in_a_stable_natural_order(tmp_path: Path) -> None:
    for index, name in enumerate(["b/IMG_10.png", "b/IMG_2.png", "a/x.png", "top.png"]):
        write(tmp_path / name, image_bytes(fmt="PNG", color=(index * 40, 0, 0)))
    write(tmp_path / ".DS_Store", b"junk")
    sink = FakeSink()
    report = await import_path(sink, PROJECT, tmp_path)
    assert report.imported == 4 and report.rejected == []
    assert [i.source for i in sink.images] == ["top.png", "a/x.png", "b/IMG_2.png", "b/IMG_10.png"]


async def test_bad_files_are_rejected_while_the_good_ones_import(tmp_path: Path) -> None:
    good = image_bytes((400, 300))
    write(tmp_path / "good.jpg", good)
    write(tmp_path / "bad.jpg", good[:200])
    write(tmp_path / "notes.txt", "not a picture")
    write(tmp_path / "empty.png", b"")
    write(tmp_path / "big.png", png_claiming_size(8000, 6500))
    report = await import_path(FakeSink(), PROJECT, tmp_path)
    assert report.imported == 1
    assert reasons(report) == {
        "bad.jpg": "corrupt or truncated image",
        "big.png": "image too large (52.0 megapixels; the limit is 40)",
        "empty.png": "empty file",
        "notes.txt": "not an image",
    }


async def test_a_single_image_file_can_be_imported(tmp_path: Path) -> None:
    sink = FakeSink()
    report = await import_path(sink, PROJECT, write(tmp_path / "cat.webp", image_bytes(fmt="WEBP")))
    assert report.imported == 1 and sink.images[0].source == "cat.webp"


async def test_a_path_that_is_not_importable_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"is not a folder, a \.zip, a \.csv"):
        await import_path(FakeSink(), PROJECT, write(tmp_path / "notes.txt", "hello"))
    with pytest.raises(InvalidInput, match="does not exist"):
        await import_path(FakeSink(), PROJECT, tmp_path / "missing")


async def test_unsafe_zip_entries_are_rejected_while_good_entries_import(tmp_path: Path) -> None:
    path = tmp_path / "pics.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("cats/01.jpg", image_bytes(color="red"))
        archive.writestr("../evil.jpg", image_bytes(color="blue"))
        archive.writestr("/abs.jpg", image_bytes(color="green"))
        archive.writestr("C:/win.jpg", image_bytes(color="white"))
        archive.writestr("cats/", b"")
        archive.writestr("__MACOSX/cats/._01.jpg", b"resource fork")
    sink = FakeSink()
    report = await import_path(sink, PROJECT, path)
    assert [i.source for i in sink.images] == ["pics.zip:cats/01.jpg"]
    assert reasons(report) == {
        "pics.zip:../evil.jpg": "unsafe path in zip",
        "pics.zip:/abs.jpg": "unsafe path in zip",
        "pics.zip:C:/win.jpg": "unsafe path in zip",
    }


def zip_declaring_size(name: str, data: bytes, declared: int) -> bytes:
    """A zip whose central directory lies about the entry's uncompressed size."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    patched = bytearray(buffer.getvalue())
    struct.pack_into("<I", patched, patched.index(b"PK\x01\x02") + 24, declared)
    return bytes(patched)


async def test_a_zip_entry_declared_over_the_size_limit_is_rejected_unread(tmp_path: Path) -> None:
    path = write(tmp_path / "pics.zip", zip_declaring_size("a.jpg", image_bytes(), 60 * 2**20))
    report = await import_path(FakeSink(), PROJECT, path)
    assert reasons(report) == {"pics.zip:a.jpg": "file too large (60.0 MB; the limit is 50 MB)"}


async def test_a_zip_entry_bigger_than_it_declares_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path / "pics.zip", zip_declaring_size("a.jpg", bytes(100_000), 1000))
    report = await import_path(FakeSink(), PROJECT, path)
    assert reasons(report) == {"pics.zip:a.jpg": "corrupt file in zip"}


async def test_a_korean_name_in_a_windows_zip_is_shown_readably(tmp_path: Path) -> None:
    korean = "고양이.jpg".encode("cp949")  # Windows writes this without the UTF-8 flag
    placeholder = b"x" * (len(korean) - 4) + b".jpg"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(placeholder.decode(), image_bytes())
    write(tmp_path / "k.zip", buffer.getvalue().replace(placeholder, korean))
    sink = FakeSink()
    await import_path(sink, PROJECT, tmp_path / "k.zip")
    assert sink.images[0].source == "k.zip:고양이.jpg"


def mixed_pictures(folder: Path) -> Path:
    """A folder of good, repeated, sideways, broken and oversized pictures, and it zipped."""
    sideways = Image.new("RGB", (60, 40), "navy")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: shown turned 90 degrees
    for index in range(4):
        write(folder / f"IMG_{index}.jpg", image_bytes(color=(index * 60, 90, 0)))
    write(folder / "again.jpg", image_bytes(color=(0, 90, 0)))
    write(folder / "broken.jpg", image_bytes((400, 300))[:200])
    write(folder / "big.png", png_claiming_size(8000, 6500))
    out = io.BytesIO()
    sideways.save(out, "JPEG", exif=exif.tobytes())
    write(folder / "side.jpg", out.getvalue())
    archive = folder.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(folder.iterdir()):
            zipped.write(path, path.name)
        zipped.writestr("../evil.jpg", image_bytes(color="blue"))
    return archive


async def test_worker_processes_import_exactly_what_one_thread_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = mixed_pictures(tmp_path / "pics")
    started: list[int] = []
    real = importing.Workers

    def counted(count: int) -> importing.Workers:
        started.append(count)
        return real(count)

    monkeypatch.setattr(importing, "Workers", counted)
    results = []
    for workers in (1, 3):
        monkeypatch.setattr(importing, "_WORKERS", workers)
        for path in (tmp_path / "pics", archive):
            sink = FakeSink()
            report = await import_path(sink, PROJECT, path)
            results.append((report.imported, report.duplicates, report.rejected,
                            [(i.source, i.content_key, i.width, i.height, i.jpeg)
                             for i in sink.images]))
    assert started == [3, 3]  # one core: one thread here; three: three processes
    one_thread, processes = results[:2], results[2:]
    assert processes == one_thread
    imported, duplicates, rejected, images = one_thread[1]
    assert (imported, duplicates) == (5, 1)
    assert {r.source: r.reason for r in rejected} == {
        "pics.zip:../evil.jpg": "unsafe path in zip",
        "pics.zip:big.png": "image too large (52.0 megapixels; the limit is 40)",
        "pics.zip:broken.jpg": "corrupt or truncated image",
    }
    assert ("pics.zip:side.jpg", 40, 60) in [(s, w, h) for s, _, w, h, _ in images]


async def test_a_picture_that_kills_its_worker_process_is_rejected_and_the_rest_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing, "_WORKERS", 2)
    good = [write(tmp_path / f"{i}.png", image_bytes(fmt="PNG", color=(i, 0, 0))) for i in range(3)]
    units = [importing._Unit(p.name, partial(importing._image_from_file, p, p.name),
                             job=partial(importing._image_from_file, p, p.name)) for p in good]
    crash = partial(os._exit, 70)  # what a segfault in a decoder looks like from outside
    units.insert(1, importing._Unit("evil.jpg", crash, job=crash))
    sink = FakeSink()
    report = await importing._run(importing._Target(sink, PROJECT, None), units, None)
    assert [i.source for i in sink.images] == ["0.png", "1.png", "2.png"]
    assert reasons(report) == {"evil.jpg": "could not be decoded (it crashed the image decoder)"}


async def test_a_zip_that_is_not_a_zip_is_one_rejection(tmp_path: Path) -> None:
    path = write(tmp_path / "pics.zip", "this is not a zip")
    report = await import_path(FakeSink(), PROJECT, path)
    assert report.rejected == [Rejected("pics.zip", "not a valid zip file")]


async def test_progress_counts_every_file_up_to_the_total(tmp_path: Path) -> None:
    for index in range(5):
        write(tmp_path / f"{index}.png", image_bytes(fmt="PNG", color=(index, 0, 0)))
    write(tmp_path / "broken.jpg", b"nope")
    calls: list[tuple[int, int]] = []
    await import_path(FakeSink(), PROJECT, tmp_path, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(done, 6) for done in range(7)]


async def test_a_failing_sink_stops_the_import_and_a_rerun_finishes_it(tmp_path: Path) -> None:
    for index in range(3):
        write(tmp_path / f"{index}.png", image_bytes(fmt="PNG", color=(index, 0, 0)))
    sink = FakeSink()
    sink.fail_on_call = 2
    with pytest.raises(RuntimeError, match="disk full"):
        await import_path(sink, PROJECT, tmp_path)
    assert [i.source for i in sink.images] == ["0.png"]
    report = await import_path(sink, PROJECT, tmp_path)
    assert (report.imported, report.duplicates) == (2, 1)


# ---- sentences ----------------------------------------------------------------------------


async def test_a_csv_file_is_stored_in_one_all_or_nothing_call(tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", "id,text\n1,Hello\n2,World\n3,Hello\n")
    sink = FakeSink()
    sink.fail_on_call = 1
    with pytest.raises(RuntimeError):
        await import_path(sink, PROJECT, path)
    assert sink.items == []
    report = await import_path(sink, PROJECT, path)
    assert (sink.calls, sink.texts, report.imported, report.duplicates) == (
        2,
        ["Hello", "World"],
        2,
        1,
    )


def test_a_csv_without_a_text_column_is_rejected_whole() -> None:
    assert read_texts(b"id,sentence\n1,Hello\n", "s.csv") == (
        [],
        [Rejected("s.csv", "no 'text' column")],
    )


def test_empty_csv_rows_are_rejected_with_their_line_numbers() -> None:
    data = b'text,label\nHello,a\n  ,b\n\n"two\nlines",c\n,d\n'
    items, rejected = read_texts(data, "s.csv")
    assert [(i.text, i.source) for i in items] == [("Hello", "s.csv:2"), ("two\nlines", "s.csv:5")]
    assert rejected == [Rejected("s.csv:3", "empty text"), Rejected("s.csv:7", "empty text")]


def test_a_file_with_too_many_rows_is_rejected_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importing, "MAX_ROWS", 3)
    items, rejected = read_texts(b"text\na\nb\nc\nd\n", "s.csv")
    assert items == [] and len(rejected) == 1 and "too many rows (4" in rejected[0].reason
    assert len(read_texts(b"text\na\nb\nc\n", "s.csv")[0]) == 3


def test_a_csv_that_is_not_utf8_is_rejected_whole() -> None:
    data = "text\n안녕하세요\n".encode("cp949")
    assert read_texts(data, "s.csv") == ([], [Rejected("s.csv", "not UTF-8 text")])


def test_a_csv_saved_by_excel_with_a_bom_is_read() -> None:
    items, rejected = read_texts("\ufeff Text ,x\n안녕하세요,1\n".encode(), "s.csv")
    assert [i.text for i in items] == ["안녕하세요"] and rejected == []


def test_texts_are_nfc_normalized_and_keyed_without_extra_whitespace() -> None:
    decomposed = "\u1100\u1161"  # 가 as two jamo
    items, _ = read_texts(f'text\n"  {decomposed}  b "\n"가 \t b"\n'.encode(), "s.csv")
    assert items[0].text == "가  b"
    assert items[0].content_key == items[1].content_key
    assert items[0].content_key.startswith("txt:")


def test_a_text_over_the_limit_is_rejected() -> None:
    _, rejected = read_texts(("text\n" + "a" * 1400 + "\n").encode(), "s.csv")
    assert rejected == [Rejected("s.csv:2", "text too long (1400 characters; the limit is 1000)")]


def test_an_empty_text_file_is_rejected_as_empty() -> None:
    assert read_texts(b"", "s.jsonl") == ([], [Rejected("s.jsonl", "empty file")])
    assert read_texts(b"\n \n", "s.csv") == ([], [Rejected("s.csv", "empty file")])


def test_a_broken_jsonl_line_is_rejected_and_the_others_kept() -> None:
    data = b'{"text": "one"}\n{"text": \n\n{"text": ""}\n{"label": 1}\n["text"]\n{"text": "two"}\n'
    items, rejected = read_texts(data, "s.jsonl")
    assert [(i.text, i.source) for i in items] == [("one", "s.jsonl:1"), ("two", "s.jsonl:7")]
    assert rejected == [
        Rejected("s.jsonl:2", "not valid JSON"),
        Rejected("s.jsonl:4", "empty text"),
        Rejected("s.jsonl:5", "no 'text' string"),
        Rejected("s.jsonl:6", "no 'text' string"),
    ]


def test_a_jsonl_text_with_a_lone_surrogate_is_rejected() -> None:
    _, rejected = read_texts(b'{"text": "bad \\ud800"}\n', "s.jsonl")
    assert rejected == [Rejected("s.jsonl:1", "not UTF-8 text")]


# ---- what people see ----------------------------------------------------------------------


def test_the_report_lists_counts_and_every_rejection() -> None:
    report = ImportReport(
        imported=18,
        duplicates=2,
        rejected=[
            Rejected("bad.jpg", "corrupt or truncated image"),
            Rejected("notes.txt", "not an image"),
        ],
    )
    assert format_report(report, "animals") == (
        'Imported 18 items into "animals".\n'
        "Duplicates skipped: 2\n"
        "Rejected: 2\n"
        "  - bad.jpg: corrupt or truncated image\n"
        "  - notes.txt: not an image"
    )


def test_the_report_says_rejected_zero_so_scripts_can_read_it() -> None:
    assert format_report(ImportReport(imported=1), "p").splitlines() == [
        'Imported 1 item into "p".',
        "Duplicates skipped: 0",
        "Rejected: 0",
    ]


def test_progress_in_a_log_prints_a_line_per_tenth_of_a_big_import() -> None:
    stream = io.StringIO()
    progress = TerminalProgress(stream)
    for done in range(201):
        progress(done, 200)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "Importing: 20/200 (10%)" and lines[-1] == "Importing: 200/200 (100%)"
    assert len(lines) == 10


def test_progress_in_a_log_stays_silent_for_a_small_import() -> None:
    stream = io.StringIO()
    progress = TerminalProgress(stream)
    for done in range(51):
        progress(done, 50)
    assert stream.getvalue() == ""


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_redraws_one_throttled_line() -> None:
    stream, now = FakeTerminal(), [0.0]
    with TerminalProgress(stream, clock=lambda: now[0]) as progress:
        for done in range(101):
            now[0] += 0.01  # 100 calls a second: only ~10 should draw
            progress(done, 100)
    output = stream.getvalue()
    assert 9 <= output.count("\r") <= 12
    assert output.endswith("\rImporting  [####################]  100/100\n")
