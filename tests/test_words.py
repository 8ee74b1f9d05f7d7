"""Worker-facing words: both catalogs complete, short, calm; the pure pieces of a screen."""

from __future__ import annotations

import re
import string

import pytest

from bot.callbacks import MAX_BYTES, Action, Op, decode, encode
from bot.i18n import LANGUAGES, catalog, language_for, t
from bot.views import progress_bar
from tasks.errors import InvalidInput
from tasks.ports import NOT_SURE
from tasks.projects import parse_choice
from tasks.schedule import minutes_for


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_language_has_the_same_messages_with_the_same_placeholders() -> None:
    korean = catalog("ko")
    for lang in LANGUAGES:
        assert catalog(lang).keys() == korean.keys(), lang
        for key, text in catalog(lang).items():
            assert _fields(text) == _fields(korean[key]), (lang, key)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_messages_are_short_sentences_without_scores_timers_or_right_and_wrong(
    lang: str,
) -> None:
    limit = 10 if lang == "ko" else 15  # 어절 / English words per sentence (UX.md)
    forbidden = re.compile(r"정답|오답|틀렸|점수|순위|초 남|\bwrong\b|\bcorrect\b|\bscore|"
                           r"\brank|seconds left|\d+%", re.IGNORECASE)
    for key, text in catalog(lang).items():
        assert len(text.split()) <= 50, key
        assert not forbidden.search(text), key
        for sentence in re.split(r"(?<=[.!?。])\s+|\n", text):
            assert len(sentence.split()) <= limit, (key, sentence)


def test_korean_is_the_default_and_english_follows_telegrams_language() -> None:
    assert language_for(None) == "ko"
    assert language_for("ko") == "ko"
    assert language_for("ja") == "ko"
    assert language_for("en") == "en" and language_for("en-US") == "en"
    assert t("xx", "button_back") == catalog("ko")["button_back"]


@pytest.mark.parametrize(("position", "total", "bar"), [
    (1, 20, "1 / 20  □□□□□□□□□□"),
    (7, 20, "7 / 20  ■■■□□□□□□□"),
    (20, 20, "20 / 20  ■■■■■■■■■■"),
    (3, 3, "3 / 3  ■■■■■■■■■■"),
])
def test_progress_is_small_numbers_and_ten_blocks(position: int, total: int, bar: str) -> None:
    assert progress_bar(position, total) == bar


def test_callback_data_round_trips_and_stays_within_64_bytes() -> None:
    big = 10**15 - 1
    for action in (Action(Op.START, big), Action(Op.ANSWER, big, big, 3),
                   Action(Op.ANSWER, big, big, NOT_SURE), Action(Op.BACK, big, big),
                   Action(Op.BREAK, 0, 1)):
        data = encode(action)
        assert len(data.encode()) <= MAX_BYTES and data.isascii()
        assert decode(data) == action


@pytest.mark.parametrize("data", [
    None, "", "s", "s.", "s.01", "s.-1", "x.1", "a.1.2", "a.1.2.x", "a.1.2.10", "b.1", "p.1.2.3",
    "s.1 ", "ａ.1.2.3", "s." + "9" * 16,
])
def test_altered_callback_data_decodes_to_nothing(data: str | None) -> None:
    assert decode(data) is None


@pytest.mark.parametrize(("raw", "emoji", "words"), [
    ("🐶 Dog", "🐶", "Dog"),
    ("  🐱   고양이 ", "🐱", "고양이"),
    ("🇰🇷 Korea", "🇰🇷", "Korea"),
    ("👍🏽 Good one", "👍🏽", "Good one"),
    ("❤️ Love", "❤️", "Love"),
    ("🧑‍🍳 Cook", "🧑‍🍳", "Cook"),
    ("1️⃣ 하나", "1️⃣", "하나"),
])
def test_a_choice_is_one_emoji_and_one_or_two_words(raw: str, emoji: str, words: str) -> None:
    assert parse_choice(raw) == (emoji, words)


@pytest.mark.parametrize("raw", ["Dog", "🐶", "🐶 A big dog", "🐶 🐱", "🐶 !!", "☕ Coffee",
                                 "↩️ Return", "🐶 " + "x" * 30])
def test_a_choice_that_is_not_one_emoji_and_few_words_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        parse_choice(raw)


@pytest.mark.parametrize(("items", "minutes"), [(1, 1), (3, 2), (10, 8), (20, 15), (40, 30)])
def test_the_start_of_the_day_says_about_how_long_in_friendly_minutes(
    items: int, minutes: int
) -> None:
    assert minutes_for(items) == minutes
