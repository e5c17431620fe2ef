"""A finished video file plus another file's sound: the audio copied, or re-encoded, trimmed to the video.

The video packets are copied as they are; audio packets are interleaved with them by time.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from typing import Iterator, Optional

import av

from ..errors import DreamError
from .files import PathLike
from .probe import open_container, seek_stream, stream_time

logger = logging.getLogger("dreamvideo.media")


def mux_with_audio(video_file: str, audio_from: PathLike, codec: str, audio_start: float, seconds: Fraction,
                   output_file: str, container_format: str, copyable: frozenset, encoder: str, muxer_options: dict,
                   name: PathLike) -> None:
    """Write `output_file`: the video of `video_file` and the first audio stream of `audio_from` (whose codec
    is `codec`) from `audio_start` seconds on, cut to `seconds`. The audio is copied if its codec is in
    `copyable` (and the muxer takes it), else encoded with `encoder`. DreamError if neither works."""
    attempts = [True, False] if codec in copyable else [False]
    problem = "no attempt"
    for copy in attempts:
        try:
            _mux(video_file, audio_from, audio_start, seconds, output_file, container_format, copy, encoder,
                 muxer_options)
            return
        except (av.FFmpegError, ValueError) as exc:
            problem = str(exc)
            logger.debug("adding the audio of %s (%s) failed: %s", audio_from, "copy" if copy else encoder, exc)
    raise DreamError(f"{name}: could not add the audio of {audio_from} ({problem})")


def _mux(video_file: str, audio_from: PathLike, audio_start: float, seconds: Fraction, output_file: str,
         container_format: str, copy: bool, encoder: str, muxer_options: dict) -> None:
    with av.open(video_file) as video_in, open_container(audio_from, audio_from) as audio_in, \
            av.open(output_file, "w", format=container_format, options=muxer_options) as out:
        video = video_in.streams.video[0]
        out_video = out.add_stream_from_template(video)
        sound = audio_in.streams.audio[0]
        start = Fraction(audio_start).limit_denominator(10**6)
        end = start + seconds
        if copy:
            out_audio = out.add_stream_from_template(sound)
            audio_packets = _copied_packets(audio_in, sound, start, end, out_audio)
        else:
            out_audio = _audio_encoder(out, encoder, sound)
            audio_packets = _encoded_packets(audio_in, sound, start, end, out_audio)
        pending = next(audio_packets, None)
        for packet in video_in.demux(video):
            if packet.dts is None:
                continue
            packet_time = packet.dts * video.time_base
            while pending is not None and pending.pts * pending.time_base <= packet_time:
                out.mux(pending)
                pending = next(audio_packets, None)
            packet.stream = out_video
            out.mux(packet)
        while pending is not None:
            out.mux(pending)
            pending = next(audio_packets, None)


def _copied_packets(container, stream, start: Fraction, end: Fraction, out_stream) -> Iterator["av.Packet"]:
    """The packets that start within [start, end), retimed so that `start` is 0."""
    zero = seek_stream(container, stream, start)
    for packet in container.demux(stream):
        if packet.pts is None or not packet.size:
            continue
        time = stream_time(packet.pts, stream, zero)
        if time < start - Fraction(1, 10**6):
            continue
        if time >= end:
            return
        shift = int(round((start + zero) / stream.time_base))
        packet.pts -= shift
        packet.dts = packet.pts if packet.dts is None else packet.dts - shift
        packet.stream = out_stream
        yield packet


_NATIVE_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


def _audio_encoder(out, encoder: str, sound):
    layout = sound.codec_context.layout
    channels = layout.nb_channels if layout is not None else 2
    rate = sound.codec_context.sample_rate or 48000
    if encoder == "libopus":  # Opus runs at 48 kHz; more than two channels need a mapping family
        rate, channels = 48000, min(channels, 2)
    stream = out.add_stream(encoder, rate=rate)
    # a WAV's "1 channels" has no order; encoders want a named layout
    stream.codec_context.layout = _NATIVE_LAYOUTS.get(channels, "stereo")
    if encoder == "aac":
        stream.codec_context.bit_rate = 192_000
    return stream


def _encoded_packets(container, stream, start: Fraction, end: Fraction, out_stream) -> Iterator["av.Packet"]:
    """Decode from `start`, cut the samples to [start, end) exactly, encode."""
    context = out_stream.codec_context
    zero = seek_stream(container, stream, start)
    resampler = None
    wanted = int(round((end - start) * context.sample_rate))
    written = 0
    for frame in container.decode(stream):
        if frame.pts is None:
            continue
        time = stream_time(frame.pts, stream, zero)
        frame.pts = None
        if resampler is None:
            resampler = av.AudioResampler(format=context.format, layout=context.layout, rate=context.sample_rate,
                                          frame_size=context.frame_size or None)
        skip = max(0, int(round((start - time) * frame.sample_rate)))
        if skip >= frame.samples:
            continue
        for piece in resampler.resample(_samples(frame, skip, frame.samples) if skip else frame):
            piece, written, done = _cut(piece, written, wanted)
            if piece is not None:
                yield from out_stream.encode(piece)
            if done:
                yield from out_stream.encode(None)
                return
    if resampler is not None:
        for piece in resampler.resample(None):
            piece, written, done = _cut(piece, written, wanted)
            if piece is not None:
                yield from out_stream.encode(piece)
            if done:
                break
    yield from out_stream.encode(None)


def _samples(frame: "av.AudioFrame", start: int, stop: int) -> "av.AudioFrame":
    """Samples [start, stop) of `frame` as a new frame."""
    array = frame.to_ndarray()
    width = 1 if frame.format.is_planar else len(frame.layout.channels)  # packed: channels interleaved
    out = av.AudioFrame.from_ndarray(array[:, start * width:stop * width].copy(), format=frame.format.name,
                                     layout=frame.layout.name)
    out.sample_rate = frame.sample_rate
    return out


def _cut(piece: "av.AudioFrame", written: int, wanted: int) -> tuple[Optional["av.AudioFrame"], int, bool]:
    """Stamp `piece` and shorten it so no more than `wanted` samples are written in all."""
    room = wanted - written
    if room <= 0:
        return None, written, True
    if piece.samples > room:
        piece = _samples(piece, 0, room)
    piece.pts = written
    written += piece.samples
    return piece, written, written >= wanted
