"""Hold a carried dream at the strength of its shot's first full dream (``--steady``).

A carried frame keeps ``blend`` times the previous dream and adds a few steps of its own, so the dream
settles where what decays each frame (the blend, the consistency weight, the re-anchoring) equals what the
steps add. That balance depends on the clip: measured over 400 frames at 128 px, the settled
strength ranged from 0.76x (test.webm, a static camera) to 2.0x (cityCC0.mpg, a moving one) that of each
frame dreamed on its own, so no single blend or step count fits every clip. A frame dreamed on its own, by
contrast, has nearly the same strength whatever it shows (13.6-15.1 grey levels on all six benchmark clips
at 256 px), which is what makes the shot's first full dream a fair reference for its later frames.

The hold is an integral controller on one number, the dream's *strength* (mean |dream - source| in grey
levels, weighted by the --mask strength when there is one). The shot's first frame is a full dream: its
strength is the reference. Each carried frame starts from ``source + gain * (carried start - source)``,
so only the dream's difference from the source is scaled, never the source; after the frame is dreamed
the gain moves by ``(reference / strength) ** amount``, within [1/4, 4]. A reference is kept per unit of
``steps * step_size`` at the frame, so a keyframed step size or step count still raises and lowers the
dream as the artist scheduled it.

The state (reference and gain) is two floats; :meth:`StrengthHold.snapshot` and :meth:`restore` let the
frame loop store it with each finished frame, so a resumed render continues exactly where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import DreamError

GAIN_LIMITS = (0.25, 4.0)
# Below this strength (grey levels) there is no dream to hold (a black mask, a blank frame): no update.
MIN_STRENGTH = 1e-3


def dream_strength(dream: np.ndarray, source: np.ndarray, weight: np.ndarray | None = None) -> float:
    """Mean |dream - source| in the images' units, averaged over channels; with ``weight`` ((H, W) in
    [0, 1], e.g. the --mask strength), the weighted mean over the pixels (0 where the weight is all 0).

    ``dream``, ``source``: (H, W, 3) arrays of the same shape and scale (uint8 or float 0-255)."""
    if dream.shape != source.shape:
        raise DreamError(f"dream is {dream.shape} but its source is {source.shape}")
    difference = np.abs(dream.astype(np.float32) - source.astype(np.float32)).mean(axis=2)
    if weight is None:
        return float(difference.mean())
    total = float(weight.sum())
    return float((difference * weight).sum() / total) if total > 0 else 0.0


@dataclass
class StrengthHold:
    """The state of ``--steady`` over one render; see the module's docstring.

    ``amount`` in [0, 1]: the share of the strength error corrected per frame (0: off).
    """

    amount: float
    reference: float | None = None  # strength per unit of steps * step size of the shot's first full dream
    gain: float = 1.0

    @property
    def active(self) -> bool:
        return self.amount > 0.0 and self.reference is not None

    def start_shot(self, dream, source, scale: float, weight=None) -> None:
        """After a full dream (first frame, scene cut): its strength is the shot's reference."""
        strength = dream_strength(dream, source, weight) / scale
        self.reference = strength if strength > MIN_STRENGTH else None
        self.gain = 1.0

    def apply(self, start: np.ndarray, source: np.ndarray) -> np.ndarray:
        """The carried start image with its difference from ``source`` scaled by the gain (float32)."""
        if not self.active or self.gain == 1.0:
            return start
        source = source.astype(np.float32)
        return source + np.float32(self.gain) * (start - source)

    def update(self, dream, source, scale: float, weight=None) -> None:
        """After a carried frame: move the gain toward the reference strength."""
        if not self.active:
            return
        strength = dream_strength(dream, source, weight) / scale
        if strength <= MIN_STRENGTH:
            return
        self.gain = float(np.clip(self.gain * (self.reference / strength) ** self.amount, *GAIN_LIMITS))

    def snapshot(self) -> dict:
        return {"reference": self.reference, "gain": self.gain}

    def restore(self, state: dict | None) -> None:
        """Continue from a stored snapshot; None (nothing stored) starts over at the next full dream."""
        state = state or {}
        self.reference, self.gain = state.get("reference"), float(state.get("gain", 1.0))
