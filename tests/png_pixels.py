"""Reads the pixels of a PNG a browser wrote (8-bit RGBA, non-interlaced: what Chromium's screenshots are).

Small on purpose, so the tests need no imaging package: PNG's chunk layout,
zlib-compressed scanlines and the five row filters (the PNG specification,
W3C Recommendation, sections 5, 9 and 10).
"""

from __future__ import annotations

import struct
import zlib

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_RGBA = 6


def _paeth(left: int, up: int, up_left: int) -> int:
    estimate = left + up - up_left
    distances = (abs(estimate - left), abs(estimate - up), abs(estimate - up_left))
    return (left, up, up_left)[distances.index(min(distances))]


def rgba_rows(png: bytes) -> list[bytes]:
    """The image's rows, each width * 4 bytes of R, G, B, A."""
    assert png[:8] == _SIGNATURE, "not a PNG"
    offset, data, header = 8, b"", None
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        body = png[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            data += body
        offset += 12 + length
    assert header is not None, "no IHDR"
    width, height, depth, colour, _, _, interlace = header
    assert (depth, colour, interlace) == (8, _RGBA, 0), f"unsupported PNG {header}"
    raw, stride, rows = zlib.decompress(data), width * 4, []
    previous = bytes(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        kind, row = line[0], bytearray(line[1:])
        for x in range(stride):
            left = row[x - 4] if x >= 4 else 0
            up = previous[x]
            up_left = previous[x - 4] if x >= 4 else 0
            predictor = (0, left, up, (left + up) // 2, _paeth(left, up, up_left))[kind]
            row[x] = (row[x] + predictor) & 0xFF
        rows.append(bytes(row))
        previous = bytes(row)
    return rows


def alpha_at(rows: list[bytes], x: int, y: int) -> int:
    return rows[y][x * 4 + 3]
