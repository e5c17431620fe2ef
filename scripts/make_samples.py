"""Make the files in samples/ from the two CC0 photos there.

    python scripts/make_samples.py            # everything
    python scripts/make_samples.py clip       # only the sample clip (or still, video, zoom, gan, looks, steady, pulse, restore)

* ``coffee_pan.mp4``: a 2-second camera move (pan and push-in) over ``coffee.png``, 320x240 at 24 fps, with
  a soft generated tone as its audio track, so the quick start shows audio surviving a render.
* ``coffee_dream.png``: the still dreamed with the default settings.
* ``coffee_pan_dream.gif``: the clip dreamed with the default settings (as a GIF for the README).
* ``coffee_zoom.gif``: an infinite zoom into the dreamed cup, looping.
* ``faces_walk.gif`` and ``faces_morph.gif`` (``gan``): a 32 px DCGAN trained on the 100 face crops that
  scikit-image ships (``skimage.data.lfw_subset()``, from the public LFW data set; scikit-image is needed
  for this target only: ``pip install scikit-image``), walked through 6 random latents, and one inverted
  face morphed into another. Training takes a few minutes on 2 CPU cores.
* ``looks.png``: ``coffee.png`` and ``chelsea.png`` (400 px) dreamed with the old default (VGG16) and with
  the MobileNetV1 candidates the defaults were chosen from, each labelled with its strength (mean |dream -
  photo| in grey levels), its share of clipped pixels (a channel at 0 or 255) and the share of its 224 px
  tiles whose top-1 ImageNet class by MobileNetV1's own head is an animal.
* ``beat.wav``, ``beat.png`` and ``coffee_pulse.mp4`` (``pulse``): 2 seconds of the drum loop the project
  synthesises (``music.synth_beat``: kick, snare, hi-hats at 120 BPM), its features as ``dreamvideo audio
  --plot`` draws them, and a zoom into the cup that surges on every beat, with the loop as its sound
  (``--zoom "1.005 + 0.03*beat"``, 200 px); ``coffee_pulse.gif`` is the same zoom without sound, for the README.
* ``restore.png`` (``restore``): frame 24 of the sample clip with a logo burnt in, filled by per-frame
  ``cv2.inpaint`` and by the flow-guided fill of ``dreamvideo restore`` (frames before and after, along the flow),
  beside the clean frame; each labelled with its PSNR inside the logo.
* ``steady.png``: the sample clip played back and forth to 330 frames (200 px, 4 steps, 2 octaves): frames 40
  and 322, the same picture, rendered without and with ``--steady``, beside the picture dreamed on its own.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
sys.path.insert(0, str(ROOT))

import dreamvideo as dv  # noqa: E402
from dreamvideo import media  # noqa: E402
from dreamvideo.steady import dream_strength  # noqa: E402

CLIP_SIZE = (320, 240)
CLIP_FPS = 24
CLIP_FRAMES = 48


def camera_move(photo: np.ndarray, frames: int, size: tuple[int, int]):
    """Frames of a virtual camera that pans left to right while pushing in 1.25x, uint8 RGB."""
    height, width = photo.shape[:2]
    out_w, out_h = size
    for i in range(frames):
        t = i / (frames - 1)
        ease = 0.5 - 0.5 * np.cos(np.pi * t)  # start and stop gently
        view_w = width * (0.8 - 0.16 * ease)
        cx = width * (0.42 + 0.16 * ease)
        cy = height * 0.5
        scale = out_w / view_w
        matrix = np.array([[scale, 0, out_w / 2 - scale * cx], [0, scale, out_h / 2 - scale * cy]])
        yield cv2.warpAffine(photo, matrix, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT_101)


def write_tone(path: Path, seconds: float, frequency: float = 220.0, rate: int = 44100) -> None:
    """A quiet sine tone that fades in and out over half a second, as 64 kb/s AAC (PyAV)."""
    import av

    t = np.arange(int(seconds * rate)) / rate
    fade = np.clip(np.minimum(t, seconds - t) / 0.5, 0, 1)
    samples = (0.3 * fade * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=rate)
        stream.codec_context.layout = "mono"
        stream.codec_context.bit_rate = 64_000
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=rate, frame_size=1024)
        source = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
        source.sample_rate, source.pts = rate, 0
        for piece in resampler.resample(source) + resampler.resample(None):
            out.mux(stream.encode(piece))
        out.mux(stream.encode(None))


def make_clip() -> Path:
    photo = media.read_image(SAMPLES / "coffee.png")
    target = SAMPLES / "coffee_pan.mp4"
    with tempfile.TemporaryDirectory() as tmp:
        tone = Path(tmp) / "tone.m4a"
        seconds = CLIP_FRAMES / CLIP_FPS
        write_tone(tone, seconds)
        with media.open_sink(target, fps=CLIP_FPS, audio_from=tone, quality=20) as sink:
            for frame in camera_move(photo, CLIP_FRAMES, CLIP_SIZE):
                sink.write(frame)
    return target


GAN_EPOCHS = 300
GAN_BATCH = 16
MORPH_FACES = (0, 21)  # two faces of lfw_subset() that look unlike each other


def make_gan_samples() -> list[str]:
    """Train the sample GAN on the LFW face crops (in a temporary folder), then walk and morph it."""
    from skimage.data import lfw_subset

    faces = np.clip(np.rint(lfw_subset()[:100] * 255.0), 0, 255).astype(np.uint8)  # the first 100 are faces
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "faces"
        folder.mkdir()
        for i, face in enumerate(faces):
            cv2.imwrite(str(folder / f"face_{i:03d}.png"), face)
        model = dv.gan.train(folder, Path(tmp) / "faces.gan", size=32, epochs=GAN_EPOCHS, batch_size=GAN_BATCH,
                             seed=0, quiet=True)
        walk = dv.gan.walk(model, SAMPLES / "faces_walk.gif", frames=96, keyframes=6, fps=24, scale=4, quiet=True)
        a, b = (folder / f"face_{i:03d}.png" for i in MORPH_FACES)
        morph = dv.gan.morph(model, a, b, SAMPLES / "faces_morph.gif", frames=48, fps=24, scale=4, quiet=True)
    return [walk, morph]


# The old default (VGG16 HED at block4_conv3, 4 octaves of 6 steps) beside the MobileNetV1 candidates
# (None: the current defaults).
OLD_LOOK = dict(model="vgg16", octaves=4, steps=6)
LOOKS = [("old default: vgg16 block4_conv3 s6 o4", OLD_LOOK),
         ("pw_7 s10 o5", dict(layer="conv_pw_7_relu")),
         ("pw_10+pw_12 s10 o5", dict(layer=["conv_pw_10_relu", "conv_pw_12_relu"])),
         ("pw_7+pw_11 s10 o4", dict(octaves=4)),
         ("pw_7+pw_11 s10 x3 o5", dict(step_size=3.0)),
         ("new default: pw_7+pw_11 s10 x2 o5", None)]
LOOK_PHOTOS = ("coffee.png", "chelsea.png")
LOOK_SIDE = 400


def make_looks() -> Path:
    rows = []
    for name in LOOK_PHOTOS:
        photo = media.resize_max_side(media.read_image(SAMPLES / name), LOOK_SIDE)
        tiles = [label_tile(photo, name, photo)]
        for label, change in LOOKS:
            tiles.append(label_tile(dv.dream_array(photo, quiet=True, **(change or {})), label, photo))
        rows.append(np.concatenate(tiles, axis=1))
    target = SAMPLES / "looks.png"
    media.write_image(target, np.concatenate(rows, axis=0))
    return target


def label_tile(image: np.ndarray, label: str, photo: np.ndarray) -> np.ndarray:
    """``image`` above a black strip with ``label``, its strength, its clipped share and the share of its
    224 px tiles that MobileNetV1's own ImageNet head calls an animal."""
    from dreamvideo.models.mobilenet_v1 import animal_share

    strength = dream_strength(image, photo)
    clipped = float(((image == 0) | (image == 255)).any(axis=2).mean())
    strip = np.zeros((34, image.shape[1], 3), np.uint8)
    cv2.putText(strip, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    cv2.putText(strip, f"strength {strength:.1f}, clipped {clipped:.1%}, animal tiles {animal_share(image):.0%}",
                (4, 29), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (200, 200, 200), 1, cv2.LINE_AA)
    return np.concatenate([image, strip], axis=0)


# The long-render look (issue 9): the sample clip played back and forth, frames that show the same picture.
STEADY_FRAMES = 330
STEADY_SHOWN = (40, 322)  # the clip's frame 40 both times (the ping-pong cycle is 94 frames)
STEADY_SIDE = 200
STEADY_SETTINGS = dict(max_side=STEADY_SIDE, steps=4, octaves=2)


def make_steady() -> Path:
    """Frame 40 and frame 322 of a long render (the same source picture), without and with --steady, beside
    that picture dreamed on its own; each labelled with its strength and clipped share."""
    clip = list(media.read_frames(SAMPLES / "coffee_pan.mp4", max_side=STEADY_SIDE))
    cycle = clip + clip[-2:0:-1]
    frames = [cycle[i % len(cycle)] for i in range(STEADY_FRAMES)]
    source = frames[STEADY_SHOWN[0]]
    assert all(np.array_equal(frames[i], source) for i in STEADY_SHOWN)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        long_clip = Path(tmp) / "long.mp4"
        with media.open_sink(long_clip, fps=CLIP_FPS, quality=0) as sink:
            for frame in frames:
                sink.write(frame)
        frames = list(media.read_frames(long_clip))  # as the render sees them
        naive = dv.dream_array(frames[STEADY_SHOWN[0]], quiet=True, **STEADY_SETTINGS)
        default = dv.options.VideoOptions().steady
        for label, steady in (("--steady 0", 0.0), (f"--steady {default:g} (default)", default)):
            folder = Path(tmp) / f"steady{steady}"
            dv.render_video(long_clip, f"{folder}/", quiet=True, steady=steady, **STEADY_SETTINGS)
            dreams = sorted(folder.glob("frame_*.png"))
            tiles = [label_tile(media.read_image(dreams[i]), f"{label}, frame {i}", frames[i]) for i in STEADY_SHOWN]
            rows.append(np.concatenate(tiles + [label_tile(naive, "dreamed on its own", frames[STEADY_SHOWN[0]])],
                                       axis=1))
    target = SAMPLES / "steady.png"
    media.write_image(target, np.concatenate(rows, axis=0))
    return target


def make_pulse() -> list[Path]:
    """The drum loop, its plot, and a zoom that pulses to it (MP4 with the sound; a GIF for the README)."""
    from dreamvideo import music
    from dreamvideo.media.sound import write_sound

    beat = music.synth_beat(2.0, 120.0)
    write_sound(SAMPLES / "beat.wav", beat.samples, beat.rate)
    dv.analyse_audio(SAMPLES / "beat.wav", fps=24, plot=str(SAMPLES / "beat.png"))
    video = dv.render_zoom(SAMPLES / "coffee.png", SAMPLES / "coffee_pulse.mp4", audio=str(SAMPLES / "beat.wav"),
                           zoom="1.005 + 0.03*beat", max_side=200, quiet=True, restart=True)
    with media.open_sink(SAMPLES / "coffee_pulse.gif", fps=24) as sink:  # the same frames, silent
        for frame in media.read_frames(video):
            sink.write(frame)
    return [SAMPLES / "beat.wav", SAMPLES / "beat.png", Path(video), SAMPLES / "coffee_pulse.gif"]


RESTORE_SHOWN = 24


def logo_mask(height: int, width: int) -> np.ndarray:
    """A white word in a box, uint8 (H, W) 0/255, in the top right corner."""
    mask = np.zeros((height, width), np.uint8)
    scale = width / 320
    x, y = int(0.55 * width), int(0.08 * height)
    cv2.rectangle(mask, (x, y), (x + int(120 * scale), y + int(40 * scale)), 255, max(1, int(3 * scale)))
    cv2.putText(mask, "LOGO", (x + int(8 * scale), y + int(32 * scale)), cv2.FONT_HERSHEY_SIMPLEX, 1.1 * scale,
                255, max(1, int(4 * scale)))
    return mask


def make_restore() -> Path:
    """The sample clip with a logo burnt in, restored: frame RESTORE_SHOWN with the logo, inpainted frame by
    frame, filled along the flow, and clean; each labelled with its PSNR inside the logo. The fill is the
    user's own command, ``dv.restore`` (``dreamvideo restore damaged.mp4 --mask logo.png -o restored/``), on
    the damaged clip written losslessly with the sample's sound."""
    from dreamvideo import fill

    clean = list(media.read_frames(SAMPLES / "coffee_pan.mp4"))
    mask = logo_mask(*clean[0].shape[:2])
    inside = mask > 0
    damaged = [frame.copy() for frame in clean]
    for frame in damaged:
        frame[inside] = 255
    with tempfile.TemporaryDirectory() as tmp:
        clip, logo, restored_folder = Path(tmp) / "damaged.mp4", Path(tmp) / "logo.png", Path(tmp) / "restored"
        with media.open_sink(clip, fps=CLIP_FPS, audio_from=SAMPLES / "coffee_pan.mp4", quality=0) as sink:
            for frame in damaged:
                sink.write(frame)
        cv2.imwrite(str(logo), mask)
        dv.restore(clip, f"{restored_folder}/", mask=logo, quiet=True)
        restored = [media.read_image(path) for path in sorted(restored_folder.glob("frame_*.png"))]
    if len(restored) != len(clean):
        raise SystemExit(f"dv.restore wrote {len(restored)} frames of {len(clean)}")
    shown = RESTORE_SHOWN
    truth = clean[shown]

    def psnr(image):
        error = np.square(image.astype(np.float64) - truth)[inside].mean()
        return 10 * np.log10(255.0 ** 2 / max(error, 1e-12))

    tiles = []
    for label, image in (("with the logo", damaged[shown]),
                         ("cv2.inpaint, frame by frame", fill.inpaint(damaged[shown], fill.grow_mask(inside, fill.GROW))),
                         ("dreamvideo restore --mask", restored[shown]), ("clean", truth)):
        strip = np.zeros((34, image.shape[1], 3), np.uint8)
        cv2.putText(strip, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
        if label != "clean":
            cv2.putText(strip, f"PSNR in the logo {psnr(image):.1f} dB", (4, 29), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (200, 200, 200), 1, cv2.LINE_AA)
        tiles.append(np.concatenate([image, strip], axis=0))
    target = SAMPLES / "restore.png"
    media.write_image(target, np.concatenate([np.concatenate(tiles[:2], axis=1), np.concatenate(tiles[2:], axis=1)],
                                             axis=0))
    return target


def main(argv: list[str]) -> None:
    what = set(argv) or {"clip", "still", "video", "zoom", "gan", "looks", "steady", "pulse", "restore"}
    if "clip" in what:
        print("wrote", make_clip())
    if "still" in what:
        print("wrote", dv.dream_image(SAMPLES / "coffee.png", SAMPLES / "coffee_dream.png", quiet=True))
    if "video" in what:
        print("wrote", dv.render_video(SAMPLES / "coffee_pan.mp4", SAMPLES / "coffee_pan_dream.gif",
                                       quiet=True, restart=True))
    if "zoom" in what:
        print("wrote", dv.render_zoom(SAMPLES / "coffee.png", SAMPLES / "coffee_zoom.gif", frames=48, fps=16,
                                      max_side=240, zoom=1.04, angle="0:(0), 47:(1)", loop=True,
                                      quiet=True, restart=True))
    if "gan" in what:
        print("wrote", *make_gan_samples())
    if "looks" in what:
        print("wrote", make_looks())
    if "steady" in what:
        print("wrote", make_steady())
    if "pulse" in what:
        print("wrote", *make_pulse())
    if "restore" in what:
        print("wrote", make_restore())


if __name__ == "__main__":
    main(sys.argv[1:])
