"""The alerts overlay's chime: the committed asset is what scripts/make_chime.py makes, and sounds like one."""

from __future__ import annotations

import importlib.util
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _maker():
    spec = importlib.util.spec_from_file_location("make_chime", ROOT / "scripts" / "make_chime.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_chime_is_what_the_script_makes():
    maker = _maker()
    with wave.open(str(ROOT / "assets" / "sounds" / "chime.wav"), "rb") as file:
        assert (file.getnchannels(), file.getsampwidth(), file.getframerate()) == (1, 2, maker.RATE_HZ)
        frames = file.readframes(file.getnframes())
    assert frames == maker.chime_bytes()


def test_the_chime_is_audible_short_and_never_clips():
    samples = _maker().samples()
    assert 0.5 <= len(samples) / _maker().RATE_HZ <= 1.5
    loudest = max(abs(sample) for sample in samples)
    assert 8_000 < loudest < 32_767  # audible, with headroom
    assert max(abs(sample) for sample in samples[-200:]) < loudest / 20  # it fades out
