"""What the dream maximises: layers and channels, a guide image, a style, smoothness; composable.

An :class:`Objective` is a weighted sum of terms. Terms combine with numbers and schedules:

    a = dv.layers("block3_conv3")
    b = dv.layers("block5_conv1")
    morph = a * "0:(1), 99:(0)" + b * "0:(0), 99:(1)"   # weights follow keyframes
    smooth = dv.layers("block4_conv3") - 0.2 * dv.tv()
    guided = dv.guide("flowers.jpg") + 0.3 * dv.layers("block4_conv3")

Terms:

* **layer** (:func:`layers`): mean of the squared activations of a layer, or of some of its channels (the
  L2 objective of the original DeepDream). Being a mean, a deep layer with few positions weighs as much as a
  shallow one with many.
* **guide** (:func:`guide`): Google's guided DeepDream. Each position of the dream's features is pulled
  toward the guide image's feature vector it already resembles most (the largest dot product), so the
  dream grows the guide's kind of structure.
* **style** (:func:`style`): the neural-style objective of Gatys et al. 2015: minus the squared distance
  between the Gram matrices (channel correlations) of the dream's and the style image's features, each layer
  normalised by its style Gram's energy.
* **tv** (:func:`tv`): total variation, the mean squared difference of neighbouring pixels (on 0-1 RGB);
  give it a negative weight to smooth.

Weights are numbers, keyframe strings or callables of the frame number. The kernel receives them as one
float32 vector per frame, so a changing weight never re-traces the TensorFlow function.

CLI syntax of a layer term, ``--layer NAME[/CHANNELS][:WEIGHT]``: ``block4_conv3``; ``block3_conv3:0.5``;
``block4_conv3/12`` or ``block4_conv3/12,40-47:2`` (channels 12, 40 to 47); ``block3_conv3:0:(1), 99:(0)``
(a keyframed weight: everything after the first colon).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import Any, Sequence

from . import limits
from .errors import DreamError
from .media import resize_max_side
from .schedules import Schedule, as_schedule

# Guide and style images are read at most this large: their features are statistics, not a picture.
TARGET_MAX_SIDE = 320


def _scaled(weight, factor):
    """weight x factor, where either may be a number, keyframe string, callable or Schedule."""
    w = as_schedule(weight, name="weight")
    f = as_schedule(factor, name="weight factor")
    if w.is_constant and f.is_constant:
        return w(0) * f(0)
    # Times one is the other as it is: a keyframe string stays text that render files can keep.
    if w.is_constant and w(0) == 1.0:
        return f
    if f.is_constant and f(0) == 1.0:
        return w
    return lambda frame: w(frame) * f(frame)


@dataclass(frozen=True)
class Term:
    """One weighted part of an objective.

    kind: "layer", "guide", "style" or "tv". layers: the layers it reads. channels: for a layer term, the
    channels kept (None: all). image: for guide and style, the image file. weight: number, keyframe
    string, callable or Schedule.
    """

    kind: str
    layers: tuple[str, ...] = ()
    channels: tuple[int, ...] | None = None
    image: str | None = None
    weight: Any = 1.0

    def key(self) -> tuple:
        """What the compiled kernel depends on (everything but the weight)."""
        return (self.kind, self.layers, self.channels, self.image)

    def spec(self) -> str:
        """A layer term in CLI syntax (other kinds are saved as dicts, see :meth:`to_dict`)."""
        text = self.layers[0]
        if self.channels:
            text += "/" + ",".join(str(c) for c in self.channels)
        weight = as_schedule(self.weight, name=f"weight of {text}")
        if not (weight.is_constant and weight(0) == 1.0):
            text += ":" + weight.to_text()
        return text

    def to_dict(self, frames: int | None = None) -> dict:
        out = {"kind": self.kind, "weight": _weight_text(self.weight, frames)}
        if self.layers:
            out["layers"] = list(self.layers)
        if self.channels:
            out["channels"] = list(self.channels)
        if self.image:
            out["image"] = self.image
        return out


def _weight_text(weight, frames):
    schedule = as_schedule(weight, name="weight")
    if schedule.is_constant:
        return schedule(0)
    return schedule.to_text(frames=frames)


class Objective:
    """A weighted sum of :class:`Term` objects; supports ``+``, ``-``, ``*`` by numbers and schedules."""

    def __init__(self, terms: Sequence[Term]):
        if not terms:
            raise DreamError("an objective needs at least one term, e.g. a layer like block4_conv3")
        self.terms = tuple(terms)
        self._weights = [as_schedule(t.weight, name=f"weight of {t.kind} term {i + 1}")
                         for i, t in enumerate(self.terms)]

    # -- algebra ------------------------------------------------------------------------------------

    def __add__(self, other):
        if not isinstance(other, Objective):
            return NotImplemented
        return Objective(self.terms + other.terms)

    def __sub__(self, other):
        if not isinstance(other, Objective):
            return NotImplemented
        return self + other * -1.0

    def __mul__(self, factor):
        if isinstance(factor, Objective):
            return NotImplemented
        return Objective([replace(t, weight=_scaled(t.weight, factor)) for t in self.terms])

    __rmul__ = __mul__

    def __neg__(self):
        return self * -1.0

    # -- what the kernel needs ----------------------------------------------------------------------

    @property
    def layers(self) -> tuple[str, ...]:
        """The distinct layers the terms read, in first-use order."""
        seen: dict[str, None] = {}
        for term in self.terms:
            for layer in term.layers:
                seen.setdefault(layer, None)
        return tuple(seen)

    def key(self) -> tuple:
        return tuple(t.key() for t in self.terms)

    @property
    def sound_variables(self) -> frozenset:
        """The sound features (see :mod:`dreamvideo.music`) its weights use."""
        return frozenset().union(*(w.sound_variables for w in self._weights))

    def with_sound(self, features) -> "Objective":
        """The same objective with the sound's values for weights that use them (see Schedule.with_sound)."""
        return Objective([replace(t, weight=w.with_sound(features)) if w.sound_variables else t
                          for t, w in zip(self.terms, self._weights)])

    def weights_at(self, frame: int) -> list[float]:
        """The terms' weights at ``frame``, in term order."""
        return [float(w(frame)) for w in self._weights]

    def specs(self) -> list[str]:
        """The layer terms in CLI syntax (for messages)."""
        return [t.spec() for t in self.terms if t.kind == "layer"]

    def to_dicts(self, frames: int | None = None) -> list[dict]:
        """Every term as a plain dict (render files); callables are written frame by frame."""
        return [t.to_dict(frames) for t in self.terms]

    def prepare(self, features, read_image) -> list:
        """Per term, the constant target tensors computed once from its image (None for others).

        features: images (N, H, W, 3) float32 [0, 255] -> dict of activations by layer name.
        read_image(path) -> uint8 (H, W, 3).
        """
        import tensorflow as tf

        targets = []
        for term in self.terms:
            if term.kind not in ("guide", "style"):
                targets.append(None)
                continue
            image = resize_max_side(read_image(term.image), TARGET_MAX_SIDE)
            outputs = features(tf.constant(image[None], tf.float32))
            per_layer = []
            for layer in term.layers:
                act = outputs[layer][0]
                flat = tf.reshape(act, [-1, act.shape[-1]])
                per_layer.append(flat if term.kind == "guide" else _gram(flat))
            targets.append(per_layer)
        return targets

    def loss(self, activations: dict, weights, area_fraction, image, targets):
        """The objective's value for one tile (a float32 scalar tensor).

        activations: layer name -> (1, h, w, C) float32; weights: the float32 vector of
        :meth:`weights_at`; area_fraction: the tile's share of the image area (tiles add up to the whole
        image); image: the tile, (h, w, 3) float32 [0, 255]; targets: from :meth:`prepare`.
        """
        import tensorflow as tf

        total = tf.constant(0.0)
        for i, term in enumerate(self.terms):
            total += weights[i] * _term_value(term, activations, image, targets[i])
        return total * area_fraction

    def __repr__(self) -> str:
        return "Objective(" + ", ".join(f"{t.kind}:{t.layers or ''}{t.image or ''}" for t in self.terms) + ")"


def closeness(objective: Objective, activations: dict, targets: list) -> dict[str, float]:
    """How close an image's features are to each guide and style image, in the objectives' own terms.

    Guide: the mean, over the image's feature positions, of the best cosine similarity with any guide
    feature (higher is closer, at most 1). Style: the Gram distance that the style term minimises,
    sum over layers of ||G - G_style||^2 / ||G_style||^2 (lower is closer). Keys: "guide", "style"
    (numbered "guide 2"... when there are several).
    """
    import tensorflow as tf

    out: dict[str, float] = {}
    for term, target in zip(objective.terms, targets):
        if term.kind not in ("guide", "style"):
            continue
        value = 0.0
        for layer, reference in zip(term.layers, target):
            act = activations[layer][0]
            flat = tf.reshape(act, [-1, act.shape[-1]])
            if term.kind == "guide":
                cosine = tf.matmul(tf.math.l2_normalize(flat, axis=1), tf.math.l2_normalize(reference, axis=1),
                                   transpose_b=True)
                value += float(tf.reduce_mean(tf.reduce_max(cosine, axis=1))) / len(term.layers)
            else:
                value += float(tf.reduce_sum(tf.square(_gram(flat) - reference))
                               / (tf.reduce_sum(tf.square(reference)) + 1e-8))
        name = term.kind
        number = 2
        while name in out:
            name = f"{term.kind} {number}"
            number += 1
        out[name] = value
    return out


def _term_value(term: Term, activations: dict, image, target):
    import tensorflow as tf

    if term.kind == "layer":
        act = activations[term.layers[0]]
        if term.channels:
            act = tf.gather(act, list(term.channels), axis=-1)
        return tf.reduce_mean(tf.square(act))
    if term.kind == "tv":
        pixels = image / 255.0
        dy = pixels[1:] - pixels[:-1]
        dx = pixels[:, 1:] - pixels[:, :-1]
        return tf.reduce_mean(tf.square(dy)) + tf.reduce_mean(tf.square(dx))
    value = tf.constant(0.0)
    for layer, reference in zip(term.layers, target):
        act = activations[layer][0]
        flat = tf.reshape(act, [-1, tf.shape(act)[-1]])
        if term.kind == "guide":
            # Each dream position follows the guide feature it matches best (Google's guided DeepDream).
            matches = tf.matmul(flat, reference, transpose_b=True)
            value += tf.reduce_mean(tf.reduce_max(matches, axis=1))
        else:
            difference = _gram(flat) - reference
            value -= tf.reduce_sum(tf.square(difference)) / (tf.reduce_sum(tf.square(reference)) + 1e-8)
    return value


def _gram(flat):
    import tensorflow as tf

    return tf.matmul(flat, flat, transpose_a=True) / tf.cast(tf.shape(flat)[0], tf.float32)


# -- constructors -------------------------------------------------------------------------------------

_CHANNELS = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")


def parse_layer_spec(text: str) -> Term:
    """Parse ``NAME[/CHANNELS][:WEIGHT]`` (see the module docstring) into a layer :class:`Term`."""
    text = text.strip()
    name, colon, weight_text = text.partition(":")
    weight: Any = 1.0
    if weight_text.strip():
        weight = as_schedule(weight_text.strip(), name=f"weight of layer {name}")
    elif colon:
        raise DreamError(f"layer {limits.shown(text)}: nothing after ':'; write NAME:WEIGHT, e.g. block3_conv3:0.5")
    name, slash, channel_text = name.partition("/")
    name = name.strip()
    if not name:
        raise DreamError(f"layer {limits.shown(text)}: no layer name")
    channels = None
    if slash:
        channel_text = channel_text.replace(" ", "")
        if not _CHANNELS.match(channel_text):
            raise DreamError(f"layer {limits.shown(text)}: channels must be numbers or ranges like 12,40-47")
        chosen: list[int] = []
        for part in channel_text.split(","):
            low, _, high = part.partition("-")
            for number in (low, high):
                limits.check_number_text(number, f"layer {limits.shown(text)}")
            low_i, high_i = int(low), int(high or low)
            limits.check_channel_range(low_i, high_i, f"layer {limits.shown(text)}")
            if high_i < low_i:
                raise DreamError(f"layer {limits.shown(text)}: channel range {part} goes backwards")
            chosen.extend(range(low_i, high_i + 1))
        channels = tuple(dict.fromkeys(chosen))
    return Term("layer", (name,), channels, None, weight)


def layers(*specs: str) -> Objective:
    """An objective from layer specs, e.g. ``layers("block4_conv3", "block3_conv3:0.5")``."""
    return Objective([parse_layer_spec(s) for s in specs])


def _image_term(kind: str, image, layer_names, weight) -> Objective:
    from .media.files import regular_file

    path = os.fspath(regular_file(os.fspath(image), f"{kind} image"))
    names = (layer_names,) if isinstance(layer_names, str) else tuple(layer_names or ())
    return Objective([Term(kind, names, None, path, weight)])


def guide(image, layers: str | Sequence[str] | None = None, weight=1.0) -> Objective:
    """Steer the dream toward ``image``'s features at ``layers`` (default: the model's dream layers)."""
    return _image_term("guide", image, layers, weight)


def style(image, layers: str | Sequence[str] | None = None, weight=1.0) -> Objective:
    """Match the Gram matrices of ``image`` at ``layers`` (default: the model's style layers)."""
    return _image_term("style", image, layers, weight)


def tv(weight=1.0) -> Objective:
    """Total variation of the image (give it a negative weight to smooth)."""
    return Objective([Term("tv", (), None, None, weight)])


def from_dicts(items: Sequence[dict]) -> Objective:
    """Rebuild an objective from :meth:`Objective.to_dicts` (render files)."""
    terms = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise DreamError(f"objective term {number} is not a dict of kind, weight, layers, channels, image")
        kind = item.get("kind")
        if kind not in ("layer", "guide", "style", "tv"):
            raise DreamError(f"objective term kind {limits.shown(kind)} is not one of layer, guide, style, tv")
        unknown = sorted(set(item) - {"kind", "weight", "layers", "channels", "image"})
        if unknown:
            raise DreamError(f"objective term {number} ({kind}): unknown key {unknown[0]!r}")
        names, channels, image = item.get("layers", []), item.get("channels"), item.get("image")
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names) \
                or (kind == "layer" and len(names) != 1):
            raise DreamError(f"objective term {number} ({kind}): 'layers' must be a list of layer names"
                             f"{' (one for a layer term)' if kind == 'layer' else ''}, got {limits.shown(names)}")
        if channels is not None and (not isinstance(channels, (list, tuple)) or not all(
                isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in channels)):
            raise DreamError(f"objective term {number} ({kind}): 'channels' must be a list of channel numbers, "
                             f"got {limits.shown(channels)}")
        if not (isinstance(image, str) if kind in ("guide", "style") else image is None):
            raise DreamError(f"objective term {number} ({kind}): 'image' must be "
                             f"{'the path of an image' if kind in ('guide', 'style') else 'absent'}, got {limits.shown(image)}")
        terms.append(Term(kind, tuple(item.get("layers", ())), tuple(channels) if channels else None,
                          item.get("image"), item.get("weight", 1.0)))
    return Objective(terms)


def with_default_layers(objective: Objective, dream_layers: Sequence[str], style_layers: Sequence[str]) -> Objective:
    """Fill in the layers of guide and style terms that were made without any."""
    terms = []
    for term in objective.terms:
        if term.kind in ("guide", "style") and not term.layers:
            term = replace(term, layers=tuple(dream_layers if term.kind == "guide" else style_layers))
        terms.append(term)
    return Objective(terms)


def as_objective(value, default_layers: Sequence[str]) -> Objective:
    """Accept an Objective, a layer spec string, a list of specs, or None (the model's defaults)."""
    if value is None:
        return layers(*default_layers)
    if isinstance(value, Objective):
        return value
    if isinstance(value, str):
        return layers(value)
    if isinstance(value, Schedule):
        raise DreamError("an objective must name layers, not only a schedule")
    try:
        items = list(value)
    except TypeError:
        raise DreamError(f"cannot use {limits.shown(value)} as an objective: give layer names like 'block4_conv3'") \
            from None
    if not all(isinstance(v, str) for v in items):
        raise DreamError(f"cannot use {limits.shown(value)} as an objective: give layer names like 'block4_conv3'")
    return layers(*items)
