"""Per-frame audio features, for keyframes that follow a sound track: loudness, onsets, bands, beats.

Frames and samples line up exactly
----------------------------------
Output frame i is shown from time i / fps; it covers samples ``[start(i), start(i + 1))`` with
``start(i) = round(i * rate / fps)`` computed in whole numbers from the exact fraction fps (30000/1001 stays
30000/1001), so the features never drift from the music, however long it is. A script that takes
``int(1000 / fps)`` ms a frame falls 1.8 s behind over three minutes at 30 fps.

The features, each float64 (frames,), 0..1
-------------------------------------------
- ``rms``: loudness, the root mean square of the frame's samples;
- ``onset``: onset strength, spectral flux (the mean rise of the log-compressed magnitude spectrum) on a
  grid of blocks of about 5 ms, each frame split into the same number of blocks: the frame's largest;
- ``bass``, ``mid``, ``high``: the amplitude (square root of the energy) of the frame's spectrum in the bands
  of `BANDS`, 20-250 Hz, 250-4000 Hz and 4000-16000 Hz (Hann window over the frame's own samples, so a
  sound in one frame never leaks into the next). A band stays 0 where it is more than 60 dB below the
  loudest band of the track (a 60 Hz sine has no treble) and above the Nyquist frequency;
- ``beat``: 1 on a beat frame, falling in a straight line toward 0 until the next beat (after the last beat,
  over the median beat interval). Beats are tracked from the onset grid by dynamic programming (Ellis 2007,
  as librosa does): a tempo from the onset autocorrelation weighted toward 120 BPM, then the chain of onset
  peaks that best keeps that spacing. Onsets below a tenth of the strongest (or below a 2% spectral rise,
  a steady tone's flicker) do not lead it; beats on the weak ends of the track are dropped; a beat frame
  is the frame whose samples hold the beat's block. Like every tracker of this kind it may lock onto half
  a fast tempo (174 BPM drum and bass is tracked at 87) or double a slow one: the beats are still on
  the music's own hits.

Each feature is divided by its largest value over the whole track (so the same frames get the same values
whatever part of the track is rendered), after the optional smoothing (attack and release time constants in
seconds, a one-pole follower: rises toward a louder value with the attack's, falls with the release's).
Silence gives zeros. Frames past the end of the sound are silent: every feature is 0 there (with a warning).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from fractions import Fraction
from typing import Union

import numpy as np

from . import beats
from .errors import DreamError
from .media.rates import as_rate
from .media.sound import Sound, read_sound
from .schedules import SOUND_VARIABLES

logger = logging.getLogger(__name__)

FEATURES = tuple(SOUND_VARIABLES)  # rms, onset, bass, mid, high, beat: what expressions may use
BANDS = {"bass": (20.0, 250.0), "mid": (250.0, 4000.0), "high": (4000.0, 16000.0)}
# A band further below the track's loudest band than this (amplitude, -60 dB) counts as silent: a Hann
# window's side lobes put a 60 Hz sine's leakage into the treble far below it.
BAND_FLOOR = 1e-3

SoundLike = Union[Sound, str, "os.PathLike[str]"]


def frame_starts(frames: int, rate: int, fps: Fraction) -> np.ndarray:
    """int64 (frames + 1,): the first sample of frames 0..frames (the last one ends frame frames - 1).

    ``round(i * rate / fps)``, halves up, in exact integer arithmetic.
    """
    fps = Fraction(fps)
    i = np.arange(frames + 1, dtype=np.int64)
    numerator = 2 * i * (int(rate) * fps.denominator) + fps.numerator
    return numerator // (2 * fps.numerator)


def frame_count(sound: Sound, fps) -> int:
    """How many frames at `fps` the sound lasts: every frame that starts before its end."""
    fps = as_rate(fps, "fps")
    return math.ceil(Fraction(len(sound.samples)) * fps / sound.rate)


@dataclasses.dataclass(frozen=True, eq=False)
class Features:
    """The features of frames ``start_frame .. start_frame + len - 1`` of a sound at `fps`.

    values: name -> float64 (frames,) in 0..1, for every name in FEATURES. beat_frames: int64, the beat
    frames among them (counted from start_frame). beat_times: float64, every tracked beat of the sound in
    seconds from its start. tempo: the tracked tempo in BPM, or None (no beats).
    """

    fps: Fraction
    start_frame: int
    values: dict
    beat_frames: np.ndarray
    beat_times: np.ndarray
    tempo: float | None
    sound_frames: int  # frames the sound lasts, from its start (frame 0)

    def __len__(self) -> int:
        return len(self.values["rms"])

    @property
    def names(self) -> tuple:
        return FEATURES

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[check_feature(name)]

    def at(self, frame: int) -> dict[str, float]:
        """{name: value} at one frame (counted from start_frame); 0 for every feature past the end."""
        if 0 <= frame < len(self):
            return {name: float(self.values[name][frame]) for name in FEATURES}
        return {name: 0.0 for name in FEATURES}

    def keyframes(self, name: str, digits: int = 4) -> str:
        """The feature as a keyframe string ``0:(v), 1:(v), ...``, one keyframe a frame."""
        return keyframes(self[name], digits)


def file_sha256(path) -> str:
    """The SHA-256 of a file's content, as 64 hex digits (what render files record of an --audio file)."""
    import hashlib

    digest = hashlib.sha256()
    try:
        with open(path, "rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        from .media.files import io_error

        raise io_error(path, exc, "reading") from None
    return digest.hexdigest()


def read_sound_path(path):
    """`path` itself, after checking it names a file that exists and is not empty (DreamError if not)."""
    from .media.files import existing_file

    existing_file(path)
    return path


def follow_sound(sound_opts, own_track, fps, *, frames: int, start_frame: int = 0, options=()) -> Features | None:
    """Bind the sound's features to every schedule of `options` that uses them; the render's sound check.

    sound_opts: the render's :class:`~dreamvideo.options.SoundOptions` (``audio``, its ``audio_sha256``, which
    is checked against the file when given and filled in when not, the smoothing); own_track: the input
    video, whose sound is used without ``audio`` (None for a zoom). `options`: objects with
    ``sound_variables()`` and ``bind_sound(features)`` (the declared option classes). Frames count from
    `start_frame` of the sound. Returns the features, or None when no schedule uses the sound.
    """
    if sound_opts.audio is not None:
        actual = file_sha256(read_sound_path(sound_opts.audio))
        if sound_opts.audio_sha256 not in (None, actual):
            raise DreamError(f"{sound_opts.audio}: its content differs from the one the render file records "
                             f"(SHA-256 {actual[:12]}... instead of {sound_opts.audio_sha256[:12]}...); give the "
                             f"original sound file")
        sound_opts.audio_sha256 = actual
    used = sorted(frozenset().union(*(o.sound_variables() for o in options)))
    if not used:
        return None
    source = sound_opts.audio if sound_opts.audio is not None else own_track
    if source is None:
        raise DreamError(f"{used[0]!r} is a feature of the sound track: give the sound with --audio FILE")
    features = analyse(source, fps, frames=frames, start_frame=start_frame, attack=sound_opts.audio_attack,
                       release=sound_opts.audio_release)
    for opts in options:
        opts.bind_sound(features)
    return features


def check_feature(name: str) -> str:
    """`name` itself if it is a feature, else DreamError listing them."""
    if name not in FEATURES:
        raise DreamError(f"unknown audio feature {name!r}: use one of {', '.join(FEATURES)}")
    return name


def keyframes(values, digits: int = 4) -> str:
    """``0:(v0), 1:(v1), ...`` (dreamvideo's, which is Deforum's, keyframe format) with `digits` decimals."""

    def number(value: float) -> str:
        text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
        return "0" if text in ("", "-0") else text

    return ", ".join(f"{frame}:({number(float(v))})" for frame, v in enumerate(np.asarray(values).tolist()))


def analyse(sound: SoundLike, fps, *, frames: int | None = None, start_frame: int = 0, attack: float = 0.0,
            release: float = 0.0) -> Features:
    """The features (see the module docstring) of frames ``start_frame ..`` of `sound` at `fps`.

    sound: a `Sound` or the path of any file PyAV reads (a video's own track included). fps: a number or
    fraction ("30000/1001"). frames: how many (default: to the end of the sound). attack, release: smoothing
    time constants in seconds (0: none). DreamError for a bad file (see `read_sound`), rate or value.
    """
    if not isinstance(sound, Sound):
        sound = read_sound(sound)
    fps = as_rate(fps, "fps")
    for label, value in (("attack", attack), ("release", release)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
            raise DreamError(f"{label} must be a number of seconds >= 0, got {value!r}")
    if isinstance(start_frame, bool) or not isinstance(start_frame, (int, np.integer)) or start_frame < 0:
        raise DreamError(f"start frame must be a whole number >= 0, got {start_frame!r}")
    sound_frames = frame_count(sound, fps)
    if frames is None:
        frames = max(0, sound_frames - start_frame)
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or frames < 0:
        raise DreamError(f"frames must be a whole number >= 0, got {frames!r}")
    end = start_frame + frames
    if end > sound_frames:
        logger.warning("%s lasts %.2f s (%d frames at %s fps); frames %d to %d are silent (every feature 0)",
                       sound.name, float(sound.seconds), sound_frames, fps, max(sound_frames, start_frame),
                       end - 1)
    if not np.any(sound.samples):
        logger.warning("%s is silent: every audio feature is 0", sound.name)

    starts = frame_starts(sound_frames, sound.rate, fps)
    samples = np.zeros(int(starts[-1]), np.float64)
    samples[:len(sound.samples)] = sound.samples
    raw = {"rms": _rms(samples, starts)}
    raw.update(_bands(samples, starts, sound.rate))
    edges = beats.onset_blocks(starts, sound.rate)
    flux = beats.onset_envelope(samples, edges, sound.rate)
    per_frame = (len(edges) - 1) // max(1, sound_frames)
    raw["onset"] = flux.reshape(sound_frames, per_frame).max(axis=1) if sound_frames else np.zeros(0)
    beat_blocks, tempo = beats.track_beats(flux, per_frame * float(fps))
    beat_times = (edges[beat_blocks] + edges[beat_blocks + 1]) / 2 / sound.rate  # the blocks' middles
    beat_frames = np.unique(beat_blocks // per_frame)
    raw["beat"] = beats.beat_pulse(beat_frames, sound_frames)

    values = {}
    for name in FEATURES:
        track = smooth(raw[name], fps, attack, release)
        peak = track.max(initial=0.0)
        track = track / peak if peak > 0 else np.zeros_like(track)
        part = np.zeros(frames, np.float64)
        inside = track[start_frame:end]
        part[:len(inside)] = inside
        values[name] = part
    in_range = beat_frames[(beat_frames >= start_frame) & (beat_frames < end)] - start_frame
    return Features(fps, int(start_frame), values, in_range.astype(np.int64), beat_times, tempo,
                    sound_frames)


def _rms(samples: np.ndarray, starts: np.ndarray) -> np.ndarray:
    squares = np.concatenate([[0.0], np.cumsum(samples * samples)])
    lengths = np.diff(starts)
    energy = squares[starts[1:]] - squares[starts[:-1]]
    return np.sqrt(np.maximum(energy, 0.0) / np.maximum(lengths, 1))


def _bands(samples: np.ndarray, starts: np.ndarray, rate: int) -> dict[str, np.ndarray]:
    """Band amplitudes of each frame's own samples (Hann window, zero-padded to a power of two)."""
    lengths = np.diff(starts)
    count = len(lengths)
    out = {name: np.zeros(count) for name in BANDS}
    if count == 0:
        return out
    size = 1 << max(8, int(lengths.max() - 1).bit_length())
    frequencies = np.fft.rfftfreq(size, 1.0 / rate)
    masks = {name: (frequencies >= low) & (frequencies < high) for name, (low, high) in BANDS.items()}
    for length in np.unique(lengths):  # at most two lengths: floor and ceiling of rate / fps
        if length == 0:
            continue
        window = np.hanning(length + 2)[1:-1]  # no zero ends: every sample of the frame counts
        norm = 1.0 / float(np.sum(window * window))
        indices = np.flatnonzero(lengths == length)
        for first in range(0, len(indices), 512):
            chosen = indices[first:first + 512]
            blocks = samples[starts[chosen][:, None] + np.arange(length)[None, :]] * window
            power = np.abs(np.fft.rfft(blocks, n=size, axis=1)) ** 2
            for name, mask in masks.items():
                out[name][chosen] = np.sqrt(power[:, mask].sum(axis=1) * norm)
    loudest = max(float(v.max(initial=0.0)) for v in out.values())
    for name in BANDS:
        out[name][out[name] < BAND_FLOOR * loudest] = 0.0
    return out


def smooth(values: np.ndarray, fps: Fraction, attack: float = 0.0, release: float = 0.0) -> np.ndarray:
    """A one-pole follower: toward a larger value with time constant `attack` seconds, toward a smaller one
    with `release` (0: at once). float64 in, float64 out, the same shape (frames,)."""
    if attack == 0 and release == 0:
        return np.asarray(values, np.float64)
    rise = 1.0 - math.exp(-1.0 / (attack * float(fps))) if attack > 0 else 1.0
    fall = 1.0 - math.exp(-1.0 / (release * float(fps))) if release > 0 else 1.0
    out = np.empty(len(values))
    level = 0.0
    for index, value in enumerate(np.asarray(values, np.float64).tolist()):
        level += (rise if value > level else fall) * (value - level)
        out[index] = level
    return out


def synth_beat(seconds: float = 8.0, bpm: float = 120.0, rate: int = 44100, seed: int = 0) -> Sound:
    """A drum loop made of numbers: a kick on every beat, a snare on beats 2 and 4, hi-hats on the eighths.

    The kick is a sine gliding from 150 to 45 Hz (bass), the snare a 185 Hz tone with noise (mid), the hats
    differenced noise (treble), so every feature has something to follow. Returns a mono `Sound`, peak 0.8;
    the same arguments give the same samples.
    """
    if not (isinstance(seconds, (int, float)) and 0 < seconds <= 3600):
        raise DreamError(f"seconds must be a number from 0 to 3600, got {seconds!r}")
    if not (isinstance(bpm, (int, float)) and 30 <= bpm <= 300):
        raise DreamError(f"bpm must be a number from 30 to 300, got {bpm!r}")
    rng = np.random.default_rng(seed)
    out = np.zeros(int(round(seconds * rate)))
    beat = 60.0 / bpm

    def hit(at: float, sound: np.ndarray) -> None:
        first = int(round(at * rate))
        piece = sound[:max(0, len(out) - first)]
        out[first:first + len(piece)] += piece

    t = np.arange(int(0.4 * rate)) / rate
    glide = 45.0 * t + 105.0 * 0.03 * (1.0 - np.exp(-t / 0.03))  # the integral of 45 + 105 exp(-t / 0.03) Hz
    kick = np.sin(2 * np.pi * glide) * np.exp(-t / 0.15)
    t = np.arange(int(0.25 * rate)) / rate
    rattle = np.convolve(rng.standard_normal(len(t)), np.ones(6) / 6, mode="same")  # noise below about 5 kHz
    snare = 0.35 * np.sin(2 * np.pi * 185.0 * t) * np.exp(-t / 0.05) + 0.6 * rattle * np.exp(-t / 0.07)
    t = np.arange(int(0.06 * rate)) / rate
    noise = rng.standard_normal(len(t) + 2)
    hat = 0.25 * np.diff(noise, 2) / 2 * np.exp(-t / 0.015)  # a second difference: mostly above 5 kHz
    count = int(seconds / beat) + 1
    for index in range(count):
        hit(index * beat, kick)
        if index % 2 == 1:
            hit(index * beat, snare)
        hit(index * beat, hat)
        hit((index + 0.5) * beat, 0.6 * hat)
    peak = float(np.abs(out).max()) or 1.0
    return Sound((0.8 / peak * out).astype(np.float32), int(rate), "synthesised beat")


_COLOURS = {"wave": (40, 70, 140), "rms": (30, 120, 200), "onset": (220, 120, 20), "bass": (170, 30, 40),
            "mid": (40, 150, 60), "high": (130, 60, 170), "beat": (20, 20, 20)}  # RGB


def plot(sound: SoundLike, features: Features, path, *, width: int = 1200) -> None:
    """Write a PNG: the waveform, and under it each feature over the same time axis, beats as grey lines.

    `features` are those of `sound` (from `analyse`); the plot spans their frames. width: pixels (at least
    300). Drawn with OpenCV, so no plotting library is needed. DreamError for a bad path (see write_image).
    """
    import cv2

    from .media import write_image

    if not isinstance(sound, Sound):
        sound = read_sound(sound)
    if isinstance(width, bool) or not isinstance(width, int) or width < 300:
        raise DreamError(f"plot width must be a whole number of at least 300 pixels, got {width!r}")
    frames = len(features)
    left, right, top, wave_height, row, axis = 64, 12, 30, 110, 52, 30
    inner = width - left - right
    height = top + wave_height + row * len(FEATURES) + axis
    image = np.full((height, width, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    tempo = f"{features.tempo:.1f} BPM" if features.tempo else "no beat found"
    title = f"{os.path.basename(sound.name)}: {frames} frames at {features.fps} fps, {tempo}"
    cv2.putText(image, title, (left, 20), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)

    starts = frame_starts(features.start_frame + frames, sound.rate, features.fps)[features.start_frame:]
    first_sample, last_sample = int(starts[0]), int(starts[-1])

    def x_of(frame: float) -> int:
        return left + int(round(frame / max(frames, 1) * inner))

    # the waveform: each pixel column spans the samples of its time, drawn from their minimum to maximum
    middle, half = top + wave_height // 2, wave_height // 2 - 4
    peak = float(np.abs(sound.samples).max(initial=0.0))
    label = f"peak {20 * math.log10(peak):.0f} dBFS" if peak > 0 else "silent"
    cv2.putText(image, label, (width - right - 110, 20), font, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    half = half / peak if peak > 0 else half  # the waveform fills its panel, however quiet
    columns = np.linspace(first_sample, last_sample, inner + 1).astype(np.int64)
    samples = sound.samples
    for column in range(inner):
        piece = samples[min(columns[column], len(samples)):min(max(columns[column + 1], columns[column] + 1),
                                                                 len(samples))]
        if len(piece):
            low, high = float(piece.min()), float(piece.max())
            cv2.line(image, (left + column, middle - int(high * half)), (left + column, middle - int(low * half)),
                     _COLOURS["wave"], 1)
    cv2.putText(image, "sound", (6, middle + 4), font, 0.42, (0, 0, 0), 1, cv2.LINE_AA)

    for beat in features.beat_frames.tolist():
        cv2.line(image, (x_of(beat), top), (x_of(beat), height - axis), (200, 200, 200), 1)
    for index, name in enumerate(FEATURES):
        base = top + wave_height + row * (index + 1) - 6
        values = features.values[name]
        xs = np.array([x_of(frame) for frame in range(frames + 1)])
        points = [(left, base)]
        for frame, value in enumerate(values.tolist()):  # a step per frame: the value the frame gets
            y = base - int(round(value * (row - 12)))
            points += [(int(xs[frame]), y), (int(xs[frame + 1]), y)]
        points.append((x_of(frames), base))
        cv2.fillPoly(image, [np.array(points, np.int32)], _COLOURS[name])
        cv2.line(image, (left, base), (width - right, base), (120, 120, 120), 1)
        cv2.putText(image, name, (6, base - 14), font, 0.42, (0, 0, 0), 1, cv2.LINE_AA)

    # time axis: seconds from the sound's start
    seconds_from = first_sample / sound.rate
    span = max((last_sample - first_sample) / sound.rate, 1e-9)
    tick = next(step for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, math.inf)
                if span / step <= 12)
    y = height - axis
    cv2.line(image, (left, y), (width - right, y), (0, 0, 0), 1)
    if math.isfinite(tick):
        mark = math.ceil(seconds_from / tick) * tick
        while mark <= seconds_from + span + 1e-9:
            x = left + int(round((mark - seconds_from) / span * inner))
            cv2.line(image, (x, y), (x, y + 5), (0, 0, 0), 1)
            cv2.putText(image, f"{mark:g} s", (x - 12, y + 20), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
            mark += tick
    write_image(path, image)
