"""Draw Filecast's window icons as PNG files, using the Python standard library only.

Run ``python3 assets/draw_icons.py`` to (re)generate every PNG in this folder.
Shapes are signed-distance functions; edge pixels are supersampled for anti-aliasing.
"""

from __future__ import annotations

import itertools
import math
import struct
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

RGB = tuple[float, float, float]
Sdf = Callable[[float, float], float]
Paint = RGB | Callable[[float], RGB]
Box = tuple[float, float, float, float]

HERE = Path(__file__).resolve().parent
SIZES = (16, 32, 48, 64, 128, 256)
LOGO_SIZE = 512
SUB = 4  # supersampling grid (SUB x SUB) used on edge pixels only


def hex_rgb(code: str) -> RGB:
    """Turn ``#RRGGBB`` into an RGB triple of floats in 0..1."""
    code = code.lstrip("#")
    return (int(code[0:2], 16) / 255, int(code[2:4], 16) / 255, int(code[4:6], 16) / 255)


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """Linear blend of two colours (t=0 gives a, t=1 gives b)."""
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


WHITE: RGB = (1.0, 1.0, 1.0)
THEMES: dict[str, tuple[RGB, RGB]] = {
    # name: (top colour, bottom colour) of the tile gradient
    "server": (hex_rgb("#1292B4"), hex_rgb("#0F6E8C")),
    "client": (hex_rgb("#27A060"), hex_rgb("#1E7F4F")),
}


# --------------------------------------------------------------------------- distance functions


def sd_round_rect(x0: float, y0: float, x1: float, y1: float, r: float) -> Sdf:
    """Rounded rectangle with corner radius r."""
    cx, cy, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2 - r, (y1 - y0) / 2 - r

    def f(px: float, py: float) -> float:
        qx = abs(px - cx) - hx
        qy = abs(py - cy) - hy
        out = math.hypot(max(qx, 0.0), max(qy, 0.0))
        return out + min(max(qx, qy), 0.0) - r

    return f


def sd_polygon(pts: Sequence[tuple[float, float]]) -> Sdf:
    """Exact distance to a simple polygon (after Inigo Quilez)."""
    edges = []
    n = len(pts)
    for i in range(n):
        ax, ay = pts[i]
        bx, by = pts[(i + 1) % n]
        ex, ey = bx - ax, by - ay
        edges.append((ax, ay, by, ex, ey, 1.0 / (ex * ex + ey * ey)))

    def f(px: float, py: float) -> float:
        best = math.inf
        inside = False
        for ax, ay, by, ex, ey, inv in edges:
            wx, wy = px - ax, py - ay
            t = (wx * ex + wy * ey) * inv
            t = 0.0 if t < 0.0 else 1.0 if t > 1.0 else t
            bx_, by_ = wx - ex * t, wy - ey * t
            dd = bx_ * bx_ + by_ * by_
            if dd < best:
                best = dd
            if (ay <= py) != (by <= py) and (ex * wy > ey * wx) == (by > ay):
                inside = not inside
        d = math.sqrt(best)
        return -d if inside else d

    return f


def sd_capsules(pts: Sequence[tuple[float, float]], width: float) -> Sdf:
    """Polyline stroke of the given width with round caps and joins."""
    segs = []
    for (ax, ay), (bx, by) in itertools.pairwise(pts):
        ex, ey = bx - ax, by - ay
        segs.append((ax, ay, ex, ey, 1.0 / (ex * ex + ey * ey)))
    half = width / 2

    def f(px: float, py: float) -> float:
        best = math.inf
        for ax, ay, ex, ey, inv in segs:
            wx, wy = px - ax, py - ay
            t = (wx * ex + wy * ey) * inv
            t = 0.0 if t < 0.0 else 1.0 if t > 1.0 else t
            dx, dy = wx - ex * t, wy - ey * t
            dd = dx * dx + dy * dy
            if dd < best:
                best = dd
        return math.sqrt(best) - half

    return f


def sd_arc(cx: float, cy: float, radius: float, width: float, butt: bool = False) -> Sdf:
    """Quarter-circle stroke from straight up to straight right of (cx, cy).

    Ends are round, or cut flat along the quadrant's edges when `butt` is set.
    """
    half = width / 2
    up = (cx, cy - radius)
    right = (cx + radius, cy)

    def f(px: float, py: float) -> float:
        dx, dy = px - cx, py - cy
        ring = abs(math.hypot(dx, dy) - radius) - half
        if butt:
            return max(ring, -dx, dy)
        if dx >= 0.0 and dy <= 0.0:
            return ring
        d0 = math.hypot(px - up[0], py - up[1])
        d1 = math.hypot(px - right[0], py - right[1])
        return min(d0, d1) - half

    return f


# --------------------------------------------------------------------------- raster + PNG


class Canvas:
    """Square RGBA float canvas (premultiplied alpha) with SDF filling."""

    def __init__(self, size: int) -> None:
        """Make a transparent canvas of size x size pixels."""
        self.size = size
        n = size * size
        self.r = [0.0] * n
        self.g = [0.0] * n
        self.b = [0.0] * n
        self.a = [0.0] * n

    def fill(self, sdf: Sdf, box: Box, paint: Paint, alpha: float = 1.0) -> None:
        """Composite shape `sdf` (inside where negative) over the canvas within `box`."""
        size = self.size
        x0 = max(0, math.floor(box[0]) - 1)
        y0 = max(0, math.floor(box[1]) - 1)
        x1 = min(size, math.ceil(box[2]) + 1)
        y1 = min(size, math.ceil(box[3]) + 1)
        offs = [(k + 0.5) / SUB - 0.5 for k in range(SUB)]
        sub_scale = float(SUB)
        inv_samples = 1.0 / (SUB * SUB)
        rr, gg, bb, aa = self.r, self.g, self.b, self.a
        for iy in range(y0, y1):
            py = iy + 0.5
            cr, cg, cb = paint(py) if callable(paint) else paint
            row = iy * size
            for ix in range(x0, x1):
                px = ix + 0.5
                d = sdf(px, py)
                if d >= 0.75:
                    continue
                if d <= -0.75:
                    cov = alpha
                else:
                    acc = 0.0
                    for oy in offs:
                        for ox in offs:
                            c = 0.5 - sdf(px + ox, py + oy) * sub_scale
                            acc += 0.0 if c <= 0.0 else 1.0 if c >= 1.0 else c
                    if acc == 0.0:
                        continue
                    cov = acc * inv_samples * alpha
                i = row + ix
                keep = 1.0 - cov
                rr[i] = cr * cov + rr[i] * keep
                gg[i] = cg * cov + gg[i] * keep
                bb[i] = cb * cov + bb[i] * keep
                aa[i] = cov + aa[i] * keep

    def rgba_rows(self) -> list[bytes]:
        """Rows of 8-bit straight-alpha RGBA bytes."""
        size = self.size
        rows = []
        for iy in range(size):
            out = bytearray(size * 4)
            for ix in range(size):
                i = iy * size + ix
                a = self.a[i]
                if a <= 0.0:
                    continue
                k = ix * 4
                out[k] = min(255, round(self.r[i] / a * 255))
                out[k + 1] = min(255, round(self.g[i] / a * 255))
                out[k + 2] = min(255, round(self.b[i] / a * 255))
                out[k + 3] = min(255, round(a * 255))
            rows.append(bytes(out))
        return rows


def png_bytes(width: int, height: int, rows: Sequence[bytes]) -> bytes:
    """Encode 8-bit RGBA rows as a PNG file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------- icon designs


@dataclass
class ServerArt:
    """Pixel geometry of the server artwork: a sheet plus broadcast arcs."""

    sheet: Box  # x0, y0, x1, y1
    fold: float
    centre: tuple[float, float]  # common centre of the arcs
    radii: list[float]  # arc centre-line radii
    stroke: float
    lines: list[Box] = field(default_factory=list)  # text-like rules on the sheet


@dataclass
class ClientArt:
    """Pixel geometry of the client artwork: a sheet, an arrow and a tray."""

    sheet: Box
    fold: float
    arrow: tuple[float, float, float, float]  # shaft width, head width, top y, tip y
    tray: Box  # outer x0, top of the side walls, outer x1, outer bottom
    stroke: float
    round_caps: bool
    stepped: bool = False  # draw the arrow head as 1 px stairs (crisper at 16 px)


# Hand-placed geometry for the smallest sizes, where every pixel counts.
SERVER_SMALL: dict[int, ServerArt] = {
    16: ServerArt((2, 7, 8, 15), 2, (8, 8), [3, 6], 2),
    32: ServerArt((4, 14, 15, 28), 4, (15, 15), [3, 7, 11], 2),
}
CLIENT_SMALL: dict[int, ClientArt] = {
    16: ClientArt((4, 1, 12, 10), 2, (2, 6, 3, 9), (2, 10, 14, 14), 2, False, True),
    32: ClientArt((9, 4, 23, 20), 4, (4, 10, 7, 18), (6, 21, 26, 26), 2, False),
}


def tile_margin(size: int) -> int:
    """Transparent margin around the tile."""
    return 0 if size <= 16 else 1 if size <= 32 else round(size / 32)


def fit(size: int, box: Box, fill: float = 0.66) -> tuple[float, float, float]:
    """Scale and offsets that centre design `box` spanning `fill` of the icon."""
    bw, bh = box[2] - box[0], box[3] - box[1]
    k = fill * size / max(bw, bh)
    dx = (size - (box[0] + box[2]) * k) / 2
    dy = (size - (box[1] + box[3]) * k) / 2
    return k, dx, dy


def snapped(v: float, on: bool) -> float:
    """Round to a whole pixel when `on` (for crisp edges at mid sizes)."""
    return float(round(v)) if on else v


def place(b: Box, k: float, dx: float, dy: float, on: bool) -> Box:
    """Scale and shift a design box to pixels, snapping its edges when `on`."""
    return (
        snapped(b[0] * k + dx, on),
        snapped(b[1] * k + dy, on),
        snapped(b[2] * k + dx, on),
        snapped(b[3] * k + dy, on),
    )


def server_art(size: int) -> ServerArt:
    """Server geometry for `size`: hand-placed when small, else scaled from 256 units."""
    if size in SERVER_SMALL:
        return SERVER_SMALL[size]
    stroke = 14.0
    sheet = (0.0, 0.0, 104.0, 136.0)
    cx, cy = sheet[2] + 8, sheet[1] - 8
    radii = [26.0, 54.0, 82.0]
    reach = radii[-1] + stroke / 2
    k, dx, dy = fit(size, (sheet[0], cy - reach, cx + reach, sheet[3]), 0.74)
    on = size <= 48
    w = round(stroke * k) if on else stroke * k
    lines = []
    for i, right in enumerate((86, 86, 86, 62)):
        ly = 54 + 20 * i
        lx0, ly0, lx1, ly1 = place((18, ly, right, ly + 8), k, dx, dy, size <= 64)
        if size <= 64:  # whole-pixel rules of equal thickness
            ly1 = ly0 + max(1, round(8 * k))
        lines.append((lx0, ly0, lx1, ly1))
    return ServerArt(
        place(sheet, k, dx, dy, on),
        snapped(32 * k, on),
        (snapped(cx * k + dx, on), snapped(cy * k + dy, on)),
        [r * k for r in radii],
        w,
        lines,
    )


def client_art(size: int) -> ClientArt:
    """Client geometry for `size`: hand-placed when small, else scaled from 256 units."""
    if size in CLIENT_SMALL:
        return CLIENT_SMALL[size]
    stroke = 18.0
    sheet = (0.0, 0.0, 100.0, 124.0)
    tray = (-34.0, 128.0, 134.0, 164.0)
    k, dx, dy = fit(size, (tray[0], sheet[1], tray[2], tray[3]))
    on = size <= 48
    doc = place(sheet, k, dx, dy, on)
    shaft, head = 24 * k, 66 * k
    if on:  # keep the arrow's vertical edges on pixel boundaries
        parity = round(doc[2] - doc[0]) % 2
        shaft = 2 * round((shaft - parity) / 2) + parity
        head = 2 * round((head - parity) / 2) + parity
    return ClientArt(
        doc,
        snapped(30 * k, on),
        (shaft, head, snapped(36 * k + dy, on), snapped(110 * k + dy, on)),
        place(tray, k, dx, dy, on),
        round(stroke * k) if on else stroke * k,
        not on,
    )


def draw_tile(cv: Canvas, theme: str) -> Callable[[float], RGB]:
    """Rounded-square gradient tile; returns the tile's colour as a function of y."""
    s = cv.size
    m = tile_margin(s)
    top, bottom = THEMES[theme]

    def grad(py: float) -> RGB:
        t = min(1.0, max(0.0, (py - m) / (s - 2 * m)))
        return mix(top, bottom, t)

    radius = (s - 2 * m) * 0.22
    cv.fill(sd_round_rect(m, m, s - m, s - m, radius), (m, m, s - m, s - m), grad)
    return grad


def draw_sheet(cv: Canvas, box: Box, fold: float, theme: str) -> None:
    """White document sheet with a folded top-right corner."""
    x0, y0, x1, y1 = box
    f = fold
    cv.fill(sd_polygon([(x0, y0), (x1 - f, y0), (x1, y0 + f), (x1, y1), (x0, y1)]), box, WHITE)
    top, bottom = THEMES[theme]
    flap_col = mix(WHITE, mix(top, bottom, 0.5), 0.35)
    flap = [(x1 - f, y0), (x1 - f, y0 + f), (x1, y0 + f)]
    cv.fill(sd_polygon(flap), (x1 - f, y0, x1, y0 + f), flap_col)


def draw_server(size: int) -> Canvas:
    """Server icon: sheet with broadcast arcs from its upper right."""
    cv = Canvas(size)
    draw_tile(cv, "server")
    art = server_art(size)
    draw_sheet(cv, art.sheet, art.fold, "server")
    top, bottom = THEMES["server"]
    rule = mix(WHITE, mix(top, bottom, 0.5), 0.3)
    for lx0, ly0, lx1, ly1 in art.lines:
        r = (ly1 - ly0) / 2
        cv.fill(sd_round_rect(lx0, ly0, lx1, ly1, r), (lx0, ly0, lx1, ly1), rule)
    cx, cy = art.centre
    w = art.stroke
    for r in art.radii:
        ext = r + w
        box = (cx - w, cy - ext, cx + ext, cy + w)
        cv.fill(sd_arc(cx, cy, r, w, butt=size <= 16), box, WHITE)
    return cv


def draw_client(size: int) -> Canvas:
    """Client icon: sheet with a bold downward arrow above a tray."""
    cv = Canvas(size)
    grad = draw_tile(cv, "client")
    art = client_art(size)
    draw_sheet(cv, art.sheet, art.fold, "client")
    # arrow in the tile colour, as if punched through the sheet
    x0, _, x1, _ = art.sheet
    mid = (x0 + x1) / 2
    shaft, head, top, tip = art.arrow
    neck = tip - head / 2
    if art.stepped:  # right half as 1 px stairs, then mirrored
        half = [(mid + shaft / 2, top), (mid + shaft / 2, neck)]
        for i in range(round(head / 2)):
            half += [(mid + head / 2 - i, neck + i), (mid + head / 2 - i, neck + i + 1)]
        arrow = half + [(2 * mid - x, y) for x, y in reversed(half)]
    else:
        arrow = [
            (mid - shaft / 2, top),
            (mid + shaft / 2, top),
            (mid + shaft / 2, neck),
            (mid + head / 2, neck),
            (mid, tip),
            (mid - head / 2, neck),
            (mid - shaft / 2, neck),
        ]
    cv.fill(sd_polygon(arrow), (mid - head / 2, top, mid + head / 2, tip), grad)
    # tray beneath the sheet
    tx0, ty0, tx1, ty1 = art.tray
    w = art.stroke
    if art.round_caps:
        h = w / 2
        pts = [(tx0 + h, ty0 + h), (tx0 + h, ty1 - h), (tx1 - h, ty1 - h), (tx1 - h, ty0 + h)]
        shape = sd_capsules(pts, w)
    else:
        shape = sd_polygon(
            [
                (tx0, ty0),
                (tx0, ty1),
                (tx1, ty1),
                (tx1, ty0),
                (tx1 - w, ty0),
                (tx1 - w, ty1 - w),
                (tx0 + w, ty1 - w),
                (tx0 + w, ty0),
            ]
        )
    cv.fill(shape, art.tray, WHITE)
    return cv


def save(cv: Canvas, path: Path) -> None:
    """Write the canvas as an RGBA PNG."""
    path.write_bytes(png_bytes(cv.size, cv.size, cv.rgba_rows()))


def main(argv: Sequence[str] = ()) -> int:
    """Draw all icons (or into the folder given as the first argument)."""
    out = Path(argv[0]) if argv else HERE
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for size in SIZES:
        save(draw_server(size), out / f"filecast-server-{size}.png")
        save(draw_client(size), out / f"filecast-client-{size}.png")
    save(draw_server(LOGO_SIZE), out / "filecast-logo.png")
    print(f"drew {2 * len(SIZES) + 1} icons into {out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
