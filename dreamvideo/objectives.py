"""What the dream maximises: weighted layer and channel activations.

An :class:`Objective` is a list of terms, each a layer (optionally restricted to some channels) with a
weight. Weights may be numbers, keyframe strings or callables of the frame number: the kernel receives
them as one float32 vector per frame, so a changing weight never re-traces the TensorFlow function.

Each term's value is the mean of the squared activations (the L2 objective of the original DeepDream),
so a deep layer with few positions weighs as much as a shallow one with many.

CLI syntax of a term, ``--layer NAME[/CHANNELS][:WEIGHT]``:

* ``block4_conv3``: the whole layer, weight 1;
* ``block3_conv3:0.5``: weight 0.5 (negative weights suppress a feature);
* ``block4_conv3/12``, ``block4_conv3/12,40-47:2``: only channels 12, or 12 and 40 to 47 inclusive;
* ``block3_conv3:0:(1), 99:(0)``: a keyframed weight (everything after the first colon is the weight).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

from .errors import DreamError
from .schedules import Schedule, as_schedule


@dataclass(frozen=True)
class LayerTerm:
    """Squared activations of ``layer`` (all channels, or just ``channels``), times ``weight``."""

    layer: str
    channels: tuple[int, ...] | None = None
    weight: Any = 1.0

    def spec(self) -> str:
        text = self.layer
        if self.channels:
            text += "/" + ",".join(str(c) for c in self.channels)
        weight = as_schedule(self.weight, name=f"weight of {self.layer}")
        if not (weight.is_constant and weight(0) == 1.0):
            text += ":" + weight.to_text()
        return text


class Objective:
    """A weighted sum of :class:`LayerTerm` terms."""

    def __init__(self, terms: Sequence[LayerTerm]):
        if not terms:
            raise DreamError("an objective needs at least one layer")
        self.terms = tuple(terms)
        self._weights = [as_schedule(t.weight, name=f"weight of layer {t.layer}") for t in self.terms]

    @property
    def layers(self) -> tuple[str, ...]:
        """The distinct layers the terms read, in first-use order."""
        seen: dict[str, None] = {}
        for term in self.terms:
            seen.setdefault(term.layer, None)
        return tuple(seen)

    def weights_at(self, frame: int) -> list[float]:
        """The terms' weights at ``frame``, in term order."""
        return [float(w(frame)) for w in self._weights]

    def specs(self) -> list[str]:
        """The terms in CLI syntax (round-trips through :func:`parse_layer_spec`)."""
        return [t.spec() for t in self.terms]

    def validate_channels(self, channel_counts: dict[str, int]) -> None:
        for term in self.terms:
            count = channel_counts.get(term.layer)
            for channel in term.channels or ():
                if count is not None and not 0 <= channel < count:
                    raise DreamError(f"channel {channel} of layer {term.layer} does not exist: "
                                     f"it has channels 0 to {count - 1}")

    def loss(self, activations: dict, weights, area_fraction):
        """The objective's value for one tile (a float32 scalar tensor).

        ``activations`` maps layer names to (1, h, w, C) float32 tensors; ``weights`` is the float32
        vector from :meth:`weights_at`; ``area_fraction`` is the tile's share of the image's area, so the
        tiles of an image add up to the value of the whole image.
        """
        import tensorflow as tf

        total = tf.constant(0.0)
        for i, term in enumerate(self.terms):
            act = activations[term.layer]
            if term.channels:
                act = tf.gather(act, list(term.channels), axis=-1)
            total += weights[i] * tf.reduce_mean(tf.square(act))
        return total * area_fraction

    def __repr__(self) -> str:
        return f"Objective({', '.join(self.specs())})"


_CHANNELS = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")


def parse_layer_spec(text: str) -> LayerTerm:
    """Parse ``NAME[/CHANNELS][:WEIGHT]`` (see the module docstring) into a :class:`LayerTerm`."""
    text = text.strip()
    name, _, weight_text = text.partition(":")
    weight: Any = 1.0
    if weight_text.strip():
        weight = as_schedule(weight_text.strip(), name=f"weight of layer {name}")
    elif _:
        raise DreamError(f"layer {text!r}: nothing after ':'; write NAME:WEIGHT, e.g. block3_conv3:0.5")
    name, _, channel_text = name.partition("/")
    name = name.strip()
    if not name:
        raise DreamError(f"layer {text!r}: no layer name")
    channels = None
    if _:
        channel_text = channel_text.replace(" ", "")
        if not _CHANNELS.match(channel_text):
            raise DreamError(f"layer {text!r}: channels must be numbers or ranges like 12,40-47")
        channels = []
        for part in channel_text.split(","):
            low, _, high = part.partition("-")
            low_i, high_i = int(low), int(high or low)
            if high_i < low_i:
                raise DreamError(f"layer {text!r}: channel range {part} goes backwards")
            channels.extend(range(low_i, high_i + 1))
        channels = tuple(dict.fromkeys(channels))
    return LayerTerm(name, channels, weight)


def layers(*specs: str | LayerTerm) -> Objective:
    """An objective from layer specs, e.g. ``layers("block4_conv3", "block3_conv3:0.5")``."""
    return Objective([s if isinstance(s, LayerTerm) else parse_layer_spec(s) for s in specs])


def as_objective(value, default_layers: Sequence[str]) -> Objective:
    """Accept an Objective, a layer spec string, a list of specs, or None (the model's defaults)."""
    if value is None:
        return layers(*default_layers)
    if isinstance(value, Objective):
        return value
    if isinstance(value, (str, LayerTerm)):
        return layers(value)
    if isinstance(value, Schedule):
        raise DreamError("an objective must name layers, not only a schedule")
    try:
        return layers(*value)
    except TypeError:
        raise DreamError(f"cannot use {value!r} as an objective: give layer names like 'block4_conv3'") \
            from None
