"""Pictures made phone-ready once, at import: upright, RGB JPEG, longest side at most 1280 px.

Hostile files are expected: the pixel count is checked from the header before anything is
decoded, and every failure becomes a plain-English `Rejected` instead of an exception.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from tasks.model import ItemKind

if TYPE_CHECKING:
    from tasks.known import Answer

log = logging.getLogger(__name__)

MAX_PIXELS = 40_000_000
MAX_SIDE = 1280
JPEG_QUALITY = 85

# Phones often save JPEGs as MPO (a JPEG with a second, depth or preview, frame).
_ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP"})
# Pillow's own bomb guard warns through the process-wide warnings filters; the lock stops our
# worker threads from saving and restoring each other's filters out of order.
_WARNINGS_LOCK = threading.Lock()
_HEIF_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"hevc": "HEIC", b"mif1": "HEIF", b"avif": "AVIF"}


@dataclass(frozen=True)
class PreparedImage:
    jpeg: bytes
    width: int
    height: int
    content_key: str
    source: str
    kind: ItemKind = ItemKind.IMAGE
    answer: Answer | None = None  # gold and practice: the known answer


@dataclass(frozen=True)
class Rejected:
    source: str
    reason: str



def prepare_image(data: bytes, source: str) -> PreparedImage | Rejected:
    """Turn one file's bytes into a phone-ready JPEG, or say in plain words why not."""
    if not data:
        return Rejected(source, "empty file")
    try:
        return _prepare_image(data, source)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        return Rejected(source, _too_many_pixels(int(found[1]) if found else None))
    except UnidentifiedImageError:
        heif = _sniff_heif(data)
        return Rejected(source, _unsupported(heif) if heif else "not an image")
    except (OSError, SyntaxError, ValueError, EOFError, IndexError):
        return Rejected(source, "corrupt or truncated image")
    except Exception:
        # Decoders meet hostile files in odd ways; log it, reject the file, keep importing.
        log.warning("unexpected error while decoding %s", source, exc_info=True)
        return Rejected(source, "corrupt or truncated image")


def _prepare_image(data: bytes, source: str) -> PreparedImage | Rejected:
    with open_image(io.BytesIO(data)) as header:  # reads the header only: nothing decoded yet
        if header.format not in _ACCEPTED_FORMATS:
            return Rejected(source, _unsupported(header.format or "unknown"))
        if header.width * header.height > MAX_PIXELS:
            return Rejected(source, _too_many_pixels(header.width * header.height))
        header.verify()
    with open_image(io.BytesIO(data)) as image:  # verify() leaves the image unusable
        # JPEG can decode straight at 1/2, 1/4 or 1/8 scale: ~3x faster for phone photos.
        image.draft(None, _fitted(image.size))
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
        rgb = _to_rgb(image)
    # The key hashes the pixels before resizing, so it does not depend on the resampler.
    digest = hashlib.sha256(f"{rgb.width}x{rgb.height}:".encode() + rgb.tobytes()).hexdigest()
    rgb.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    rgb.info = {}  # EXIF, XMP and comments may carry GPS or names; workers need none of it
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return PreparedImage(out.getvalue(), rgb.width, rgb.height, "img:" + digest, source)


def open_image(fp: IO[bytes] | Path) -> ImageFile.ImageFile:
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(fp)


def _fitted(size: tuple[int, int]) -> tuple[int, int]:
    scale = min(1.0, MAX_SIDE / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.has_transparency_data:
        # Transparent areas would turn black in a JPEG; white reads best on a phone screen.
        canvas = Image.new("RGBA", image.size, (255, 255, 255, 255))
        canvas.alpha_composite(image.convert("RGBA"))
        return canvas.convert("RGB")
    if image.mode in ("I", "I;16", "I;16B", "I;16L"):
        # 16-bit greyscale would clip to white when converted directly.
        return image.convert("I").point(lambda value: value / 256).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def _sniff_heif(data: bytes) -> str | None:
    """iPhone photos are often HEIC, which Pillow cannot read: name it so people know what to do."""
    return _HEIF_BRANDS.get(data[8:12]) if data[4:8] == b"ftyp" else None


def _unsupported(image_format: str) -> str:
    return f"unsupported image type ({image_format}); use JPEG, PNG or WebP"


def _too_many_pixels(pixels: int | None) -> str:
    size = f"{pixels / 1e6:.1f} megapixels" if pixels else "too many pixels"
    return f"image too large ({size}; the limit is {MAX_PIXELS / 1e6:g})"
