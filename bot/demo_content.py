"""The demo's sample work: generated pictures of shapes and short reviews in Korean and English.

Every item comes with its true answer and a difficulty (0 easy .. 1 hard), so the demo can
simulate workers of different skill and then say how right the final labels came out. The same
seed gives the same items.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter

IMAGES = "demo-images"
SENTENCES = "demo-sentences"
IMAGE_QUESTION = "어떤 모양인가요?"
IMAGE_CHOICES = ("🔵 동그라미", "🟥 네모", "🔺 세모")
SENTENCE_QUESTION = "이 글은 어떤 느낌인가요?"
SENTENCE_CHOICES = ("😊 좋아요", "😞 나빠요")
SIZE = (320, 240)


@dataclass(frozen=True)
class SampleItem:
    """One item: a JPEG or a sentence, its true answer (choice index) and how hard it is."""

    key: str  # file name or the sentence itself
    answer: int
    difficulty: float
    data: bytes | None = None
    text: str | None = None
    reason: str | None = None  # for practice items


# --- pictures ----------------------------------------------------------------------------------

_PALETTE = [(220, 60, 60), (60, 120, 220), (240, 170, 30), (60, 170, 90), (150, 80, 200),
            (30, 30, 30), (230, 110, 170)]


def _shape(draw: ImageDraw.ImageDraw, kind: int, cx: float, cy: float, r: float,
           angle: float, color: tuple[int, int, int]) -> None:
    if kind == 0:
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=color)
        return
    corners = 4 if kind == 1 else 3
    start = angle + (math.pi / 4 if corners == 4 else -math.pi / 2)
    points = [(cx + r * math.cos(start + 2 * math.pi * k / corners),
               cy + r * math.sin(start + 2 * math.pi * k / corners)) for k in range(corners)]
    draw.polygon(points, fill=color)


def picture(rng: random.Random, kind: int, difficulty: float) -> bytes:
    """A shape on a plain background; harder ones are small, faint, blurred and cluttered."""
    width, height = SIZE
    background = tuple(rng.randint(200, 255) for _ in range(3))
    image = Image.new("RGB", SIZE, background)
    draw = ImageDraw.Draw(image)
    for _ in range(int(difficulty * 6)):  # clutter: small shapes of other kinds
        other = rng.choice([k for k in range(3) if k != kind])
        _shape(draw, other, rng.uniform(0, width), rng.uniform(0, height),
               rng.uniform(6, 14), rng.uniform(0, math.tau), rng.choice(_PALETTE))
    radius = rng.uniform(70, 95) * (1 - 0.65 * difficulty)
    color = rng.choice(_PALETTE)
    if difficulty > 0.5:  # faint: halfway to the background
        color = tuple((c + b) // 2 for c, b in zip(color, background, strict=True))  # type: ignore[assignment]
    _shape(draw, kind, rng.uniform(radius + 5, width - radius - 5),
           rng.uniform(radius + 5, height - radius - 5), radius,
           rng.uniform(-0.3, 0.3), color)
    if difficulty > 0.6:
        image = image.filter(ImageFilter.GaussianBlur(radius=1 + 4 * (difficulty - 0.6)))
    for _ in range(40):  # a little noise: every picture is its own file
        draw.point((rng.randrange(width), rng.randrange(height)), fill=rng.choice(_PALETTE))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


_SHAPE_NAMES = ("circle", "square", "triangle")
_PICTURE_REASONS = ("둥글고 모서리가 없어요.", "모서리가 네 개예요.", "모서리가 세 개예요.")


def pictures(count: int, seed: int, prefix: str = "shape") -> list[SampleItem]:
    rng = random.Random(f"{seed}:{prefix}")
    items = []
    for n in range(1, count + 1):
        kind = rng.randrange(3)
        difficulty = min(1.0, rng.betavariate(1.2, 3.5))
        items.append(SampleItem(f"{prefix}-{n:04d}-{_SHAPE_NAMES[kind]}.jpg", kind, difficulty,
                                data=picture(rng, kind, difficulty),
                                reason=_PICTURE_REASONS[kind]))
    return items


# --- sentences -----------------------------------------------------------------------------

_KO_SUBJECTS = ["음식이", "직원이", "배송이", "가격이", "자리가", "화장실이", "커피가", "빵이",
                "포장이", "주차가", "음악이", "의자가", "메뉴가", "국물이", "설명이"]
_KO_GOOD = ["정말 좋았어요.", "아주 친절했어요.", "빨라서 좋았어요.", "마음에 들어요.",
            "깨끗하고 편했어요.", "또 오고 싶어요."]
_KO_BAD = ["너무 별로였어요.", "불친절했어요.", "너무 늦었어요.", "실망스러웠어요.",
           "더럽고 불편했어요.", "다시는 안 올래요."]
_KO_MIXED = ["괜찮았지만 좀 아쉬웠어요.", "나쁘진 않았는데 비쌌어요.",
             "좋았다가 나중엔 별로였어요."]
_EN_SUBJECTS = ["The food", "The staff", "The delivery", "The price", "The seat", "The coffee",
                "The bread", "The music", "The packaging", "The parking", "The soup",
                "The menu", "The room", "The service", "The app"]
_EN_GOOD = ["was really good.", "was so kind.", "was quick, thank you.", "made my day.",
            "was clean and comfortable.", "is why I will come back."]
_EN_BAD = ["was really bad.", "was rude.", "took far too long.", "was a letdown.",
           "was dirty and uncomfortable.", "is why I will not come back."]
_EN_MIXED = ["was fine, but a bit disappointing.", "was not bad, just too expensive.",
             "started well and then went wrong."]
_SENTENCE_REASONS = ("좋았다고 말하고 있어요.", "나빴다고 말하고 있어요.")


def sentences(count: int, seed: int, prefix: str = "review") -> list[SampleItem]:
    """Short reviews, half Korean and half English; mixed feelings are the hard ones."""
    rng = random.Random(f"{seed}:{prefix}")
    items: list[SampleItem] = []
    seen: set[str] = set()
    while len(items) < count:
        korean = len(items) % 2 == 0
        subjects = _KO_SUBJECTS if korean else _EN_SUBJECTS
        mixed = rng.random() < 0.2
        answer = rng.randrange(2)
        if mixed:
            ending = rng.choice(_KO_MIXED if korean else _EN_MIXED)
            difficulty = rng.uniform(0.6, 0.95)
        else:
            good, bad = (_KO_GOOD, _KO_BAD) if korean else (_EN_GOOD, _EN_BAD)
            ending = rng.choice(good if answer == 0 else bad)
            difficulty = rng.uniform(0.0, 0.3)
        text = f"{rng.choice(subjects)} {ending}"
        if text in seen:  # more items than combinations: a place makes each one its own
            place = f"{rng.randint(1, 999)}호점" if korean else f"branch {rng.randint(1, 999)}"
            text = f"{text[:-1]} ({place})."
        if text in seen:
            continue
        seen.add(text)
        # A mixed review's "truth" leans the way its first half goes: good-but -> 😊.
        if mixed:
            answer = 0 if any(w in ending for w in ("괜찮", "나쁘진", "fine", "not bad")) else 1
        items.append(SampleItem(text, answer, difficulty, text=text,
                                reason=_SENTENCE_REASONS[answer]))
    return items
