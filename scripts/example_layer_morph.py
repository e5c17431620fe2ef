"""Morph the dream from block3_conv3's fine textures to block5_conv1's larger shapes over a video."""
import dreamvideo as dv

clip = "samples/coffee_pan.mp4"
last = dv.media.count_frames(clip) - 1
morph = dv.layers("block3_conv3") * f"0:(1), {last}:(0)" + dv.layers("block5_conv1") * f"0:(0), {last}:(1)"
dv.render_video(clip, "layer_morph.mp4", objective=morph)
