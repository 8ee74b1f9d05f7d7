"""Coordinators in Telegram: /invite worker NAME PROJECT, and work sent as a file with /import.

Every refusal is one kind line, and nothing is downloaded for anyone but a coordinator whose
file can be imported.
"""

from __future__ import annotations

import asyncio
import io
import struct
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from bot import coord_import
from bot.offline import ApiError
from tests.harness import Harness, Phone
from tests.test_coordinators import coach

# --- /invite worker NAME PROJECT -----------------------------------------------------------


async def workers(h: Harness) -> list[tuple[str, str]]:
    async with h.store.reader() as repo:
        cursor = await repo.conn.execute(
            "SELECT w.name, p.name FROM workers w JOIN projects p ON p.id = w.project_id"
            " ORDER BY w.name")
        return [(r[0], r[1]) for r in await cursor.fetchall()]


async def test_invite_makes_a_link_that_joins_the_named_worker_to_the_project(
    harness: Harness,
) -> None:
    await harness.pictures(await harness.project("animals"), 3)
    boss = await coach(harness)
    await boss.send("/invite worker 김 민지 animals")
    lines = boss.words().splitlines()
    assert lines[0] == "🔗 김 민지 님의 초대 링크예요."
    assert lines[1].startswith("https://t.me/haru_test_bot?start=")
    assert lines[3:] == ["한 번만 쓸 수 있어요. 14일 동안 열려요.",
                         "김 민지 님의 휴대폰에서 열어 주세요.",
                         "일정: mon-fri 10:00 (Asia/Seoul) · 하루 20개"]
    phone = harness.phone(111)
    await phone.join(lines[1].split("start=")[1])
    assert "김 민지 님, 반가워요" in phone.words()
    assert await workers(harness) == [("김 민지", "animals")]


async def test_invite_says_what_it_changed_as_the_cli_does(harness: Harness) -> None:
    await harness.project("animals")
    await harness.pictures(await harness.project("plants"), 3)
    phone = harness.phone(111)
    await phone.join(await harness.invite("민지", "animals"))
    await harness.invite("영수", "animals")
    boss = await coach(harness, language="en")
    await boss.send("/invite worker 민지 plants")
    words = boss.words()
    assert "민지 moved from animals to the project plants." in words
    assert "민지 has joined before.\nThe phone that opens this link replaces theirs." in words
    assert "It works once, for 14 days." in words
    await boss.send("/invite worker 영수 animals")
    assert "영수's earlier link no longer works." in boss.words()
    assert "moved" not in boss.words() and "joined before" not in boss.words()
    assert await workers(harness) == [("민지", "plants"), ("영수", "animals")]


@pytest.mark.parametrize("text", [
    "/invite", "/invite worker", "/invite worker animals", "/invite 민지 animals",
    "/invite coordinator 지수 animals", "/invite guardian 어머니 animals",
])
async def test_invite_with_missing_words_or_another_role_shows_how(
    harness: Harness, text: str
) -> None:
    await harness.project("animals")
    boss = await coach(harness)
    await boss.send(text)
    assert boss.words() == ("이렇게 써 주세요.\n/invite worker 이름 프로젝트\n"
                            "예: /invite worker 민지 animals")
    assert await workers(harness) == []
    async with harness.store.reader() as repo:
        cursor = await repo.conn.execute("SELECT name FROM coordinators")
        assert [r[0] for r in await cursor.fetchall()] == ["지수"]


async def test_invite_to_an_unknown_project_names_the_projects_and_makes_nothing(
    harness: Harness,
) -> None:
    boss = await coach(harness)
    await boss.send("/invite worker 민지 animals")
    assert boss.words() == "아직 프로젝트가 없어요.\n서버에서 haru project create 로 만들어요."
    await harness.project("animals")
    await harness.project("plants")
    await boss.send("/invite worker 민지 animal")
    assert boss.words() == "animal 프로젝트가 없어요.\n있는 프로젝트: animals, plants"
    assert await workers(harness) == []


async def test_invite_with_an_unusable_name_makes_nothing(harness: Harness) -> None:
    await harness.project("animals")
    boss = await coach(harness)
    for name in ("가" * 41, "— —"):
        await boss.send(f"/invite worker {name} animals")
        assert boss.words() == "이름을 1~40자로 써 주세요.\n글자나 숫자가 하나는 있어야 해요."
    assert await workers(harness) == []


async def test_workers_and_strangers_cannot_invite(harness: Harness) -> None:
    await harness.pictures(await harness.project("animals"), 3)
    worker = harness.phone(111)
    await worker.join(await harness.invite("민지"))
    await worker.send("/invite worker 영수 animals")
    assert "아래 버튼을 눌러서 답해 주세요" in worker.words()
    stranger = harness.phone(555)
    await stranger.send("/invite worker 영수 animals")
    assert "초대받은 분만 쓸 수 있어요" in stranger.words()
    assert await workers(harness) == [("민지", "animals")]


# --- files sent with /import ---------------------------------------------------------------


def jpeg(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), (shade, 80, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


def zipped(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def declaring(data: bytes, sizes: list[int]) -> bytes:
    """The zip, its central directory claiming these uncompressed sizes (nothing else
    changes: only the directory is read before refusing)."""
    patched = bytearray(data)
    at = 0
    for size in sizes:
        at = patched.index(b"PK\x01\x02", at)
        struct.pack_into("<I", patched, at + 24, size)
        at += 4
    return bytes(patched)


@pytest.fixture(autouse=True)
def temp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Where the bot puts downloads: checked empty after every test."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    assert list(folder.iterdir()) == []


async def items(h: Harness) -> list[tuple[str, str, str]]:
    async with h.store.reader() as repo:
        cursor = await repo.conn.execute(
            "SELECT p.name, i.source, i.role FROM items i JOIN projects p"
            " ON p.id = i.project_id ORDER BY i.id")
        return [(r[0], r[1], r[2]) for r in await cursor.fetchall()]


def fetched(h: Harness) -> list[str]:
    """What the bot asked Telegram for: getFile calls and downloads."""
    return [c.method for c in h.telegram.calls if c.method in ("getFile", "download")]


async def sent_for(phone: Phone) -> list[str]:
    return [phone.words(m) for m in phone.chat]


async def test_a_zip_of_pictures_is_imported_with_a_report(harness: Harness) -> None:
    await harness.project("animals")
    boss = await coach(harness)
    before = len(boss.chat)
    data = zipped({"cats/01.jpg": jpeg(10), "cats/02.jpg": jpeg(60), "notes.txt": b"hello",
                   "same.jpg": jpeg(10)})
    await boss.send_document(data, "photos.zip", "/import animals")
    replies = [boss.words(m) for m in boss.chat[before:]]
    assert replies == [
        "📥 photos.zip 받았어요. 일을 넣는 중이에요…",
        "✅ animals에 사진 2개를 넣었어요.\n이미 있던 것 1개 · 넣지 못한 것 1개\n"
        "넣지 못한 까닭:\n• photos.zip:notes.txt: 사진이 아니에요",
    ]
    assert await items(harness) == [("animals", "photos.zip:cats/01.jpg", "work"),
                                    ("animals", "photos.zip:cats/02.jpg", "work")]
    assert fetched(harness) == ["getFile", "download"]
    await boss.send_document(data, "photos.zip", "/import animals")
    assert boss.words().startswith("✅ animals에 사진 0개를 넣었어요.\n이미 있던 것 3개")


async def test_a_csv_of_sentences_and_practice_are_imported_in_english(
    harness: Harness,
) -> None:
    await harness.project("reviews")
    boss = await coach(harness, language="en")
    await boss.send_document("text\n좋아요\n싫어요\n\n".encode(), "s.csv", "/import reviews")
    assert boss.words() == ("✅ Added 2 sentences to reviews.\n"
                            "Already there: 0 · not added: 0")
    practice = "text,answer,reason\n맛있어요,🐶 Dog,개를 골라요\n별로예요,9,\n"
    await boss.send_document(practice.encode(), "p.csv", "/import reviews practice")
    words = boss.words()
    assert words.startswith("✅ Added 1 practice items to reviews.\n"
                            "Already there: 0 · not added: 1\nWhy some were not added:\n"
                            "• p.csv:3: answer \"9\" is not one of")
    assert [role for _, _, role in await items(harness)] == ["work", "work", "practice"]


async def test_a_jsonl_file_with_a_bot_mention_in_the_caption_is_imported(
    harness: Harness,
) -> None:
    await harness.project("reviews")
    boss = await coach(harness)
    await boss.send_document(b'{"text": "hello"}\n{"nope": 1}\n', "a.jsonl",
                             "/import@haru_test_bot reviews")
    assert boss.words() == ("✅ reviews에 문장 1개를 넣었어요.\n"
                            "이미 있던 것 0개 · 넣지 못한 것 1개\n"
                            "넣지 못한 까닭:\n• a.jsonl:2: text 값이 없어요")


async def test_a_note_below_the_caption_line_is_the_coordinators_own(
    harness: Harness,
) -> None:
    await harness.project("reviews")
    boss = await coach(harness)
    await boss.send_document("text\n맛있어요\n".encode(), "s.csv",
                             "/import reviews\n오늘 받은 후기예요")
    assert boss.words() == ("✅ reviews에 문장 1개를 넣었어요.\n"
                            "이미 있던 것 0개 · 넣지 못한 것 0개")


async def test_a_strangers_or_workers_file_is_never_downloaded(harness: Harness) -> None:
    await harness.pictures(await harness.project("animals"), 3)
    data = zipped({"a.jpg": jpeg(1)})
    stranger = harness.phone(555)
    await stranger.send_document(data, "photos.zip", "/import animals")
    assert await sent_for(stranger) == ["안녕하세요. 초대받은 분만 쓸 수 있어요.\n"
                                        "담당 선생님께 링크를 받아 주세요."]
    worker = harness.phone(111)
    await worker.join(await harness.invite("민지"))
    await worker.send_document(data, "photos.zip", "/import animals")
    assert "아래 버튼을 눌러서 답해 주세요" in worker.words()  # their screen, as for any word
    await worker.send_document(data, "photos.zip")
    assert "아래 버튼을 눌러서 답해 주세요" in worker.words()
    await worker.send_photo(jpeg(1), "/import animals")
    assert "아래 버튼을 눌러서 답해 주세요" in worker.words()
    assert fetched(harness) == []
    assert len(await items(harness)) == 3


@pytest.mark.parametrize("caption", [None, "", "animals", "/imprt animals", "import animals",
                                     "please /import animals"])
async def test_a_file_without_import_in_its_caption_gets_how_to(
    harness: Harness, caption: str | None
) -> None:
    await harness.project("animals")
    boss = await coach(harness)
    await boss.send_document(zipped({"a.jpg": jpeg(1)}), "photos.zip", caption)
    assert boss.words() == ("일을 넣으려면 파일로 보내 주세요.\n"
                            "설명에 /import 프로젝트 를 써요.\n예: /import animals\n"
                            "사진 묶음은 .zip, 문장은 .csv 나 .jsonl 이에요.")
    assert fetched(harness) == [] and await items(harness) == []


async def test_typing_import_without_a_file_gets_how_to(harness: Harness) -> None:
    boss = await coach(harness, language="en")
    await boss.send("/import animals")
    assert boss.words().startswith("To add work, send it as a file.\n")


async def test_a_photo_sent_compressed_is_asked_for_as_a_file(harness: Harness) -> None:
    await harness.project("animals")
    boss = await coach(harness)
    await boss.send_photo(jpeg(1), "/import animals")
    assert boss.words().startswith("사진을 파일로 보내 주세요. 📎")
    await boss.send_photo(jpeg(1))  # no caption: as any other message
    assert "/workers" in boss.words()
    assert fetched(harness) == [] and await items(harness) == []


@pytest.mark.parametrize("caption", ["/import", "/import   ", "/import animals plants",
                                     "/import animals gold extra"])
async def test_import_without_one_project_shows_how(harness: Harness, caption: str) -> None:
    await harness.project("animals")
    boss = await coach(harness)
    await boss.send_document(b"text\nx\n", "s.csv", caption)
    assert boss.words().startswith("설명에 프로젝트 이름을 하나 써 주세요.\n예: /import animals")
    assert fetched(harness) == []


@pytest.mark.parametrize("name", ["report.pdf", "sheet.xlsx", "notes.txt", "noname", None,
                                  "../../archive.tar.gz"])
async def test_a_file_of_an_unknown_kind_is_refused_unread(
    harness: Harness, name: str | None
) -> None:
    await harness.project("animals")
    boss = await coach(harness)
    await boss.send_document(b"%PDF-1.4", name, "/import animals")
    shown = {None: "upload", "../../archive.tar.gz": "archive.tar.gz"}.get(name, name)
    assert boss.words() == (f"{shown} 파일은 넣을 수 없어요.\n"
                            ".zip, .csv, .jsonl 이나 사진 파일을 보내 주세요.")
    assert fetched(harness) == []


async def test_an_unknown_project_is_named_with_the_ones_there_are(harness: Harness) -> None:
    await harness.project("animals")
    await harness.project("plants")
    boss = await coach(harness, language="en")
    await boss.send_document(b"text\nx\n", "s.csv", "/import birds")
    assert boss.words() == "There is no project called birds.\nProjects: animals, plants"
    assert fetched(harness) == []


async def test_sentences_for_a_project_of_pictures_are_refused_unread(
    harness: Harness,
) -> None:
    await harness.pictures(await harness.project("animals"), 2)
    boss = await coach(harness)
    await boss.send_document(b"text\nx\n", "s.csv", "/import animals")
    assert boss.words() == ("animals 프로젝트에는 사진이 있어요.\n"
                            "문장은 다른 프로젝트에 넣어 주세요.")
    assert fetched(harness) == []


async def test_a_file_over_twenty_megabytes_is_refused_with_the_way_round(
    harness: Harness,
) -> None:
    await harness.project("animals")
    boss = await coach(harness)
    await boss.send_document(b"PK", "big.zip", "/import animals", size=25_000_000)
    assert boss.words() == ("파일이 너무 커요 (25.0 MB).\n봇은 20 MB까지 받을 수 있어요.\n"
                            "서버에서 haru import 로 넣어 주세요.")
    assert fetched(harness) == []  # not even asked for
    # No size in the message, and Telegram refuses it: the same reason, nothing downloaded.
    await boss.send_document(b"PK", "big.zip", "/import animals", size=None, too_big=True)
    assert boss.words().startswith("파일이 너무 커요.\n봇은 20 MB까지")
    assert fetched(harness) == ["getFile"]


async def test_a_file_telegram_will_not_give_says_so(harness: Harness) -> None:
    await harness.project("animals")
    boss = await coach(harness)
    harness.telegram.fail_next["getFile"] = ApiError(400, "Bad Request: wrong file_id")
    await boss.send_document(b"text\nx\n", "s.csv", "/import animals")
    assert boss.words() == "파일을 받지 못했어요.\n잠시 뒤 다시 보내 주세요."
    assert await items(harness) == []


@pytest.mark.parametrize(("data", "reply"), [
    (b"this is not a zip", "zip 파일을 열 수 없어요.\n망가졌거나 zip 파일이 아니에요."),
    (zipped({"a.jpg": jpeg(1)})[:-30], "zip 파일을 열 수 없어요.\n망가졌거나 zip 파일이 아니에요."),
    (zipped({f"{n}.jpg": b"" for n in range(20_001)}, zipfile.ZIP_STORED),
     "zip 안에 파일이 너무 많아요 (20,001개).\n한 번에 20,000개까지 받아요.\n나눠서 보내 주세요."),
    (declaring(zipped({f"{n}.jpg": jpeg(n) for n in range(3)}), [600_000_000] * 3),
     "zip 을 풀면 너무 커요 (1,716.6 MB).\n한 번에 1,024 MB까지 받아요.\n나눠서 보내 주세요."),
    (declaring(zipped({"a.jpg": jpeg(1)}), [200_000_000]),
     "이 zip 은 풀면 190.7 MB가 돼요.\n파일 크기의 100배가 넘어요.\n안전을 위해 열지 않았어요."),
])
async def test_a_corrupt_zip_or_a_zip_bomb_is_refused_before_unpacking(
    harness: Harness, data: bytes, reply: str
) -> None:
    await harness.project("animals")
    boss = await coach(harness)
    await boss.send_document(data, "photos.zip", "/import animals")
    assert boss.words() == reply
    assert await items(harness) == []


async def test_a_lone_picture_cannot_be_practice_and_says_why(harness: Harness) -> None:
    await harness.project("animals")
    boss = await coach(harness, language="en")
    await boss.send_document(jpeg(5), "cat.jpg", "/import animals practice")
    assert boss.words().startswith("Nothing was added: cat.jpg: a picture's answer comes "
                                   "from a CSV beside it")
    await boss.send_document(jpeg(5), "cat.jpg", "/import animals")
    assert boss.words().startswith("✅ Added 1 pictures to animals.")


async def test_workers_keep_answering_while_an_import_runs(harness: Harness) -> None:
    await harness.pictures(await harness.project("animals"), 3)
    worker = harness.phone(111)
    await worker.join(await harness.invite("민지"))
    await worker.tap("▶️")
    boss = await coach(harness)
    assert harness.app is not None
    held = harness.app.bot_data.setdefault("import_lock", asyncio.Lock())
    await held.acquire()  # as if another import were still running
    await boss.send_document(zipped({"new.jpg": jpeg(200)}), "more.zip", "/import animals",
                             wait=False)
    assert boss.words() == "📥 more.zip 받았어요. 일을 넣는 중이에요…"
    await worker.tap("🐶 Dog")
    assert "2 / 3" in worker.words()
    held.release()
    await harness.settle()
    assert boss.words().startswith("✅ animals에 사진 1개를 넣었어요.")


async def test_an_import_still_running_when_the_bot_stops_leaves_nothing_behind(
    harness: Harness,
) -> None:
    await harness.project("animals")
    boss = await coach(harness)
    assert harness.app is not None
    held = harness.app.bot_data.setdefault("import_lock", asyncio.Lock())
    await held.acquire()
    await boss.send_document(zipped({"new.jpg": jpeg(200)}), "more.zip", "/import animals",
                             wait=False)
    await harness.stop()  # cancels the import before the database closes; no error
    assert harness.errors == []
    await harness.start()
    assert await items(harness) == []


async def test_an_import_that_fails_unexpectedly_says_so_and_is_logged(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await harness.project("animals")
    boss = await coach(harness)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(coord_import, "import_path", broken)
    with pytest.raises(AssertionError, match="the bot failed on an update"):
        await boss.send_document(b"text\nx\n", "s.csv", "/import animals")
    assert isinstance(harness.errors[0], RuntimeError)  # to the error handlers, logged there
    harness.errors.clear()
    assert boss.words() == ("문제가 생겨 다 넣지 못했어요.\n"
                            "파일을 다시 보내 주세요. 이미 넣은 것은 두 번 넣지 않아요.")
