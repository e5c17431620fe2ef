"""Media on PyAV: decode throughput against the old ffmpeg pipe, seeking, and animated WebP against GIF.

Prints figures, asserts nothing. Three parts (all on clips generated here, in a temporary folder):

1. decode: a 1080p H.264 clip to RGB frames, frames per second and CPU seconds per frame, for
   dreamvideo.media.read_frames (PyAV in-process), bare PyAV (decode + to_ndarray), and the old way (an
   ffmpeg process writing rawvideo into a pipe, the binary of the imageio-ffmpeg package, if installed;
   that pipe code lives here only, as the baseline). CPU time counts the ffmpeg child process too.
2. seek: a 30 s clip with a keyframe every 2 s (as cameras and phones write them); the frames of
   --start 20 --end 22 against --start 0 --end 2: time ratio and pictures decoded.
3. webp: a dream zoom (the default model) rendered as PNG frames, then written as GIF and as animated
   WebP by dreamvideo's sinks: bytes and mean SSIM of the decoded frames to the rendered ones. The issue's
   figure is for 120 frames at 512x512 (scripts/benchmark_zoom.py); --zoom-size/--zoom-frames set a
   smaller run for a loaded machine.

CPU time (process time, children included) is the figure to compare on a shared machine; wall time is
printed beside it. Baseline and candidate are measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dreamvideo import media  # noqa: E402


def cpu_now() -> float:
    """CPU seconds of this process and of its finished children."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def texture_clip(path: Path, seconds: float, size: tuple[int, int], fps: int, gop: int | None = None,
                 preset: str = "veryfast") -> Path:
    """A smoothly moving texture as H.264 (yuv420p), written with PyAV."""
    width, height = size
    rng = np.random.default_rng(0)
    small = rng.uniform(0, 255, (height // 16 + 2, width // 16 + 40, 3)).astype(np.float32)
    import cv2

    wide = cv2.resize(small, ((width // 16 + 40) * 16, (height // 16 + 2) * 16), interpolation=cv2.INTER_CUBIC)
    wide = wide.clip(0, 255).astype(np.uint8)
    frames = int(seconds * fps)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": preset, "crf": "23"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if gop:
            stream.codec_context.gop_size = gop
        for i in range(frames):
            shift = (i * 4) % (wide.shape[1] - width)
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(wide[:height, shift:shift + width]),
                                                 format="rgb24")
            picture.pts = i
            out.mux(stream.encode(picture))
        out.mux(stream.encode(None))
    return path


def old_pipe_frames(path: Path, width: int, height: int):
    """The baseline: ffmpeg decodes to rgb24 into a pipe, read frame by frame (the pre-PyAV way)."""
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(path),
           "-map", "0:V:0", "-an", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    size = width * height * 3
    try:
        while True:
            buffer = proc.stdout.read(size)
            if len(buffer) < size:
                break
            yield np.frombuffer(buffer, np.uint8).reshape(height, width, 3)
    finally:
        proc.stdout.close()
        proc.wait()


def bare_pyav_frames(path: Path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            yield frame.to_ndarray(format="rgb24")


def measure(frames) -> tuple[int, float, float]:
    """(frames, wall seconds, CPU seconds) to pull every frame of an iterator."""
    wall, cpu = time.perf_counter(), cpu_now()
    count = sum(1 for _ in frames)
    return count, time.perf_counter() - wall, cpu_now() - cpu


def decode_part(work: Path, args) -> None:
    clip = texture_clip(work / "1080p.mp4", args.decode_seconds, (1920, 1080), 30)
    print(f"\n1. decode: 1080p H.264 ({args.decode_seconds:g} s at 30 fps) to RGB, best of {args.repeat}")
    print(f"   {'':34} {'frames':>6} {'fps (wall)':>10} {'CPU ms/frame':>12}")
    ways = [("dreamvideo.media.read_frames (PyAV)", lambda: media.read_frames(clip)),
            ("bare PyAV decode + to_ndarray", lambda: bare_pyav_frames(clip))]
    try:
        import imageio_ffmpeg  # noqa: F401

        ways.append(("old pipe (ffmpeg process, rawvideo)", lambda: old_pipe_frames(clip, 1920, 1080)))
    except ImportError:
        print("   (imageio-ffmpeg is not installed: no old-pipe baseline)")
    for title, make in ways:
        runs = [measure(make()) for _ in range(args.repeat)]
        count, wall, cpu = min(runs, key=lambda r: r[1])
        print(f"   {title:34} {count:6d} {count / wall:10.1f} {cpu / count * 1000:12.1f}")


def seek_part(work: Path, args) -> None:
    clip = texture_clip(work / "30s.mp4", 30, (640, 360), 30, gop=60, preset="ultrafast")
    print("\n2. seek: 30 s of 640x360 H.264 at 30 fps, a keyframe every 2 s; frames [start, end) read with "
          f"read_frames, best of {args.repeat}")
    rows = {}
    for label, start, end in (("--start 0 --end 2", 0, 60), ("--start 20 --end 22", 600, 660)):
        best = None
        for _ in range(args.repeat):
            reader = media.read_frames(clip, start_frame=start, end_frame=end)
            count, wall, cpu = measure(reader)
            if best is None or wall < best[1]:
                best = (count, wall, cpu, reader.decoded)
        rows[label] = best
        count, wall, cpu, decoded = best
        print(f"   {label:20} {count:4d} frames, {decoded:4d} pictures decoded, {wall * 1000:7.1f} ms wall, "
              f"{cpu * 1000:7.1f} ms CPU")
    late, early = rows["--start 20 --end 22"], rows["--start 0 --end 2"]
    print(f"   ratio late/early: wall {late[1] / early[1]:.2f}, CPU {late[2] / early[2]:.2f} (target <= 1.5; "
          "decoding from the start would decode 660 pictures)")


def ssim_mean(frames: list[np.ndarray], decoded: list[np.ndarray]) -> float:
    from skimage.metrics import structural_similarity

    if len(frames) != len(decoded):
        return float("nan")
    return statistics.fmean(structural_similarity(a, b[:a.shape[0], :a.shape[1]], channel_axis=2)
                            for a, b in zip(frames, decoded))


def webp_part(work: Path, args) -> None:
    import dreamvideo as dv

    side, count = args.zoom_size, args.zoom_frames
    folder = work / "zoom"
    start = time.perf_counter()
    dv.render_zoom(None, f"{folder}/", frames=count, size=f"{side}x{side}", steps=args.zoom_steps,
                   octaves=args.zoom_octaves, seed=0, quiet=True)
    frames = [media.read_image(p) for p in sorted(folder.glob("frame_*.png"))]
    print(f"\n3. webp: a {count}-frame {side}x{side} dream zoom (default model, {args.zoom_steps} steps, "
          f"{args.zoom_octaves} octaves; rendered in {time.perf_counter() - start:.0f} s), written by the sinks")
    qualities = sorted(set(args.webp_quality or []) | {media.WebpSink.quality_percent}, reverse=True)
    outputs = [("GIF", media.GifSink, work / "zoom.gif")] + [
        (f"WebP q{q}" + (" (default)" if q == media.WebpSink.quality_percent else ""),
         type("TrialWebpSink", (media.WebpSink,), {"quality_percent": q}), work / f"zoom_q{q}.webp")
        for q in qualities]
    gif_bytes = None
    for title, sink_class, path in outputs:
        wall, cpu = time.perf_counter(), cpu_now()
        with sink_class(path, Fraction(24), quality=media.DEFAULT_CRF, loop=True, codec=None, audio_from=None,
                        audio_start=0.0) as sink:
            for frame in frames:
                sink.write(frame)
        wall, cpu = time.perf_counter() - wall, cpu_now() - cpu
        size = path.stat().st_size
        gif_bytes = gif_bytes or size
        similarity = ssim_mean(frames, list(media.read_frames(path)))
        print(f"   {title:18} {size / 1e6:7.2f} MB ({size / gif_bytes:5.3f} of the GIF)  mean SSIM {similarity:.4f}  "
              f"encode {cpu:5.1f} CPU s ({wall:5.1f} s wall)")
    print("   target: WebP at most 0.25 of the GIF's bytes, with a mean SSIM at least the GIF's")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decode-seconds", type=float, default=3.0, help="length of the 1080p clip (3 s)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each decode/seek measurement (3)")
    parser.add_argument("--zoom-size", type=int, default=512, help="zoom canvas side (512, as the issue's)")
    parser.add_argument("--zoom-frames", type=int, default=120, help="zoom frames (120, as the issue's)")
    parser.add_argument("--zoom-steps", type=int, default=10, help="steps per octave of the zoom (10)")
    parser.add_argument("--zoom-octaves", type=int, default=4, help="octaves of the zoom (4)")
    parser.add_argument("--webp-quality", type=int, action="append",
                        help="also try this libwebp quality (0-100); repeatable")
    parser.add_argument("--skip", action="append", default=[], choices=("decode", "seek", "webp"))
    args = parser.parse_args(argv)
    print(f"PyAV {av.__version__}, FFmpeg {av.ffmpeg_version_info}; {os.cpu_count()} CPUs (shared: prefer CPU time)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, part in (("decode", decode_part), ("seek", seek_part), ("webp", webp_part)):
            if name not in args.skip:
                part(work, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
