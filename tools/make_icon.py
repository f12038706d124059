"""Draw the app icon: resources/icons/selfie-desk.png (256 px) and the same picture as selfie-desk.svg.

    .venv/bin/python tools/make_icon.py

A portrait in a viewfinder: a rounded tile, a head-and-shoulders silhouette, crop corners around it and a
small score bar underneath, i.e. what the app does (score, crop). One geometry (in a 256 x 256 box) is
drawn twice: by Pillow at 4x and scaled down (anti-aliased PNG for the .deb and the window), and as SVG
text for desktops that prefer a scalable icon. Run it again after changing the geometry; commit both.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZE = 256
SS = 4  # supersampling factor for the PNG

TOP, BOTTOM = (38, 70, 120), (18, 32, 58)  # tile gradient
TILE = (8, 8, 248, 248, 48)  # x0, y0, x1, y1, corner radius
HEAD = (128, 104, 38)  # cx, cy, r
SHOULDERS = (62, 150, 194, 262)  # ellipse box, clipped by the frame
FRAME = (60, 52, 196, 188)  # the crop: its corners are drawn
CORNER, STROKE = 30, 10
SUBJECT = (244, 196, 120)
CROP = (255, 255, 255)
BAR = (60, 206, 236, 222, 7)  # score bar: x0, y0, x1, y1, radius
BAR_FILL = 0.78
BAR_BG, BAR_FG = (255, 255, 255, 70), (120, 220, 130)


def _hex(rgb: tuple[int, ...]) -> str:
    return "#" + "".join(f"{v:02x}" for v in rgb[:3])


def corner_lines() -> list[tuple[float, float, float, float]]:
    x0, y0, x1, y1 = FRAME
    return [
        (x0, y0, x0 + CORNER, y0), (x0, y0, x0, y0 + CORNER),
        (x1 - CORNER, y0, x1, y0), (x1, y0, x1, y0 + CORNER),
        (x0, y1 - CORNER, x0, y1), (x0, y1, x0 + CORNER, y1),
        (x1, y1 - CORNER, x1, y1), (x1 - CORNER, y1, x1, y1),
    ]


def png() -> Image.Image:
    n = SIZE * SS

    def s(v: float) -> int:
        return int(round(v * SS))

    # the tile: a vertical gradient through a rounded-rectangle mask
    grad = Image.new("RGB", (1, n))
    for y in range(n):
        t = y / (n - 1)
        grad.putpixel((0, y), tuple(int(a + (b - a) * t) for a, b in zip(TOP, BOTTOM, strict=True)))
    grad = grad.resize((n, n))
    mask = Image.new("L", (n, n), 0)
    x0, y0, x1, y1, r = TILE
    ImageDraw.Draw(mask).rounded_rectangle((s(x0), s(y0), s(x1), s(y1)), radius=s(r), fill=255)
    im = Image.new("RGBA", (n, n), (0, 0, 0, 0))
    im.paste(grad, (0, 0), mask)

    # the subject, clipped to the inside of the crop frame
    subject = Image.new("L", (n, n), 0)
    d = ImageDraw.Draw(subject)
    cx, cy, hr = HEAD
    d.ellipse((s(cx - hr), s(cy - hr), s(cx + hr), s(cy + hr)), fill=255)
    d.ellipse(tuple(s(v) for v in SHOULDERS), fill=255)
    fx0, fy0, fx1, fy1 = FRAME
    clip = Image.new("L", (n, n), 0)
    ImageDraw.Draw(clip).rectangle((s(fx0), s(fy0), s(fx1), s(fy1)), fill=255)
    subject = Image.composite(subject, Image.new("L", (n, n), 0), clip)
    im.paste(Image.new("RGBA", (n, n), SUBJECT + (255,)), (0, 0), subject)

    d = ImageDraw.Draw(im)
    for line in corner_lines():
        d.line(tuple(s(v) for v in line), fill=CROP + (255,), width=s(STROKE))
    for x, y in ((fx0, fy0), (fx1, fy0), (fx0, fy1), (fx1, fy1)):  # square the joints
        h = STROKE / 2
        d.rectangle((s(x - h), s(y - h), s(x + h), s(y + h)), fill=CROP + (255,))
    bx0, by0, bx1, by1, br = BAR
    d.rounded_rectangle((s(bx0), s(by0), s(bx1), s(by1)), radius=s(br), fill=BAR_BG)
    d.rounded_rectangle((s(bx0), s(by0), s(bx0 + (bx1 - bx0) * BAR_FILL), s(by1)), radius=s(br), fill=BAR_FG)
    return im.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def svg() -> str:
    x0, y0, x1, y1, r = TILE
    cx, cy, hr = HEAD
    sx0, sy0, sx1, sy1 = SHOULDERS
    fx0, fy0, fx1, fy1 = FRAME
    bx0, by0, bx1, by1, br = BAR
    lines = "\n".join(
        f'    <line x1="{a}" y1="{b}" x2="{c}" y2="{e}"/>' for a, b, c, e in corner_lines()
    )
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" viewBox="0 0 {SIZE} {SIZE}">
  <!-- Written by tools/make_icon.py; edit the geometry there. -->
  <defs>
    <linearGradient id="tile" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="{_hex(TOP)}"/>
      <stop offset="1" stop-color="{_hex(BOTTOM)}"/>
    </linearGradient>
    <clipPath id="frame"><rect x="{fx0}" y="{fy0}" width="{fx1 - fx0}" height="{fy1 - fy0}"/></clipPath>
  </defs>
  <rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" rx="{r}" fill="url(#tile)"/>
  <g clip-path="url(#frame)" fill="{_hex(SUBJECT)}">
    <circle cx="{cx}" cy="{cy}" r="{hr}"/>
    <ellipse cx="{(sx0 + sx1) / 2}" cy="{(sy0 + sy1) / 2}" rx="{(sx1 - sx0) / 2}" ry="{(sy1 - sy0) / 2}"/>
  </g>
  <g stroke="{_hex(CROP)}" stroke-width="{STROKE}" stroke-linecap="square">
{lines}
  </g>
  <rect x="{bx0}" y="{by0}" width="{bx1 - bx0}" height="{by1 - by0}" rx="{br}" fill="#ffffff" fill-opacity="0.27"/>
  <rect x="{bx0}" y="{by0}" width="{(bx1 - bx0) * BAR_FILL:.1f}" height="{by1 - by0}" rx="{br}" fill="{_hex(BAR_FG)}"/>
</svg>
"""


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    png().save(OUT / "selfie-desk.png", optimize=True)
    (OUT / "selfie-desk.svg").write_text(svg(), encoding="utf-8")
    print(f"wrote {OUT / 'selfie-desk.png'} and {OUT / 'selfie-desk.svg'}")


if __name__ == "__main__":
    main()
