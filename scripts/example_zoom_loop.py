"""A looping dream zoom into a still: the zoom speeds up and eases off, the camera turns a quarter turn.

    python scripts/example_zoom_loop.py [IMAGE] [OUTPUT] [--tiny]
"""
import sys

import dreamvideo as dv

args = [a for a in sys.argv[1:] if a != "--tiny"]
frames = 12 if "--tiny" in sys.argv else 120
dv.render_zoom(
    args[0] if args else "samples/coffee.png", args[1] if len(args) > 1 else "zoom_loop.gif",
    frames=frames, fps=24, max_side=64 if "--tiny" in sys.argv else 384,
    steps=2 if "--tiny" in sys.argv else 10,
    layer=["block4_conv3", "block3_conv3:0.5"],
    zoom=f"cubic: 0:(1.01), {frames // 2}:(1.04), {frames - 1}:(1.01)",
    angle=lambda t: 90 / frames,   # degrees per frame: a quarter turn over the loop
    loop=True, restart=True,
)
