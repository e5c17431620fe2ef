"""Onsets and beats of a sound track, on a grid of blocks tied to the output frames (see
:mod:`dreamvideo.music` for how the features use them). numpy only."""

from __future__ import annotations

import math

import numpy as np

# The onset grid: blocks of about 5 ms; each block's spectrum is taken over the 25 ms that end with it.
# Finer blocks place a beat more precisely, and cost beat tracking time in proportion.
ONSET_BLOCK_SECONDS = 0.005
ONSET_WINDOW_SECONDS = 0.025
# log(1 + ONSET_COMPRESSION * magnitude / full scale): magnitudes 60 dB below full scale are nearly linear
# (noise counts little), louder ones logarithmic (an onset's rise counts the same at any level).
ONSET_COMPRESSION = 1000.0
TEMPO_RANGE_BPM = (30.0, 300.0)
TEMPO_PRIOR_BPM = 120.0  # the autocorrelation is weighted by a log-normal around it, one octave wide
BEAT_ONSET_GATE = 0.1  # onsets below this share of the strongest are ignored by the beat tracker
# ... and below this flux (a mean rise of 2% over the spectrum): steady tones flicker at 0.2-0.8%
# (samples/coffee_pan.mp4's chord, 60 and 440 Hz sines); drum hits reach 50-100%, white noise 12-36%.
BEAT_MIN_FLUX = 0.02
BEAT_TIGHTNESS = 100.0  # librosa's default: how hard the beat chain keeps the tempo's spacing


def onset_blocks(starts: np.ndarray, rate: int) -> np.ndarray:
    """int64 (frames * k + 1,): the edges of the onset grid's blocks, k blocks of about 5 ms to a frame.

    Each frame's samples are split into the same number k of nearly equal blocks, so a block never straddles
    two frames and the grid keeps to the frames' exact times (k * fps blocks a second, on average).
    """
    lengths = np.diff(starts)
    if len(lengths) == 0:
        return starts.copy()
    k = max(1, int(round(int(lengths.min()) / (rate * ONSET_BLOCK_SECONDS))))
    m = np.arange(k)
    edges = starts[:-1, None] + (2 * m[None, :] * lengths[:, None] + k) // (2 * k)
    return np.append(edges.reshape(-1), starts[-1])


def onset_envelope(samples: np.ndarray, edges: np.ndarray, rate: int) -> np.ndarray:
    """Spectral flux of each block of the grid `edges` (see onset_blocks): float64 (blocks,).

    A block's spectrum is taken over the window of about 25 ms that ends with the block (`onset_window`), so
    a sound that starts inside a block raises that block's value; its flux is the mean over frequencies of
    the rise of log(1 + ONSET_COMPRESSION * magnitude / full scale) from the block before.
    """
    blocks = len(edges) - 1
    if blocks <= 0:
        return np.zeros(0)
    nominal = max(1, int(np.diff(edges).min()))
    size = max(1 << max(4, int(round(rate * ONSET_WINDOW_SECONDS) - 1).bit_length()), 2 * nominal)
    padded = np.zeros(size + int(edges[-1]), np.float32)  # float32 spectra: half the time, ample precision
    padded[size:size + len(samples)] = samples[:int(edges[-1])]
    window = onset_window(size, nominal)
    full_scale = float(np.sum(window)) / 2 * max(float(np.abs(samples).max(initial=0.0)), 1e-12)
    view = np.lib.stride_tricks.sliding_window_view(padded, size)  # row r: padded samples r .. r + size
    ends = edges[1:]  # the window of a block ending at sample e is samples e - size .. e, padded row e
    flux = np.zeros(blocks)
    previous = np.zeros(size // 2 + 1, np.float32)
    step = 2048
    for first in range(0, blocks, step):
        level = np.abs(np.fft.rfft(view[ends[first:first + step]] * window, axis=1))
        level = np.log1p(level * np.float32(ONSET_COMPRESSION / full_scale), out=level)
        rise = np.diff(level, axis=0, prepend=previous[None, :])
        flux[first:first + step] = np.maximum(rise, 0.0, out=rise).mean(axis=1, dtype=np.float64)
        previous = level[-1]
    return flux


def onset_window(size: int, block: int) -> np.ndarray:
    """float32 (size,): rises smoothly over the older samples, falls to 0 over the newest block only.

    A sound entering the window reaches full weight within one block, so its rise in the spectrum (the flux)
    falls in the block where it starts instead of spreading over half a symmetric window (12 ms later).
    """
    older = size - block
    rising = np.sin(0.5 * np.pi * (np.arange(older) + 0.5) / older) ** 2
    falling = np.cos(0.5 * np.pi * (np.arange(block) + 0.5) / block) ** 2
    return np.concatenate([rising, falling]).astype(np.float32)


def estimate_period(envelope: np.ndarray, rate: float) -> float | None:
    """The beat period in envelope samples (fractional) from its autocorrelation, or None if flat.

    `rate`: envelope samples per second. The autocorrelation at lags of TEMPO_RANGE_BPM is weighted by a
    log-normal of one octave around TEMPO_PRIOR_BPM, so a track's tempo wins over its half or double.
    """
    centred = envelope - envelope.mean()
    if not np.any(centred):
        return None
    size = 1 << int(2 * len(centred) - 1).bit_length()
    spectrum = np.fft.rfft(centred, n=size)
    autocorrelation = np.fft.irfft(spectrum * np.conj(spectrum), n=size)[:len(centred)]
    shortest = max(1, int(math.floor(rate * 60.0 / TEMPO_RANGE_BPM[1])))
    longest = min(len(centred) - 2, int(math.ceil(rate * 60.0 / TEMPO_RANGE_BPM[0])))
    if longest <= shortest:
        return None
    lags = np.arange(shortest, longest + 1)
    bpm = 60.0 * rate / lags
    weighted = autocorrelation[lags] * np.exp(-0.5 * np.log2(bpm / TEMPO_PRIOR_BPM) ** 2)
    best = int(np.argmax(weighted))
    if weighted[best] <= 0:
        return None
    lag = float(lags[best])
    if 0 < best < len(lags) - 1:  # a parabola through the peak and its neighbours: a fractional lag
        a, b, c = weighted[best - 1], weighted[best], weighted[best + 1]
        curvature = a - 2 * b + c
        if curvature < 0:
            lag += 0.5 * (a - c) / curvature
    return lag


def track_beats(envelope: np.ndarray, rate: float) -> tuple[np.ndarray, float | None]:
    """Beats from an onset envelope: (int64 indices into it, tempo in BPM or None).

    Dynamic programming (Ellis 2007): each envelope sample's score is its smoothed onset strength plus the
    best score of a predecessor half a period to two periods before it, penalised by
    BEAT_TIGHTNESS * log(gap / period) ** 2; the beats are the best chain, read back from the best score
    of the last period.
    """
    # Onsets weaker than a tenth of the strongest, or than BEAT_MIN_FLUX, do not lead the beat: a steady
    # tone's flux flickers with the window's phase, periodically, and would otherwise be tracked as a beat.
    gate = max(BEAT_ONSET_GATE * envelope.max(initial=0.0), BEAT_MIN_FLUX)
    envelope = np.where(envelope >= gate, envelope, 0.0)
    period = estimate_period(envelope, rate)
    if period is None or not np.any(envelope):
        return np.zeros(0, np.int64), None
    width = max(1, int(round(period / 32)))  # a Gaussian of period/32 (librosa): peaks a little apart meet
    kernel = np.exp(-0.5 * (np.arange(-4 * width, 4 * width + 1) / width) ** 2)
    local = np.convolve(envelope, kernel, mode="same")
    local = local / (local.std() or 1.0)
    count = len(local)
    nearest, farthest = max(1, int(round(period / 2))), int(round(2 * period))
    gaps = np.arange(farthest, nearest - 1, -1)  # predecessors t - farthest .. t - nearest
    penalty = -BEAT_TIGHTNESS * np.log(gaps / period) ** 2
    score = np.zeros(count)
    back = np.full(count, -1, np.int64)
    for t in range(count):
        low = t - farthest
        if t - nearest < 0:
            score[t] = local[t]
            continue
        candidates = score[max(low, 0):t - nearest + 1] + penalty[max(0, -low):]
        best = int(np.argmax(candidates))
        score[t] = local[t] + candidates[best]
        back[t] = max(low, 0) + best
    # the chain ends at the best score of the last period: the end of the best chain of beats
    tail = max(0, count - int(round(period)))
    chain = [tail + int(np.argmax(score[tail:]))]
    while back[chain[-1]] >= 0:
        chain.append(int(back[chain[-1]]))
    beats = np.array(chain[::-1], np.int64)
    # the chain runs on through leading and trailing quiet at the tempo; drop beats there (librosa's trim)
    strong = local[beats] >= 0.5 * math.sqrt(float(np.mean(local * local)))
    if not np.any(strong):
        return np.zeros(0, np.int64), None
    kept = np.flatnonzero(strong)
    return beats[kept[0]:kept[-1] + 1], 60.0 * rate / period


def beat_pulse(beats: np.ndarray, frames: int) -> np.ndarray:
    """float64 (frames,): 1 on each beat frame, falling linearly toward 0 until the next beat (after the
    last one, over the median beat interval), 0 before the first beat."""
    pulse = np.zeros(frames)
    if len(beats) == 0:
        return pulse
    intervals = np.diff(beats)
    tail = int(np.median(intervals)) if len(intervals) else max(1, frames - int(beats[0]))
    ends = np.append(beats[1:], min(frames, int(beats[-1]) + tail))
    for beat, end in zip(beats.tolist(), ends.tolist()):
        span = max(1, end - beat)
        stop = min(end, frames)
        pulse[beat:stop] = 1.0 - np.arange(stop - beat) / span
    return pulse
