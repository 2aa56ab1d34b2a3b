"""Still-life pictures for the demo catalogue, drawn with Pillow (no network, deterministic)."""

import io
import math
import random

from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 800, 1000

PALETTES = [
    ((236, 228, 218), (206, 192, 176)),
    ((226, 232, 228), (190, 204, 196)),
    ((238, 230, 232), (212, 192, 198)),
    ((228, 228, 236), (196, 196, 214)),
    ((240, 236, 226), (218, 206, 178)),
]
OBJECT_COLOURS = {
    "black": (34, 32, 32),
    "cognac": (150, 84, 40),
    "ivory": (240, 232, 214),
    "navy": (36, 48, 84),
    "burgundy": (110, 28, 44),
    "olive": (98, 100, 58),
    "gold": (196, 160, 84),
    "silver": (180, 184, 190),
    "rose": (204, 150, 150),
    "emerald": (30, 100, 76),
}


def _background(draw: ImageDraw.ImageDraw, top, bottom) -> None:
    for y in range(HEIGHT):
        t = y / HEIGHT
        colour = tuple(int(top[i] * (1 - t) + bottom[i] * t) for i in range(3))
        draw.line([(0, y), (WIDTH, y)], fill=colour)
    # a table edge for the object to sit on
    draw.rectangle([0, int(HEIGHT * 0.78), WIDTH, HEIGHT], fill=tuple(c - 18 for c in bottom))


def _shade(colour, amount):
    return tuple(max(0, min(255, c + amount)) for c in colour)


def _bag(draw, colour, rng):
    w, h = rng.randint(420, 520), rng.randint(300, 380)
    x0, y1 = (WIDTH - w) // 2, int(HEIGHT * 0.8)
    y0 = y1 - h
    draw.arc(
        [x0 + w * 0.22, y0 - h * 0.55, x0 + w * 0.78, y0 + h * 0.35],
        180,
        360,
        fill=_shade(colour, -30),
        width=18,
    )
    draw.rounded_rectangle([x0, y0, x0 + w, y1], radius=36, fill=colour)
    draw.rounded_rectangle([x0, y0, x0 + w, y0 + h * 0.28], radius=36, fill=_shade(colour, 18))
    draw.rectangle(
        [WIDTH // 2 - 26, y0 + h * 0.22, WIDTH // 2 + 26, y0 + h * 0.34],
        fill=OBJECT_COLOURS["gold"],
    )


def _watch(draw, colour, rng):
    cx, cy, r = WIDTH // 2, int(HEIGHT * 0.5), rng.randint(120, 150)
    draw.rounded_rectangle(
        [cx - 70, cy - 380, cx + 70, cy + 380], radius=30, fill=_shade(colour, -20)
    )
    draw.ellipse(
        [cx - r - 18, cy - r - 18, cx + r + 18, cy + r + 18], fill=OBJECT_COLOURS["silver"]
    )
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(248, 246, 240))
    for hour in range(12):
        angle = math.radians(hour * 30)
        x, y = cx + math.sin(angle) * (r - 20), cy - math.cos(angle) * (r - 20)
        draw.ellipse([x - 5, y - 5, x + 5, y + 5], fill=(40, 40, 40))
    draw.line([cx, cy, cx + r * 0.5, cy - r * 0.3], fill=(30, 30, 30), width=8)
    draw.line([cx, cy, cx - r * 0.15, cy - r * 0.75], fill=(30, 30, 30), width=5)


def _ring(draw, colour, rng):
    cx, cy = WIDTH // 2, int(HEIGHT * 0.6)
    draw.ellipse([cx - 170, cy - 120, cx + 170, cy + 120], outline=OBJECT_COLOURS["gold"], width=34)
    draw.polygon(
        [(cx, cy - 240), (cx - 60, cy - 170), (cx, cy - 110), (cx + 60, cy - 170)],
        fill=_shade(colour, 40),
    )


def _garment(draw, colour, rng):
    cx, top = WIDTH // 2, int(HEIGHT * 0.16)
    draw.line([cx, top - 60, cx, top], fill=(90, 90, 90), width=6)
    draw.polygon(
        [
            (cx - 120, top),
            (cx + 120, top),
            (cx + 260, top + 160),
            (cx + 200, top + 220),
            (cx + 150, top + 170),
            (cx + 160, top + 680),
            (cx - 160, top + 680),
            (cx - 150, top + 170),
            (cx - 200, top + 220),
            (cx - 260, top + 160),
        ],
        fill=colour,
    )
    draw.polygon([(cx - 60, top), (cx, top + 110), (cx + 60, top)], fill=_shade(colour, 30))


def _shoe(draw, colour, rng):
    base = int(HEIGHT * 0.74)
    draw.polygon(
        [
            (170, base),
            (620, base),
            (650, base - 80),
            (520, base - 170),
            (400, base - 150),
            (260, base - 60),
            (170, base - 40),
        ],
        fill=colour,
    )
    draw.rectangle([600, base - 10, 630, base + 60], fill=_shade(colour, -40))


def _scarf(draw, colour, rng):
    for i in range(6):
        y = 260 + i * 80
        draw.rounded_rectangle(
            [180 + (i % 2) * 30, y, 620 - (i % 2) * 30, y + 70],
            radius=30,
            fill=_shade(colour, (i % 3) * 18 - 18),
        )


SHAPES = {
    "bag": _bag,
    "watch": _watch,
    "jewellery": _ring,
    "clothing": _garment,
    "shoes": _shoe,
    "scarf": _scarf,
}


def demo_image(*, shape: str, colour: str, seed: int) -> bytes:
    """A JPEG still life of `shape` in `colour`, the same for the same seed."""
    rng = random.Random(seed)
    top, bottom = PALETTES[seed % len(PALETTES)]
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    _background(draw, top, bottom)
    shadow = Image.new("L", (WIDTH, HEIGHT), 0)
    ImageDraw.Draw(shadow).ellipse([180, int(HEIGHT * 0.76), 620, int(HEIGHT * 0.84)], fill=90)
    image.paste((0, 0, 0), mask=shadow.filter(ImageFilter.GaussianBlur(24)))
    SHAPES.get(shape, _bag)(draw, OBJECT_COLOURS.get(colour, (120, 110, 100)), rng)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=84, optimize=True)
    return buffer.getvalue()


def logo_image(*, initials: str, seed: int) -> bytes:
    """A square monogram for a shop or designer."""
    top, bottom = PALETTES[seed % len(PALETTES)]
    image = Image.new("RGB", (400, 400), bottom)
    draw = ImageDraw.Draw(image)
    draw.ellipse([40, 40, 360, 360], outline=(40, 36, 34), width=6)
    draw.text((200, 200), initials, fill=(40, 36, 34), anchor="mm", font_size=120)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
