"""Paint a video in the style of a picture, dreaming a little on top; the style fades in over 2 seconds.

    python scripts/example_style_video.py [INPUT] [STYLE] [OUTPUT] [--tiny]
"""
import sys

import dreamvideo as dv

args = [a for a in sys.argv[1:] if a != "--tiny"]
clip = args[0] if args else "samples/coffee_pan.mp4"
painting = args[1] if len(args) > 1 else "samples/chelsea.png"
objective = dv.style(painting, weight="0:(0.2), 48:(1)") + 0.3 * dv.layers("block4_conv3")
size = dict(max_side=64, steps=2, octaves=2, end="6f") if "--tiny" in sys.argv else dict(steps=12)
dv.render_video(clip, args[2] if len(args) > 2 else "style_video.mp4", layer=objective, restart=True, **size)
