"""Makes assets/sounds/chime.wav, the alerts overlay's sound: two bell-like notes, synthesized.

Run it again only to change the sound: `python scripts/make_chime.py`. The
output is deterministic (same bytes every run), so the committed file is what
this makes; tests/unit/test_chime.py checks that.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE_HZ = 22_050
NOTES = ((1318.51, 0.0), (1975.53, 0.12))  # E6 then B6 (Hz, start in seconds)
LENGTH_S = 0.9
DECAY_PER_S = 6.0
PEAK = 0.45  # of full scale, so two notes together never clip
OUTPUT = Path(__file__).resolve().parent.parent / "assets" / "sounds" / "chime.wav"


def samples() -> list[int]:
    """The chime's 16-bit samples: each note a sine with a soft overtone, decaying exponentially."""
    out = []
    for index in range(int(RATE_HZ * LENGTH_S)):
        t = index / RATE_HZ
        value = 0.0
        for frequency, start in NOTES:
            if t >= start:
                local = t - start
                envelope = math.exp(-DECAY_PER_S * local) * min(1.0, local / 0.005)
                tone = math.sin(2 * math.pi * frequency * local) + 0.3 * math.sin(
                    4 * math.pi * frequency * local
                )
                value += envelope * tone / 1.3
        out.append(round(max(-1.0, min(1.0, value * PEAK)) * 32767))
    return out


def chime_bytes() -> bytes:
    """The WAV file's frames (mono, 16-bit little-endian)."""
    return b"".join(struct.pack("<h", sample) for sample in samples())


def main() -> None:
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(OUTPUT), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(RATE_HZ)
        file.writeframes(chime_bytes())
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
