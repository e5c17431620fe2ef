"""Shared fixtures: a tiny random-weight model for the kernel's logic, and paths to shared media."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

# The real third-party media live beside the project, in ../shared/media (another place can be named with
# DREAMVIDEO_SHARED_MEDIA). Tests that use them skip when they are absent, unless
# DREAMVIDEO_REQUIRE_SHARED_MEDIA=1 (set by .ci/run, where they are always there): then they fail.
SHARED_MEDIA = Path(os.environ.get("DREAMVIDEO_SHARED_MEDIA")
                    or Path(__file__).resolve().parents[2] / "shared" / "media")
REQUIRE_SHARED_MEDIA = "DREAMVIDEO_REQUIRE_SHARED_MEDIA"
SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def make_tiny_keras_model(seed=0):
    """Three small conv layers with a pooling step: receptive field 10 px, deterministic weights."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(None, None, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(x)
    x = keras.layers.MaxPooling2D(2, padding="same")(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv3")(x)
    return keras.Model(inputs, x, name="tiny")


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "tiny.keras"
    make_tiny_keras_model().save(path)
    return str(path)


def shared_media(*parts: str) -> Path:
    """The path of a file or folder in the shared media, e.g. ``shared_media("clips", "tree.avi")``.

    When it is absent the calling test skips, or fails if the environment variable
    ``DREAMVIDEO_REQUIRE_SHARED_MEDIA`` is set to anything but "" or "0" (CI sets it).
    """
    path = SHARED_MEDIA.joinpath(*parts)
    if not path.exists():
        message = f"{path} is absent (shared test media)"
        if os.environ.get(REQUIRE_SHARED_MEDIA, "") not in ("", "0"):
            pytest.fail(f"{message}, and {REQUIRE_SHARED_MEDIA} says it must be there")
        pytest.skip(message)
    return path


def record_dream_frames(module, monkeypatch) -> list:
    """Wrap ``module.dream_frame`` (video or zoom): returns the list of (frame, steps) of its calls, in order.

    steps None means the frame's full --steps; a number is what a carried frame was given.
    """
    calls = []
    real = module.dream_frame

    def recording(dreamer, image, opts, frame, *args, steps=None, **kwargs):
        calls.append((frame, steps))
        return real(dreamer, image, opts, frame, *args, steps=steps, **kwargs)

    monkeypatch.setattr(module, "dream_frame", recording)
    return calls


def record_kernel_dreams(monkeypatch) -> list:
    """Wrap ``Dreamer.dream``: returns the list of (steps, octaves) it was called with, in order."""
    from dreamvideo import kernel

    calls = []
    real = kernel.Dreamer.dream

    def recording(self, image, **kwargs):
        calls.append((kwargs["steps"], kwargs["octaves"]))
        return real(self, image, **kwargs)

    monkeypatch.setattr(kernel.Dreamer, "dream", recording)
    return calls


def random_picture(height=48, width=64, seed=0) -> np.ndarray:
    """uint8 (height, width, 3): random noise blurred by upsampling, so features are not pure noise."""
    import cv2

    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 255, (height // 4 + 1, width // 4 + 1, 3)).astype(np.float32)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 255).astype(np.uint8)


@pytest.fixture()
def random_image():
    return random_picture


# ---------------------------------------------------------------------------------------------------
# End-to-end helpers: the CLI run in-process, generated clips with audio, and facts about outputs read
# with PyAV directly (not through dreamvideo.media), so an output is checked by a second opinion.

CLIP_FPS = "30000/1001"
CLIP_FRAMES = 18
CLIP_SIZE = (64, 48)  # width, height


def write_tone(path, seconds=1.5, frequency=440.0, codec="aac", silent_until=0.0, rate=44100, video=None):
    """Write a sine tone (silent before `silent_until` seconds) with PyAV, as audio alone or, with
    `video=(width, height, fps)`, beside a grey H.264 picture of the same length. Returns `path` as str."""
    from fractions import Fraction

    import av

    with av.open(str(path), "w") as out:
        picture = None
        if video is not None:
            width, height, fps = video
            picture = out.add_stream("libx264", rate=Fraction(fps))
            picture.width, picture.height, picture.pix_fmt = width, height, "yuv420p"
        sound = out.add_stream(codec, rate=rate)
        sound.codec_context.layout = "mono"
        frame_size = sound.codec_context.frame_size or 1024
        resampler = av.AudioResampler(format=sound.codec_context.format, layout="mono", rate=rate,
                                      frame_size=frame_size)
        t = np.arange(int(seconds * rate)) / rate
        samples = np.where(t >= silent_until, 0.5 * np.sin(2 * np.pi * frequency * t), 0).astype(np.float32)
        source = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
        source.sample_rate, source.pts = rate, 0
        for piece in resampler.resample(source) + resampler.resample(None):
            out.mux(sound.encode(piece))
        out.mux(sound.encode(None))
        if picture is not None:
            grey = np.full((height, width, 3), 128, np.uint8)
            for i in range(int(round(seconds * float(fps)))):
                frame = av.VideoFrame.from_ndarray(grey, format="rgb24")
                frame.pts = i
                out.mux(picture.encode(frame))
            out.mux(picture.encode(None))
    return str(path)


def audio_samples(path, rate: int = 8000):
    """The first audio stream of `path` decoded by PyAV to mono float64 samples at `rate` Hz."""
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    pieces = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            pieces += [p.to_ndarray().ravel() for p in resampler.resample(frame)]
    pieces += [p.to_ndarray().ravel() for p in resampler.resample(None)]
    return np.concatenate(pieces).astype(np.float64) if pieces else np.zeros(0)


def moving_frames(count: int = CLIP_FRAMES, size=CLIP_SIZE, seed: int = 1):
    """Frames of a smooth texture scrolling 2 px right per frame, with a bright square moving down.

    uint8 (H, W, 3) RGB; real motion for the optical flow, and every frame different.
    """
    import cv2

    width, height = size
    rng = np.random.default_rng(seed)
    wide = width + 2 * count
    small = rng.uniform(0, 255, (height // 4 + 1, wide // 4 + 1, 3)).astype(np.float32)
    texture = cv2.resize(small, (wide, height), interpolation=cv2.INTER_CUBIC).clip(0, 255).astype(np.uint8)
    for i in range(count):
        frame = np.ascontiguousarray(texture[:, wide - width - 2 * i: wide - 2 * i])
        top = (3 + 2 * i) % (height - 10)
        frame[top:top + 10, 10:20] = (250, 240, 40)
        yield frame


@pytest.fixture(scope="session")
def sine_audio_file(tmp_path_factory):
    """A 1.5 s 440 Hz AAC tone in an .m4a: audio with no video stream."""
    path = write_tone(tmp_path_factory.mktemp("audio") / "tone.m4a", seconds=1.5)
    assert Path(path).stat().st_size > 0
    return path


def _write_clip(path, audio_from=None, count=CLIP_FRAMES):
    from dreamvideo.media import open_sink

    with open_sink(path, fps=CLIP_FPS, audio_from=audio_from, quality=10) as sink:
        for frame in moving_frames(count):
            sink.write(frame)
    return str(path)


@pytest.fixture(scope="session")
def moving_clip(tmp_path_factory, sine_audio_file):
    """An 18-frame 64x48 H.264 MP4 at exactly 30000/1001 fps with an AAC sine track.

    Shared by the session: copy it before rendering with a default (beside the input) output.
    """
    return _write_clip(tmp_path_factory.mktemp("clips") / "moving.mp4", audio_from=sine_audio_file)


@pytest.fixture(scope="session")
def silent_clip(tmp_path_factory):
    """The same 18 frames without an audio track."""
    return _write_clip(tmp_path_factory.mktemp("clips") / "silent.mp4")


class CliResult:
    """Exit code and captured output of one in-process ``dreamvideo.cli.main`` call."""

    def __init__(self, code, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]

    def assert_user_error(self, *needles: str) -> str:
        """Exit code 2 and exactly one line on stderr, ``dreamvideo: error: ...`` naming each needle."""
        assert self.code == 2, f"exit code {self.code}, stderr: {self.err}"
        assert len(self.err_lines) == 1, f"expected one line on stderr, got:\n{self.err}"
        line = self.err_lines[0]
        assert line.startswith("dreamvideo: error: "), line
        assert "Traceback" not in self.err
        for needle in needles:
            assert str(needle) in line, f"{needle!r} not in {line!r}"
        return line

    def __repr__(self):
        return f"CliResult(code={self.code!r}, err={self.err!r})"


@pytest.fixture()
def cli(capsys):
    """``cli(*argv)`` runs ``dreamvideo.cli.main`` in-process and returns a :class:`CliResult`.

    A SystemExit (argparse's way) is caught and its code kept, so a test can see it instead of pytest
    stopping on it.
    """
    from dreamvideo.cli import main

    def run(*argv) -> CliResult:
        capsys.readouterr()
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture()
def tiny_args(tiny_model_file):
    """CLI flags for a fast render with the tiny model (1 octave, 2 steps, quiet)."""
    return ["--model", tiny_model_file, "--layer", "conv3", "--octaves", "1", "--steps", "2", "-q"]


def listing(folder) -> list[str]:
    """Every file and folder below ``folder`` (hidden ones too), relative, sorted."""
    folder = Path(folder)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture()
def snapshot():
    return listing


RENDER_FILE_SUFFIX = ".dreamvideo.json"


def published(folder) -> list[str]:
    """The names in ``folder`` after a successful render, without the render files written beside outputs."""
    return sorted(name for name in os.listdir(folder) if not name.endswith(RENDER_FILE_SUFFIX))


class OutputFacts:
    """Facts about a rendered file, read with PyAV and PIL directly (not with dreamvideo.media)."""

    @staticmethod
    def video_packets(path):
        """(time base, sorted presentation timestamps) of the first video stream, without decoding."""
        import av

        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stamps = [p.pts for p in container.demux(stream) if p.size and p.pts is not None]
            return stream.time_base, sorted(stamps)

    @classmethod
    def frame_count(cls, path) -> int:
        return len(cls.video_packets(path)[1])

    @classmethod
    def exact_fps(cls, path):
        """The frame rate as a Fraction, from the spacing of the timestamps (all must be equal)."""
        from fractions import Fraction

        time_base, stamps = cls.video_packets(path)
        steps = {b - a for a, b in zip(stamps, stamps[1:])}
        assert len(steps) == 1, f"uneven timestamps in {path}: {sorted(steps)}"
        return Fraction(1) / (steps.pop() * time_base)

    @staticmethod
    def codecs(path) -> dict:
        """{"video": codec name or None, "audio": codec name or None} of the first streams."""
        import av

        with av.open(str(path)) as container:
            return {kind: (streams[0].codec_context.name if streams else None)
                    for kind, streams in (("video", container.streams.video), ("audio", container.streams.audio))}

    @classmethod
    def has_audio(cls, path) -> bool:
        return cls.codecs(path)["audio"] is not None

    @classmethod
    def video_codec(cls, path) -> str:
        return cls.codecs(path)["video"] or ""

    @staticmethod
    def duration(path) -> float:
        """The container's duration in seconds."""
        import av

        with av.open(str(path)) as container:
            return container.duration / av.time_base

    @staticmethod
    def audio_samples(path, rate: int = 8000):
        """The first audio stream decoded by PyAV to mono float64 samples in [-1, 1] at ``rate`` Hz."""
        return audio_samples(path, rate)

    @staticmethod
    def decoded_frames(path) -> list:
        """Every frame the decoder gives (no resampling), uint8 RGB."""
        import av

        with av.open(str(path)) as container:
            return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]

    @staticmethod
    def gif(path):
        """(frame count, loop count or None, NETSCAPE extension present) of a GIF."""
        from PIL import Image

        with Image.open(path) as image:
            return image.n_frames, image.info.get("loop"), b"NETSCAPE2.0" in Path(path).read_bytes()

    @staticmethod
    def png_frames(folder) -> list:
        """The numbered PNGs of a frames folder, in order, as uint8 RGB arrays (read with PIL)."""
        from PIL import Image

        names = sorted(Path(folder).glob("frame_*.png"))
        frames = []
        for name in names:
            with Image.open(name) as image:
                assert image.mode == "RGB", f"{name} is {image.mode}"
                frames.append(np.asarray(image))
        return frames


@pytest.fixture()
def facts():
    return OutputFacts
