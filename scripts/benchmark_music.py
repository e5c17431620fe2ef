"""Audio features: beat accuracy, drift and cost on synthetic tracks (prints figures, asserts nothing).

    python scripts/benchmark_music.py            # three-minute click tracks and drum loops
    python scripts/benchmark_music.py --quick    # one minute

For a click track at 120 BPM and each frame rate: the beats found, how many fall in the frame that holds
the click (and the largest miss in frames), the beat times' error in ms, the drift (the error's mean over
the last minute minus the first), and CPU seconds: decoding the WAV, analysing, per output frame. Then the
synthesised drum loop (music.synth_beat) with white noise at -26 dB at several tempos: the tempo tracked
and the share of its hits with a beat within 20 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from fractions import Fraction

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from dreamvideo import music  # noqa: E402
from dreamvideo.media.sound import Sound, read_sound, write_sound  # noqa: E402

RATE = 44100


def click_track(seconds: int, bpm: float) -> tuple[np.ndarray, np.ndarray]:
    samples = np.zeros(seconds * RATE, np.float32)
    click = (np.hanning(64) * np.sin(2 * np.pi * 3000 * np.arange(64) / RATE)).astype(np.float32)
    firsts = np.array([round(Fraction(60 * k) / Fraction(bpm) * RATE) for k in range(int(seconds * bpm / 60))])
    for first in firsts:
        samples[first:first + 64] += click[:len(samples) - first]
    return samples, firsts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one minute instead of three")
    args = parser.parse_args()
    seconds = 60 if args.quick else 180
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; CPU seconds are process time")

    samples, firsts = click_track(seconds, 120)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "clicks.wav")
        write_sound(path, samples, RATE)
        start = time.process_time()
        sound = read_sound(path)
        print(f"\nclick track, 120 BPM, {seconds} s: decoding the WAV took {time.process_time() - start:.2f} CPU s")
    print(f"{'fps':>11} {'beats':>6} {'in frame':>9} {'worst':>6} {'error ms':>14} {'drift ms':>9} "
          f"{'CPU s':>6} {'ms/frame':>9}")
    for fps in (Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(60)):
        start = time.process_time()
        features = music.analyse(sound, fps)
        cost = time.process_time() - start
        starts = music.frame_starts(len(features), RATE, fps)
        holding = np.searchsorted(starts, firsts, side="right") - 1
        count = min(len(features.beat_frames), len(holding))
        misses = features.beat_frames[:count] - holding[:count]
        errors = (features.beat_times[:count] - firsts[:count] / RATE) * 1000
        minute = int(60 * 2)  # beats a minute at 120 BPM
        drift = errors[-minute:].mean() - errors[:minute].mean()
        print(f"{str(fps):>11} {len(features.beat_frames):>6} {int((misses == 0).sum()):>9} "
              f"{int(np.abs(misses).max()):>6} {errors.min():>6.2f}..{errors.max():<6.2f} {drift:>9.3f} "
              f"{cost:>6.2f} {1000 * cost / len(features):>9.3f}")
    naive = 30 * seconds * int(1000 / 30) / 1000
    print(f"(a frame clock of int(1000 / fps) ms at 30 fps is {seconds - naive:.2f} s behind after {seconds} s)")

    print(f"\ndrum loop + white noise at -26 dB, {seconds} s, 24 fps")
    print(f"{'bpm':>5} {'tracked':>8} {'hits':>5} {'within 20 ms':>13} {'median ms':>10}")
    rng = np.random.default_rng(1)
    for bpm in (70, 90, 120, 128, 140, 174):
        beat = music.synth_beat(seconds, bpm)
        noisy = Sound(beat.samples + (0.05 * rng.standard_normal(len(beat.samples))).astype(np.float32), RATE)
        features = music.analyse(noisy, 24)
        hits = np.arange(int(seconds * bpm / 60) + 1) * 60 / bpm
        hits = hits[hits < seconds]
        nearest = np.array([np.abs(features.beat_times - t).min() if len(features.beat_times) else np.inf
                            for t in hits]) * 1000
        tempo = f"{features.tempo:.2f}" if features.tempo else "none"
        print(f"{bpm:>5} {tempo:>8} {len(hits):>5} {(nearest < 20).mean():>12.0%} {np.median(nearest):>10.2f}")


if __name__ == "__main__":
    main()
