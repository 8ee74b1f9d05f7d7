"""Bar charts: Korean is drawn as Korean, never as boxes, whatever the numbers and the machine."""

from __future__ import annotations

import io
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from bot import charts
from bot.charts import (
    BUNDLED_BOLD_FONT,
    BUNDLED_FONT,
    Bar,
    ChartError,
    bar_chart,
    find_font,
    renders_hangul,
)

WEEK = "월화수목금토일"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.fixture(autouse=True)
def no_font_chosen_yet(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test finds its font afresh, without the developer's own HARU_FONT."""
    monkeypatch.delenv(charts.FONT_ENV, raising=False)
    find_font.cache_clear()
    yield
    find_font.cache_clear()


def drawn(path: Path, char: str) -> bytes:
    """The pixels of one character drawn alone with the font at `path`."""
    font = ImageFont.truetype(str(path), 48, layout_engine=ImageFont.Layout.BASIC)
    image = Image.new("L", (96, 96))
    ImageDraw.Draw(image).text((24, 24), char, fill=255, font=font)
    return image.tobytes()


def picture(png: bytes, size: tuple[int, int] = (800, 500)) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    image.load()
    assert image.size == size
    return image.convert("RGB")


def inked(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    """How many pixels in `box` are not the background."""
    background = Image.new("RGB", image.size, charts.BACKGROUND).crop(box).tobytes()
    pixels, plain = image.crop(box).tobytes(), background
    return sum(pixels[i : i + 3] != plain[i : i + 3] for i in range(0, len(pixels), 3))


def no_hangul_font(tmp_path: Path) -> Path:
    """Pillow's own default font (no Hangul), written to a file."""
    default = ImageFont.load_default(size=20)
    data = getattr(default, "font_bytes", None)
    if not data:
        pytest.skip("this Pillow has no FreeType default font")
    path = tmp_path / "pillow-default.ttf"
    path.write_bytes(data)
    return path


def week(*values: int) -> list[Bar]:
    return [Bar(day, value) for day, value in zip(WEEK, values, strict=True)]


# The font


def test_the_bundled_font_draws_two_different_korean_letters_not_the_missing_glyph() -> None:
    ga, na, missing = (drawn(BUNDLED_FONT, char) for char in ("가", "나", "\ue000"))
    assert any(ga) and any(na)
    assert ga != na
    assert ga != missing and na != missing
    assert renders_hangul(BUNDLED_FONT)
    assert renders_hangul(BUNDLED_BOLD_FONT)


def test_without_haru_font_the_bundled_fonts_are_used() -> None:
    assert find_font() == BUNDLED_FONT
    assert find_font(bold=True) == BUNDLED_BOLD_FONT


def test_fonts_without_hangul_do_not_count(tmp_path: Path) -> None:
    assert not renders_hangul(no_hangul_font(tmp_path))
    if DEJAVU.is_file():
        assert not renders_hangul(DEJAVU)


def test_a_missing_file_or_a_file_that_is_no_font_does_not_count(tmp_path: Path) -> None:
    (tmp_path / "notes.ttf").write_text("not a font")
    assert not renders_hangul(tmp_path / "notes.ttf")
    assert not renders_hangul(tmp_path / "missing.ttf")
    assert not renders_hangul(tmp_path)


def test_haru_font_is_used_when_it_draws_korean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "my-korean.ttf"
    shutil.copyfile(BUNDLED_FONT, mine)
    monkeypatch.setenv(charts.FONT_ENV, str(mine))
    assert find_font() == mine
    assert find_font(bold=True) == mine


@pytest.mark.parametrize("kind", ["no hangul", "dejavu", "not a font", "missing"])
def test_a_haru_font_that_cannot_draw_korean_is_skipped_for_the_bundled_one(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if kind == "no hangul":
        path = no_hangul_font(tmp_path)
    elif kind == "dejavu":
        if not DEJAVU.is_file():
            pytest.skip("DejaVu is not installed here")
        path = DEJAVU
    elif kind == "not a font":
        path = tmp_path / "font.ttf"
        path.write_bytes(b"\x00\x01\x00\x00 but nothing else")
    else:
        path = tmp_path / "gone.ttf"
    monkeypatch.setenv(charts.FONT_ENV, str(path))
    assert find_font() == BUNDLED_FONT
    png = bar_chart(week(1, 2, 3, 4, 5, 6, 7), title="민지님의 이번 주", empty="쉬었어요")
    picture(png)


def test_with_no_korean_font_anywhere_the_error_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(charts, "BUNDLED_FONT", tmp_path / "gone.ttf")
    monkeypatch.setattr(charts, "BUNDLED_BOLD_FONT", tmp_path / "gone-bold.ttf")
    monkeypatch.setattr(charts, "_SYSTEM_FONTS", ())
    monkeypatch.setattr(charts, "_SYSTEM_BOLD_FONTS", ())
    monkeypatch.setattr(charts, "_fc_match", lambda bold: [])
    with pytest.raises(ChartError, match="HARU_FONT"):
        find_font()


# What the chart shows


def test_a_korean_title_is_drawn_as_its_own_letters() -> None:
    bars = week(3, 5, 0, 2, 4, 1, 0)
    # Same length on purpose: boxes for both titles would give two identical pictures.
    minji = picture(bar_chart(bars, title="민지님의 이번 주", empty="쉬었어요"))
    seoyeon = picture(bar_chart(bars, title="서연님의 이번 주", empty="쉬었어요"))
    title = (0, 0, 800, 90)
    assert minji.crop(title).tobytes() != seoyeon.crop(title).tobytes()
    assert inked(minji, title) > 500
    below = (0, 90, 800, 500)
    assert minji.crop(below).tobytes() == seoyeon.crop(below).tobytes()


def test_a_character_the_font_lacks_is_left_out_not_drawn_as_a_box() -> None:
    bars = week(3, 5, 0, 2, 4, 1, 0)
    plain = bar_chart(bars, title="민지님의 이번 주", empty="쉬었어요")
    emoji = bar_chart(bars, title="민지님의 🌱 이번 주", empty="쉬었어요")
    assert plain == emoji


def test_an_all_zero_week_shows_its_days_and_the_empty_sentence() -> None:
    zeros = week(0, 0, 0, 0, 0, 0, 0)
    rested = picture(bar_chart(zeros, title="민지님의 이번 주", empty="이번 주는 쉬었어요"))
    silent = picture(bar_chart(zeros, title="민지님의 이번 주", empty=""))
    middle = (200, 220, 600, 340)
    assert inked(rested, middle) > 300
    assert inked(silent, middle) == 0
    labels = (0, 445, 800, 500)
    assert inked(rested, labels) > 300


def test_no_bars_at_all_still_gives_a_picture_with_the_empty_sentence() -> None:
    image = picture(bar_chart([], title="이번 주", empty="아직 일한 날이 없어요"))
    assert inked(image, (200, 220, 600, 340)) > 300


def test_a_zero_day_has_no_number_above_it() -> None:
    bars = [Bar("월", 0), Bar("화", 5)]
    numbers = picture(bar_chart(bars, title="이번 주", empty="-", show_values=True))
    bare = picture(bar_chart(bars, title="이번 주", empty="-", show_values=False))
    monday, tuesday = (0, 90, 400, 500), (400, 90, 800, 500)
    assert numbers.crop(monday).tobytes() == bare.crop(monday).tobytes()
    assert numbers.crop(tuesday).tobytes() != bare.crop(tuesday).tobytes()


def test_a_note_is_drawn_instead_of_the_number() -> None:
    value = picture(bar_chart([Bar("월", 1)], title="이번 주", empty="-"))
    check = picture(bar_chart([Bar("월", 1, note="✓")], title="이번 주", empty="-"))
    assert value.tobytes() != check.tobytes()
    above_bar = (300, 90, 500, 170)
    assert inked(check, above_bar) > 30


def bar_column_heights(image: Image.Image) -> list[int]:
    """For each column, how many of its pixels have the bars' colour (the commonest ink)."""
    pixels = image.tobytes()
    colours = Counter(pixels[i : i + 3] for i in range(0, len(pixels), 3))
    background = bytes(Image.new("RGB", (1, 1), charts.BACKGROUND).tobytes())
    bar = next(colour for colour, _ in colours.most_common() if colour != background)
    width, height = image.size
    return [
        sum(pixels[3 * (y * width + x) : 3 * (y * width + x) + 3] == bar for y in range(height))
        for x in range(width)
    ]


def test_bar_heights_are_proportional_to_the_values() -> None:
    image = picture(bar_chart([Bar("a", 1), Bar("b", 2)], title="t", empty="-"))
    columns = bar_column_heights(image)
    one, two = max(columns[:400]), max(columns[400:])
    assert one > 50
    assert two == pytest.approx(2 * one, rel=0.03)


@pytest.mark.parametrize("count", [1, 7, 14, 31])
def test_one_to_thirty_one_bars_fit(count: int) -> None:
    bars = [Bar(f"11/{day + 1}", (day * 37) % 50 + 1) for day in range(count)]
    image = picture(bar_chart(bars, title="동물 사진 분류 · 최근", empty="-", subtitle="하루 답"))
    assert max(bar_column_heights(image)) > 100


@pytest.mark.parametrize(
    "bars",
    [
        [Bar("월", 1_000_000)],
        [Bar(f"{day}", 1_000_000 - day) for day in range(31)],
        [Bar("가" * 200, 1), Bar("b" * 200, 1_000_000)],
        [Bar("11/8", 1), *(Bar("x", 1_000_000) for _ in range(13))],
    ],
    ids=["one million", "31 near a million", "long labels", "one small among millions"],
)
def test_big_numbers_and_long_labels_fit(bars: list[Bar]) -> None:
    picture(bar_chart(bars, title="큰 수", empty="-"))


def test_a_long_title_is_shortened_and_other_sizes_work() -> None:
    title, subtitle = "민지님의 아주 긴 제목 " * 20, "Subtitle " * 30
    assert len(title) >= 200
    picture(bar_chart(week(1, 2, 3, 4, 5, 6, 7), title=title, subtitle=subtitle, empty="-"))
    small = bar_chart(week(1, 2, 3, 4, 5, 6, 7), title=title, empty="-", width=400, height=300)
    picture(small, (400, 300))


def test_a_long_text_ends_with_an_ellipsis_inside_its_room() -> None:
    font = ImageFont.truetype(str(BUNDLED_FONT), 24, layout_engine=ImageFont.Layout.BASIC)
    short = charts._fit("민지님의 이번 주 " * 20, font, 300)
    assert short.endswith("…")
    assert 250 < font.getlength(short) <= 300
    assert charts._fit("월", font, 300) == "월"


def test_a_negative_value_or_an_impossible_size_is_refused() -> None:
    with pytest.raises(ChartError, match="negative"):
        Bar("월", -1)
    with pytest.raises(ChartError, match="pixels"):
        bar_chart(week(1, 2, 3, 4, 5, 6, 7), title="t", empty="-", width=10, height=10)
    with pytest.raises(ChartError, match="bars do not fit"):
        bar_chart([Bar("x", 1)] * 101, title="t", empty="-")


def test_the_png_is_small() -> None:
    png = bar_chart(week(12, 20, 0, 15, 8, 0, 3), title="민지님의 이번 주", empty="-")
    assert len(png) < 30_000
