"""Gold and practice items with their answers: pictures with an answer sheet, and sentences.

Every refusal names the file (and line), and nothing refused is stored.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from storage.repo import SqlItemSink
from tasks.errors import InvalidInput
from tasks.importing import import_path
from tasks.known import KnownSpec, choice_index
from tasks.model import Role
from tests.harness import Harness

CHOICES = ("🐶 Dog", "🐱 Cat")
QUESTION = "What animal is this?"


def jpeg(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (shade, 40, 90)).save(buffer, "JPEG")
    return buffer.getvalue()


def spec(role: Role) -> KnownSpec:
    return KnownSpec(role, CHOICES, QUESTION)


async def rows(h: Harness, sql: str) -> list[tuple[object, ...]]:
    async with h.store.reader() as repo:
        return [tuple(r) for r in await repo._all(sql)]


def reasons(report: object) -> dict[str, str]:
    return {r.source: r.reason for r in report.rejected}  # type: ignore[attr-defined]


async def test_practice_pictures_take_their_answers_from_the_sheet_beside_them(
    harness: Harness, tmp_path: Path,
) -> None:
    project = await harness.project()
    folder = tmp_path / "practice"
    folder.mkdir()
    for i in range(4):
        (folder / f"p{i}.jpg").write_bytes(jpeg(i * 40))
    (folder / "answers.csv").write_text(
        "file,answer,reason,level\n"
        "p0.jpg,Dog,Long ears and a wet nose.,1\n"
        "p1.jpg,🐱,Whiskers.,2\n"
        "p2.jpg,Horse,,\n"  # not one of the choices
        f"missing.jpg,Dog,{'x' * 10},\n"  # no such picture
        "p0.jpg,Cat,,\n",  # the same picture again with another answer
        encoding="utf-8",
    )
    report = await import_path(SqlItemSink(harness.store), project, folder,
                               known=spec(Role.PRACTICE))
    assert report.imported == 2
    found = reasons(report)
    assert found["answers.csv:4"].startswith('answer "Horse" is not one of the project')
    assert found["answers.csv:6"] == "p0.jpg has a different answer on answers.csv:2"
    assert found["answers.csv:5"] == "no picture named missing.jpg"
    assert found["p3.jpg"] == "not on the answer sheet (answers.csv)"
    assert found["p2.jpg"] == "not on the answer sheet (answers.csv)"
    stored = await rows(harness, "SELECT i.source, p.answer, p.reason, p.level FROM items i"
                                 " JOIN practice_items p ON p.item_id = i.id ORDER BY i.id")
    assert stored == [("p0.jpg", 0, "Long ears and a wet nose.", 1), ("p1.jpg", 1, "Whiskers.", 2)]
    assert await rows(harness, "SELECT role, wanted FROM items") == [("practice", 0)] * 2


async def test_gold_pictures_in_a_zip_with_their_sheet(harness: Harness, tmp_path: Path) -> None:
    project = await harness.project()
    archive = tmp_path / "gold.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("gold/a.jpg", jpeg(10))
        z.writestr("gold/b.jpg", jpeg(200))
        z.writestr("gold/sheet.csv", "filename,answer\na.jpg,1\ngold/b.jpg,cat\n")
    report = await import_path(SqlItemSink(harness.store), project, archive,
                               known=spec(Role.GOLD))
    assert (report.imported, report.rejected) == (2, [])
    assert await rows(harness, "SELECT role, answer FROM items ORDER BY id") == [
        ("gold", 0), ("gold", 1)]
    again = await import_path(SqlItemSink(harness.store), project, archive,
                              known=spec(Role.GOLD))
    assert (again.imported, again.duplicates) == (0, 2)


async def test_pictures_without_a_sheet_or_alone_are_refused_with_the_reason(
    harness: Harness, tmp_path: Path,
) -> None:
    project = await harness.project()
    folder = tmp_path / "gold"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(jpeg(1))
    with pytest.raises(InvalidInput, match="has no answer sheet"):
        await import_path(SqlItemSink(harness.store), project, folder, known=spec(Role.GOLD))
    with pytest.raises(InvalidInput, match="comes from a CSV beside it"):
        await import_path(SqlItemSink(harness.store), project, folder / "a.jpg",
                          known=spec(Role.GOLD))
    (folder / "sheet.csv").write_text("picture,label\na.jpg,Dog\n", encoding="utf-8")
    report = await import_path(SqlItemSink(harness.store), project, folder,
                               known=spec(Role.GOLD))
    assert reasons(report)["sheet.csv"] == "needs the columns 'file' and 'answer'"
    assert await rows(harness, "SELECT count(*) FROM items") == [(0,)]


async def test_a_reason_longer_than_a_caption_allows_is_refused(
    harness: Harness, tmp_path: Path,
) -> None:
    project = await harness.project()
    room = spec(Role.PRACTICE).max_reason
    assert 0 < room < 1024 - len(QUESTION)
    sheet = tmp_path / "practice.jsonl"
    sheet.write_text(
        f'{{"text": "fits", "answer": "Dog", "reason": "{"a" * room}"}}\n'
        f'{{"text": "too long", "answer": "Dog", "reason": "{"a" * (room + 1)}"}}\n'
        '{"text": "no answer"}\n',
        encoding="utf-8",
    )
    report = await import_path(SqlItemSink(harness.store), project, sheet,
                               known=spec(Role.PRACTICE))
    assert report.imported == 1
    found = reasons(report)
    assert found["practice.jsonl:2"].startswith(f"reason too long ({room + 1} characters")
    assert found["practice.jsonl:3"] == "no answer"


async def test_an_item_cannot_be_both_gold_and_practice(harness: Harness, tmp_path: Path) -> None:
    project = await harness.project()
    sheet = tmp_path / "items.csv"
    sheet.write_text("text,answer\nbarks,Dog\n", encoding="utf-8")
    await import_path(SqlItemSink(harness.store), project, sheet, known=spec(Role.GOLD))
    report = await import_path(SqlItemSink(harness.store), project, sheet,
                               known=spec(Role.PRACTICE))
    assert reasons(report) == {
        "items.csv:2": "this sentence is already in the project as gold (items.csv:2)"}


@pytest.mark.parametrize(("raw", "index"), [
    ("🐶 Dog", 0), ("dog", 0), ("🐱", 1), ("2", 1), (" CAT ", 1), ("🐱\ufe0f", 1),
    ("3", None), ("0", None), ("Horse", None), ("", None),
])
def test_an_answer_names_a_choice_by_label_words_emoji_or_number(
    raw: str, index: int | None,
) -> None:
    assert choice_index(raw, CHOICES) == index


async def test_each_sheet_answers_for_the_pictures_in_its_own_folder(
    harness: Harness, tmp_path: Path,
) -> None:
    project = await harness.project()
    for folder, answer, shade in (("dogs", "Dog", 10), ("cats", "Cat", 200)):
        (tmp_path / "two" / folder).mkdir(parents=True)
        (tmp_path / "two" / folder / "001.jpg").write_bytes(jpeg(shade))
        (tmp_path / "two" / folder / "answers.csv").write_text(
            f"file,answer\n001.jpg,{answer}\n", encoding="utf-8")
    report = await import_path(SqlItemSink(harness.store), project, tmp_path / "two",
                               known=spec(Role.GOLD))
    assert (report.imported, report.rejected) == (2, [])
    assert await rows(harness, "SELECT source, answer FROM items ORDER BY source") == [
        ("cats/001.jpg", 1), ("dogs/001.jpg", 0)]


async def test_one_picture_with_two_answers_is_refused_whatever_the_case_of_its_name(
    harness: Harness, tmp_path: Path,
) -> None:
    project = await harness.project()
    folder = tmp_path / "gold"
    folder.mkdir()
    (folder / "q0.jpg").write_bytes(jpeg(1))
    (folder / "sheet.csv").write_text("file,answer\nq0.jpg,Dog\nQ0.JPG,Cat\n", encoding="utf-8")
    report = await import_path(SqlItemSink(harness.store), project, folder,
                               known=spec(Role.GOLD))
    assert reasons(report) == {"sheet.csv:3": "Q0.JPG has a different answer on sheet.csv:2"}
    assert await rows(harness, "SELECT answer FROM items") == [(0,)]


async def test_a_quote_never_closed_refuses_the_file_instead_of_swallowing_rows(
    harness: Harness, tmp_path: Path,
) -> None:
    project = await harness.project()
    sheet = tmp_path / "gold.csv"
    sheet.write_text('text,answer\none,Dog\n"two,Cat\nthree,Dog\n', encoding="utf-8")
    report = await import_path(SqlItemSink(harness.store), project, sheet, known=spec(Role.GOLD))
    assert report.imported == 0 and "not valid CSV" in reasons(report)["gold.csv"]
