"""Morph the dream from block3_conv3's fine textures to block5_conv1's larger shapes over a video.

    python scripts/example_layer_morph.py [INPUT] [OUTPUT] [--tiny]
"""
import sys

import dreamvideo as dv
from dreamvideo.media import count_frames

args = [a for a in sys.argv[1:] if a != "--tiny"]
clip = args[0] if args else "samples/coffee_pan.mp4"
last = count_frames(clip) - 1
morph = (dv.layers("block3_conv3") * f"0:(1), {last}:(0)"
         + dv.layers("block5_conv1") * f"0:(0), {last}:(1)")
small = dict(max_side=64, steps=2, octaves=2, end="6f") if "--tiny" in sys.argv else {}
dv.render_video(clip, args[1] if len(args) > 1 else "layer_morph.mp4", layer=morph, restart=True, **small)
