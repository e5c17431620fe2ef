"""How many FLOPs a backbone's convolutions cost, for the benchmarks' GFLOP/s figures.

Convention: 2 x multiply-adds per output position of each convolution, with the output sizes Keras infers
for the input (so pooling, strides and padding are all accounted for); windows overlapping the zero
padding count in full. Layers other than convolutions (pooling, ReLU, the objective) are left out: they
are a rounding error next to the convolutions.
"""

from __future__ import annotations


def conv_flops(model, height: int, width: int) -> float:
    """Forward FLOPs of the convolutions of `model` (a FeatureModel) for one (height, width) image.

    Each convolution counts ``2 * kh * kw * (C_in / groups) * C_out`` per output position.
    """
    import keras

    convs = [layer for layer in model.keras_model.layers
             if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D))]
    if not convs:
        return 0.0
    probe = keras.Model(model.keras_model.inputs, [layer.output for layer in convs])
    specs = probe.compute_output_spec(keras.KerasTensor((1, int(height), int(width), 3)))
    if not isinstance(specs, (list, tuple)):
        specs = [specs]
    total = 0.0
    for layer, spec in zip(convs, specs):
        kh, kw, cin, cout = (int(d) for d in layer.kernel.shape)
        _, out_h, out_w, out_c = spec.shape
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            per_output = kh * kw  # one input channel per output channel (out_c = cin * multiplier)
        else:
            per_output = kh * kw * cin  # the kernel's input dimension is already C_in / groups
        total += 2.0 * per_output * out_c * out_h * out_w
    return total


def flops_per_pixel(model) -> float:
    """Forward convolution FLOPs per input pixel of `model`, counted on a 512 x 512 input (the default tile)."""
    return conv_flops(model, 512, 512) / (512.0 * 512.0)
