"""Paint a video in the style of a picture, dreaming a little on top; the style fades in over 2 seconds."""
import dreamvideo as dv

objective = dv.style("samples/chelsea.png", weight="0:(0.2), 48:(1)") + 0.3 * dv.layers("block4_conv3")
dv.render_video("samples/coffee_pan.mp4", "style_video.mp4", objective=objective, steps=12, model="vgg16")
