"""Morph the dream from conv_pw_3's fine textures to conv_pw_12's animal faces over a video."""
import dreamvideo as dv

clip = "samples/coffee_pan.mp4"
last = dv.media.count_frames(clip) - 1
morph = dv.layers("conv_pw_3_relu") * f"0:(1), {last}:(0)" + dv.layers("conv_pw_12_relu") * f"0:(0), {last}:(1)"
dv.render_video(clip, "layer_morph.mp4", objective=morph)
