"""Bar charts as PNG pictures: a guardian's week, a coordinator's fourteen days.

Neither Pillow's own font nor DejaVu has Hangul, and a chart whose Korean title comes out as boxes
is worse than no chart. So Haru ships a subset of NanumGothic (`bot/fonts/`, SIL OFL 1.1) and
checks every candidate font by drawing Korean with it. Characters the font still lacks (an emoji
in a title) are left out rather than drawn as boxes.

A chart takes ~15 ms of CPU (most of it compressing the PNG), ~35 ms for the first in a process:
call `bar_chart` via `asyncio.to_thread` from a handler.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw, ImageFont

log = logging.getLogger(__name__)

FONT_ENV = "HARU_FONT"
FONT_DIR = Path(__file__).with_name("fonts")
BUNDLED_FONT = FONT_DIR / "HaruGothic-Regular.ttf"
BUNDLED_BOLD_FONT = FONT_DIR / "HaruGothic-Bold.ttf"

# Tried only if the bundled font is gone or broken: Debian/Ubuntu (fonts-nanum, fonts-noto-cjk),
# Fedora, Arch, macOS, Windows. Bold lists come first when bold is asked for.
_SYSTEM_FONTS = (
    "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
    "/usr/share/fonts/truetype/nanum/NanumBarunGothic.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/AppleSDGothicNeo.ttc",
    "C:/Windows/Fonts/malgun.ttf",
)
_SYSTEM_BOLD_FONTS = (
    "/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf",
    "/usr/share/fonts/truetype/nanum/NanumBarunGothicBold.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
    "C:/Windows/Fonts/malgunbd.ttf",
)

# Precomposed Hangul needs no shaping (the bundled font has no GSUB table at all). BASIC draws
# the same everywhere; Pillow's default picks RAQM only where libraqm and fribidi are found.
_LAYOUT = ImageFont.Layout.BASIC
# A noncharacter no font maps, so it draws the missing-glyph box (a private-use character such
# as U+E000 may be mapped to an icon by some fonts).
_NO_GLYPH = "\uffff"
_CHECK_MARKS = frozenset({"✓", "✔", "✅", "☑", "☑️", "✔️"})  # few fonts have them: drawn as lines
_ELLIPSIS = "…"

BACKGROUND = "#FFFFFF"
INK = "#1F2A30"  # 14.7:1 on white
SOFT_INK = "#4B5A63"  # 7.1:1, for the subtitle and the empty-week sentence
BAR = "#3F8F6E"  # a calm green, 3.9:1 (WCAG asks 3:1 for graphics)
BASELINE = "#7B8794"  # 3.7:1

MIN_SIZE = (320, 240)
MAX_SIZE = (4000, 4000)

# The cached fonts are shared FreeType state; charts are rare, so drawing is serialised.
_DRAW_LOCK = threading.Lock()


class ChartError(Exception):
    """A chart cannot be drawn; the message is one sentence a coordinator can act on."""


@dataclass(frozen=True)
class Bar:
    label: str  # under the bar: "월", "Mon", "11/8"
    value: int  # >= 0; the height is proportional to it
    note: str | None = None  # drawn above the bar instead of the value ("✓" is drawn as lines)

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ChartError(f"The bar {self.label!r} has {self.value}; bars cannot be negative.")


def renders_hangul(path: Path) -> bool:
    """True if the font draws '가' and '나' as two different, non-empty glyphs that also differ
    from the font's missing-glyph box; False for a missing file or anything that is not a font."""
    try:
        font = ImageFont.truetype(str(path), 48, layout_engine=_LAYOUT)
        ga, na, missing = (_glyph_pixels(font, char) for char in ("가", "나", _NO_GLYPH))
    except (OSError, ValueError):
        return False
    return any(ga) and any(na) and len({ga, na, missing}) == 3


@functools.cache
def find_font(bold: bool = False) -> Path:
    """The font to draw with, found once: HARU_FONT (a path to a .ttf/.otf/.ttc) if it draws
    Hangul, else the bundled font, else well-known system fonts, else `fc-match :lang=ko`."""
    for source, path in _font_candidates(bold):
        if renders_hangul(path):
            log.info("Charts draw with %s (%s)", path, source)
            return path
        if source == FONT_ENV:
            log.warning("%s=%s cannot draw Korean; looking for another font", FONT_ENV, path)
    raise ChartError("No font that can draw Korean was found; set HARU_FONT to a Korean .ttf file.")


def _font_candidates(bold: bool) -> Iterator[tuple[str, Path]]:
    env = os.environ.get(FONT_ENV, "").strip()
    if env:
        yield FONT_ENV, Path(env).expanduser()
    bundled = (BUNDLED_BOLD_FONT, BUNDLED_FONT) if bold else (BUNDLED_FONT,)
    system = (*_SYSTEM_BOLD_FONTS, *_SYSTEM_FONTS) if bold else _SYSTEM_FONTS
    yield from (("bundled", path) for path in bundled)
    yield from (("system", Path(path)) for path in system if Path(path).is_file())
    yield from (("fc-match", path) for path in _fc_match(bold))


def _fc_match(bold: bool) -> list[Path]:
    """fontconfig's best few fonts for Korean; it answers even without one, hence the check."""
    exe = shutil.which("fc-match")
    if exe is None:
        return []
    pattern = ":lang=ko:weight=bold" if bold else ":lang=ko"
    try:
        done = subprocess.run(
            [exe, "--sort", "--format=%{file}\\n", pattern],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return [Path(line) for line in done.stdout.splitlines()[:5] if line.strip()]


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    empty: str,
    show_values: bool = True,
    subtitle: str | None = None,
    width: int = 800,
    height: int = 500,
) -> bytes:
    """A calm bar chart as PNG bytes. When every value is 0 (or there are no bars), the baseline
    and labels are still drawn and `empty` (e.g. "이번 주는 쉬었어요") is written in the middle."""
    _check_size(len(bars), width, height)
    image = Image.new("RGB", (width, height), BACKGROUND)
    with _DRAW_LOCK:
        _Chart(image, bars).render(title, subtitle, empty, show_values)
    return _png(image)


def _check_size(count: int, width: int, height: int) -> None:
    if not (MIN_SIZE[0] <= width <= MAX_SIZE[0] and MIN_SIZE[1] <= height <= MAX_SIZE[1]):
        raise ChartError(
            f"A chart must be between {MIN_SIZE[0]}×{MIN_SIZE[1]} and "
            f"{MAX_SIZE[0]}×{MAX_SIZE[1]} pixels, not {width}×{height}."
        )
    if count > width // 8:
        raise ChartError(f"{count} bars do not fit in a chart {width} pixels wide.")


class _Chart:
    """One drawing: sizes scale with the picture (the numbers are for 800×500)."""

    def __init__(self, image: Image.Image, bars: Sequence[Bar]) -> None:
        self.image, self.draw, self.bars = image, ImageDraw.Draw(image), bars
        self.width, self.height = width, height = image.size
        self.scale = min(width / 800, height / 500)
        self.regular, self.bold = find_font(), find_font(bold=True)
        self.margin = self.px(32)
        self.left, self.right = self.margin, width - self.margin
        self.slot = (self.right - self.left) / max(len(bars), 1)
        self.gap = self.px(10)

    def px(self, size: float) -> int:
        return max(1, round(size * self.scale))

    def font(self, size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
        return _font(self.bold if bold else self.regular, size)

    def render(self, title: str, subtitle: str | None, empty: str, show_values: bool) -> None:
        top = self._header(title, subtitle)
        label_font, label_step = self._label_layout()
        value_font, every_value = self._value_font(show_values)
        peak_font = self.font(self.px(26), bold=True)
        baseline = self.height - self.px(20) - _line_height(label_font) - self.px(10)
        plot_top = top + self.px(16) + _line_height(peak_font) + self.px(6)
        highest = max((bar.value for bar in self.bars), default=0)
        # Numbers too wide for their bars would run together: then only the last highest bar
        # gets its number, as a scale, in full size since nothing is beside it.
        peak = max((i for i, bar in enumerate(self.bars) if bar.value == highest), default=-1)
        self.draw.line(
            [(self.left, baseline), (self.right, baseline)], fill=BASELINE, width=self.px(2)
        )
        self._labels(label_font, label_step, baseline + self.px(2) + self.px(8))
        for index, bar in enumerate(self.bars):
            tall = _height(bar.value, highest, baseline - plot_top, self.px(3))
            if tall:
                self._bar(index, baseline - 1, tall)
            number = show_values and (every_value or index == peak)
            font = value_font if every_value else peak_font
            self._mark(index, bar, baseline - 1 - tall - self.px(8), font, number)
        if highest == 0:
            self._empty(empty, (plot_top + baseline) // 2)

    def _header(self, title: str, subtitle: str | None) -> int:
        y = self.px(28)
        room = self.width - 2 * self.margin
        font = self.font(self.px(40), bold=True)
        text = _fit(self._clean(title), font, room)
        self.draw.text((self.margin, y), text, fill=INK, font=font, anchor="la")
        y += _line_height(font)
        if subtitle:
            font = self.font(self.px(26))
            y += self.px(6)
            text = _fit(self._clean(subtitle), font, room)
            self.draw.text((self.margin, y), text, fill=SOFT_INK, font=font, anchor="la")
            y += _line_height(font)
        return y

    def _label_layout(self) -> tuple[ImageFont.FreeTypeFont, int]:
        """The largest label size from 28 down to 24 px at which every label fits its bar;
        failing that, 24 px on every n-th bar, counted back from the last (the latest day)."""
        labels = [self._clean(bar.label) for bar in self.bars]
        for size in range(self.px(28), self.px(24) - 1, -1):
            font = self.font(size)
            widest = max((font.getlength(label) for label in labels), default=0.0)
            if widest <= self.slot - self.gap:
                return font, 1
        wanted = math.ceil((widest + self.gap) / self.slot)
        return font, max(1, min(wanted, len(labels) // 4))

    def _labels(self, font: ImageFont.FreeTypeFont, step: int, y: int) -> None:
        room = step * self.slot - self.gap
        for index, bar in enumerate(self.bars):
            if (len(self.bars) - 1 - index) % step == 0:
                text = _fit(self._clean(bar.label), font, room)
                self._centred(text, self._middle(index), y, font, INK, anchor="ma")

    def _value_font(self, show_values: bool) -> tuple[ImageFont.FreeTypeFont, bool]:
        """Bold, 26 px, smaller (to 20) if the widest number would not fit over its bar; and
        whether every number fits (if not, numbers from different bars would run together)."""
        drawn = [bar for bar in self.bars if show_values and bar.note is None and bar.value > 0]
        numbers = [f"{bar.value:,}" for bar in drawn]
        for size in range(self.px(26), self.px(20) - 1, -1):
            font = self.font(size, bold=True)
            if max((font.getlength(n) for n in numbers), default=0.0) <= self.slot - self.gap:
                return font, True
        return font, False

    def _mark(
        self, index: int, bar: Bar, y: int, font: ImageFont.FreeTypeFont, number: bool
    ) -> None:
        """Above the bar: its note, else its value if `number` (never a 0: no clutter)."""
        x, room = self._middle(index), self.slot - self.gap
        if bar.note is not None and bar.note.strip() in _CHECK_MARKS:
            self._check_mark(x, y, min(font.size * 1.2, room))
        elif bar.note is not None:
            self._centred(_fit(self._clean(bar.note), font, room), x, y, font, INK, anchor="ms")
        elif number and bar.value > 0:
            self._centred(f"{bar.value:,}", x, y, font, INK, anchor="ms")

    def _check_mark(self, x: float, y: int, size: float) -> None:
        points = [(x - 0.4 * size, y - 0.45 * size), (x - 0.1 * size, y - 0.15 * size)]
        points.append((x + 0.4 * size, y - 0.8 * size))
        self.draw.line(points, fill=INK, width=max(2, round(size / 5)), joint="curve")

    def _bar(self, index: int, bottom: int, tall: int) -> None:
        """A bar with softly rounded top corners (smoothed: Pillow's own have jagged edges)."""
        half = max(1.0, min(self.slot * 0.31, self.px(60)))
        left, right = round(self._middle(index) - half), round(self._middle(index) + half)
        top = bottom - tall + 1
        radius = min(self.px(6), (right - left) // 2, tall // 2)
        self.draw.rectangle((left, top + radius, right - 1, bottom), fill=BAR)
        if radius > 0:
            self.image.paste(BAR, (left, top), _rounded_top(right - left, radius))

    def _empty(self, empty: str, y: int) -> None:
        font = self.font(self.px(30))
        text = _fit(self._clean(empty), font, self.right - self.left)
        self.draw.text((self.width / 2, y), text, fill=SOFT_INK, font=font, anchor="mm")

    def _middle(self, index: int) -> float:
        return self.left + (index + 0.5) * self.slot

    def _centred(
        self, text: str, x: float, y: int, font: ImageFont.FreeTypeFont, fill: str, anchor: str
    ) -> None:
        """Centred on x, but moved inwards rather than cut off at the picture's edges."""
        half = font.getlength(text) / 2
        x = min(max(x, half + 4), self.width - half - 4)
        self.draw.text((x, y), text, fill=fill, font=font, anchor=anchor)

    def _clean(self, text: str) -> str:
        """`text` on one line, without the characters the font would draw as boxes."""
        kept = "".join(char for char in text if _can_draw(self.regular, char))
        return " ".join(kept.split())


def _height(value: int, highest: int, room: int, least: int) -> int:
    """Pixels for `value` when `highest` gets all of `room`: integer maths (any size of int),
    and at least `least` pixels so that a small non-zero day is still seen."""
    if value <= 0 or highest <= 0:
        return 0
    return max(least, (2 * room * value + highest) // (2 * highest))


def _fit(text: str, font: ImageFont.FreeTypeFont, room: float) -> str:
    """`text`, or its longest start that fits `room` pixels with "…" after it."""
    if font.getlength(text) <= room:
        return text
    low, high = 0, len(text)  # the longest fitting prefix is in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        if font.getlength(text[:middle].rstrip() + _ELLIPSIS) <= room:
            low = middle
        else:
            high = middle
    if low == 0 and font.getlength(_ELLIPSIS) > room:
        return ""
    return text[:low].rstrip() + _ELLIPSIS


def _line_height(font: ImageFont.FreeTypeFont) -> int:
    ascent, descent = font.getmetrics()
    return ascent + descent


@functools.lru_cache(maxsize=64)
def _rounded_top(width: int, radius: int) -> Image.Image:
    """The mask of a bar's top `radius` rows, drawn 4× larger and scaled down: antialiased."""
    big = Image.new("L", (width * 4, radius * 4))
    box = (0, 0, width * 4 - 1, radius * 8)  # twice as tall: only the top corners are round
    ImageDraw.Draw(big).rounded_rectangle(box, radius * 4, fill=255)
    return big.resize((width, radius), Image.Resampling.BOX)


@functools.lru_cache(maxsize=64)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size, layout_engine=_LAYOUT)


@functools.lru_cache(maxsize=8192)
def _can_draw(path: Path, char: str) -> bool:
    if char.isspace():
        return True
    font = _font(path, 32)
    return _glyph_pixels(font, char) != _glyph_pixels(font, _NO_GLYPH)


def _glyph_pixels(font: ImageFont.FreeTypeFont, char: str) -> bytes:
    """What `char` alone draws, as bytes, to tell glyphs apart by their pixels."""
    side = round(font.size) * 2
    image = Image.new("L", (side, side))
    ImageDraw.Draw(image).text((side // 4, side // 4), char, fill=255, font=font)
    return image.tobytes()


def _png(image: Image.Image) -> bytes:
    """A small PNG in a fixed palette: the same colours in every chart, whatever is in it."""
    small = image.quantize(palette=_palette(), dither=Image.Dither.NONE)
    out = io.BytesIO()
    small.save(out, "PNG", optimize=True)
    return out.getvalue()


@functools.cache
def _palette() -> Image.Image:
    """The background, and each colour in 8 shades from it, for the antialiased edges."""
    background = ImageColor.getrgb(BACKGROUND)[:3]
    colours: list[tuple[int, ...]] = [background]
    for ink in (INK, SOFT_INK, BAR, BASELINE):
        rgb = ImageColor.getrgb(ink)[:3]
        for step in range(1, 9):
            colours.append(
                tuple(b + (c - b) * step // 8 for b, c in zip(background, rgb, strict=True))
            )
    palette = Image.new("P", (1, 1))
    palette.putpalette([channel for colour in colours for channel in colour])
    return palette
