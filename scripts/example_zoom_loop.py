"""A looping dream zoom into a still: the zoom speeds up and eases off, the camera turns a quarter turn."""
import dreamvideo as dv

frames = 120
dv.render_zoom("samples/coffee.png", "zoom_loop.gif", frames=frames, fps=24, max_side=384, steps=10,
               objective=dv.layers("conv_pw_11_relu", "conv_pw_7_relu:0.5"),
               zoom=f"cubic: 0:(1.01), {frames // 2}:(1.04), {frames - 1}:(1.01)",
               angle=lambda t: 90 / frames,  # degrees per frame: a quarter turn over the loop
               loop=True)
