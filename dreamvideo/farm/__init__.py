"""Render farm: segments of any job mapped onto Ray workers; the driver owns the output.

``plan`` cuts a render into segments, ``connect`` starts or joins Ray (``watchdog`` ends a local one with
its driver), ``worker`` is what a task runs,
``driver`` sends the tasks out and writes what comes back (see its docstring for how seams are made).
"""

from .connect import connected, import_ray
from .driver import render_on_ray
from .plan import Segment, auto_segment, dreamed_per_written, plan_segments

__all__ = ["Segment", "auto_segment", "connected", "dreamed_per_written", "import_ray", "plan_segments",
           "render_on_ray"]
