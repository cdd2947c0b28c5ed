"""Tone measurements the audio tests share: the Goertzel filter, which
measures one frequency in a block of samples."""
import math


def power(samples, freq, rate=8000):
    """The power of `freq` in `samples` (a sequence of ints)."""
    k = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + k * s1 - s2, s1
    return s1 * s1 + s2 * s2 - k * s1 * s2


def relative_power(samples, freq, rate=8000):
    """The power of `freq` relative to the samples' total power (0..1)."""
    total = sum(x * x for x in samples) * len(samples) / 2
    return power(samples, freq, rate) / total if total else 0.0


def amplitude(samples, freq, rate=8000):
    """The amplitude of `freq` (a sine of amplitude A gives about A)."""
    if not samples:
        return 0.0
    return 2 * math.sqrt(max(power(samples, freq, rate), 0)) / len(samples)
