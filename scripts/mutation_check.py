"""Mutation check: break the program on purpose, one small change at a time, and see the tests notice.

    python scripts/mutation_check.py                 # every breakage (35 minutes on 2 busy cores)
    python scripts/mutation_check.py --list          # what would be broken, and which tests must notice
    python scripts/mutation_check.py --check         # only confirm every breakage still applies (no tests)
    python scripts/mutation_check.py NAME [NAME ...] # only these breakages

Each breakage names a file of the package, an exact piece of its text and what replaces it. The project
(package, tests, samples, scripts) is copied once to a temporary folder; for each breakage the file is
changed there, the tests relevant to it run with ``python -m pytest -x -q`` in a subprocess whose
PYTHONPATH is the copy, and the file is put back. A breakage is *caught* when those tests fail. If the
original text is not in the file exactly once, the script stops with an error before running anything:
a breakage that no longer applies must be rewritten, not silently skipped. The tests are first run on the
unbroken copy; if they fail there, nothing is measured.

Prints one line per breakage and the catch rate; the exit code is 0 only when every breakage is caught.
Kept out of CI: it runs the relevant tests once per breakage. Run it under ``nice -n 10`` on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("dreamvideo", "tests", "samples", "scripts", "setup.cfg", "pyproject.toml")
TIMEOUT = 900  # seconds for one breakage's tests


@dataclass(frozen=True)
class Breakage:
    name: str
    file: str  # relative to the project root
    original: str  # must occur exactly once in the file
    replacement: str
    tests: tuple[str, ...]  # pytest node ids (a test function covers all its parameters)
    why: str = ""


def b(name, file, original, replacement, *tests, why=""):
    return Breakage(name, file, original, replacement, tuple(tests), why)


# ---------------------------------------------------------------------------------------------------------
# The breakages. First those of issue 11 (tests that once passed with their bug in place), then one per
# behaviour the README promises or a flag offers.

BREAKAGES = [
    # -- the package's shape
    b("import-circle-put-back", "dreamvideo/render.py",
      "from .version import __version__\n", "from . import api  # noqa: F401\nfrom .version import __version__\n",
      "tests/test_imports.py::test_the_package_has_no_import_circles",
      why="render (below the façade) imports api, which imports render: a circle"),
    b("cli-flag-default-not-the-declarations", "dreamvideo/cli/flags.py",
      '                keywords["default"] = opt.default', '                keywords["default"] = None',
      "tests/test_cli.py::test_flag_defaults_are_the_declared_defaults"),
    b("unknown-option-accepted", "dreamvideo/declare.py",
      "    if names:\n        raise DreamError", "    if False:\n        raise DreamError",
      "tests/test_artist.py::test_unknown_keywords_are_refused_by_every_call"),
    b("objective-alias-dropped", "dreamvideo/declare.py",
      'ALIASES = {"objective": "layer"}', "ALIASES = {}",
      "tests/test_artist.py::test_the_design_notes_example_runs_with_objective"),
    # -- the embedded MobileNetV1 (rebuilt from the nudity package's frozen graph)
    b("mobilenet-relu-uncapped", "dreamvideo/models/mobilenet_v1.py",
      'keras.layers.ReLU(6.0, name=f"{name}_relu")', 'keras.layers.ReLU(None, name=f"{name}_relu")',
      "tests/test_mobilenet_v1.py::test_logits_match_the_frozen_graph",
      why="ReLU instead of the ReLU6 the network was trained with"),
    b("mobilenet-batch-norm-epsilon", "dreamvideo/models/mobilenet_v1.py",
      "BATCH_NORM_EPSILON = 0.001", "BATCH_NORM_EPSILON = 0.1",
      "tests/test_mobilenet_v1.py::test_logits_match_the_frozen_graph"),
    b("mobilenet-depthwise-valid-padding", "dreamvideo/models/mobilenet_v1.py",
      'DepthwiseConv2D(3, strides=stride, padding="same"', 'DepthwiseConv2D(3, strides=stride, padding="valid"',
      "tests/test_mobilenet_v1.py::test_outputs_come_in_the_order_asked_and_the_model_is_cut_at_the_deepest",
      why="Keras's VALID padding is not TensorFlow's SAME that the graph used"),
    b("mobilenet-logits-off-by-one", "dreamvideo/models/mobilenet_v1.py",
      ".reshape(len(images), CLASSES)[:, 1:]", ".reshape(len(images), CLASSES)[:, :-1]",
      "tests/test_mobilenet_v1.py::test_it_classifies_the_sample_photos",
      why="logit 0 is background: ImageNet class k is logit k + 1"),
    b("mobilenet-auto-bfloat16", "dreamvideo/models/registry.py",
      "            auto_bfloat16=False,", "            auto_bfloat16=True,",
      "tests/test_mobilenet_v1.py::test_the_registry_makes_it_the_offline_default_in_float32"),
    b("style-alone-keeps-the-default-model", "dreamvideo/options.py",
      "        return STYLE_MODEL\n", "        return DEFAULT_MODEL\n",
      "tests/test_mobilenet_v1.py::test_a_style_that_leads_alone_is_painted_with_vgg16_unless_a_model_is_named"),
    # -- the kernel's one-tile step (no tile loops for an image that fits in one tile)
    b("one-tile-step-for-every-size", "dreamvideo/kernel.py",
      "tiled=len(tile_grid(size[0], size[1], self.tile_size)) > 1)", "tiled=False)",
      "tests/test_kernel.py::test_a_dream_larger_than_a_tile_is_computed_tile_by_tile",
      why="images larger than --tile-size dreamed whole: memory no longer bounded by the tile"),
    # -- old render files (they name vgg16 and record the old defaults) render again as they did
    b("vgg16-auto-precision-float32", "dreamvideo/models/registry.py",
      "    auto_bfloat16: bool = True\n", "    auto_bfloat16: bool = False\n",
      "tests/test_old_render_files.py::test_old_still_render_file_names_vgg16_and_renders_again_identically",
      why="a recorded precision 'auto' with vgg16 no longer means bfloat16 where the CPU has it: other pixels"),
    b("render-file-model-not-read", "dreamvideo/renderfile.py",
      "        if key not in known:\n            raise DreamError(f\"{path}: unknown key",
      "        if key == \"model\":\n            continue\n        if key not in known:\n"
      "            raise DreamError(f\"{path}: unknown key",
      "tests/test_old_render_files.py::test_old_video_render_file_renders_its_frames_again_identically",
      why="an old render file would be dreamed with today's default model"),
    # -- issue 11: tests that passed with their bug
    b("bf16-forced-to-float32", "dreamvideo/models/__init__.py",
      "        with dtype_policy(policy):", '        with dtype_policy("float32"):',
      "tests/test_kernel.py::test_bfloat16_gradient_matches_float32_on_embedded_model",
      why="--precision bfloat16 silently computes in float32"),
    b("auto-precision-ignores-the-cpu", "dreamvideo/runtime.py",
      '        return "mixed_bfloat16" if cpu_has_bf16() else "float32"', '        return "float32"',
      "tests/test_runtime.py::test_precision_choice"),
    b("cpuinfo-amx-not-read", "dreamvideo/runtime.py",
      '{"avx512_bf16", "amx_bf16"} & set(value.split())', '{"avx512_bf16"} & set(value.split())',
      "tests/test_runtime.py::test_bf16_is_read_from_the_cpuinfo_flags"),
    b("video-carried-share-doubled", "dreamvideo/options.py",
      "VIDEO_CARRIED_SHARE = 0.1\n", "VIDEO_CARRIED_SHARE = 0.2\n",
      "tests/test_video.py::test_carried_frames_use_fewer_steps_and_a_scene_cut_starts_afresh"),
    b("audio-not-cut-at-start", "dreamvideo/video.py",
      "                               self.start / float(self.fps), self.video_opts)",
      "                               0.0, self.video_opts)",
      "tests/test_video.py::test_start_cuts_the_audio_too"),
    b("zoom-border-constant", "dreamvideo/motion.py",
      "                         borderMode=BORDER)\n    if interpolation in",
      "                         borderMode=cv2.BORDER_CONSTANT)\n    if interpolation in",
      "tests/test_zoom.py::test_no_constant_border_after_rotating_and_zooming_out"),
    b("loop-cross-fade-removed", "dreamvideo/zoom.py",
      "            tail_weight = 1.0 - index / fade", "            tail_weight = 0.0",
      "tests/test_zoom.py::test_loop_cross_fade_weights_fall_linearly_from_the_tail_to_the_head",
      "tests/test_zoom.py::test_loop_joins_the_last_frame_to_the_first_smoothly"),
    b("colour-reference-retaken-every-frame", "dreamvideo/zoom.py",
      "        if reference.stats is None:\n            reference.take(result)",
      "        if zoom_opts.colour_reference is None:\n            reference.take(result)",
      "tests/test_zoom.py::test_colour_match_holds_the_lightness_of_the_first_frame"),
    b("mask-of-zero-strength", "dreamvideo/masks.py",
      "    return np.clip(gray, 0.0, 1.0)", "    return np.zeros_like(gray)",
      "tests/test_artist.py::test_mask_video_with_the_same_frame_count_works"),
    b("mask-video-one-frame-ahead", "dreamvideo/masks.py",
      "        while self._position <= index:", "        while self._position <= index + 1:",
      "tests/test_artist.py::test_mask_video_with_the_same_frame_count_works"),

    # -- zoom flags
    b("zoom-translate-y-ignored", "dreamvideo/zoom.py",
      "translate=(shift_x(index), shift_y(index))", "translate=(shift_x(index), 0.0)",
      "tests/test_zoom.py::test_translate_y_keyframes_move_the_picture_down_by_the_scheduled_pixels"),
    b("zoom-centre-ignored", "dreamvideo/zoom.py",
      "(centre_x(index), centre_y(index))", "(0.5, 0.5)",
      "tests/test_zoom.py::test_zoom_about_a_corner_given_by_center_x_and_center_y"),
    b("zoom-centre-x-and-y-swapped", "dreamvideo/zoom.py",
      "(centre_x(index), centre_y(index))", "(centre_y(index), centre_x(index))",
      "tests/test_zoom.py::test_zoom_about_a_corner_given_by_center_x_and_center_y"),
    b("zoom-interpolation-ignored", "dreamvideo/zoom.py",
      "interpolation=zoom_opts.interpolation)", 'interpolation="lanczos")',
      "tests/test_zoom.py::test_interpolation_is_the_one_the_warp_uses"),
    b("zoom-loop-fade-ignored", "dreamvideo/options.py",
      "fade = self.loop_fade if self.loop_fade is not None else", "fade = None or",
      "tests/test_zoom.py::test_overlap_renders_that_many_frames_past_the_end"),
    b("zoom-carried-share-1", "dreamvideo/options.py",
      "ZOOM_CARRIED_SHARE = 0.3\n", "ZOOM_CARRIED_SHARE = 1.0\n",
      "tests/test_zoom.py::test_carried_steps_of_a_zoom"),
    b("zoom-quality-ignored", "dreamvideo/zoom.py",
      "fps=parse_fps(self.zoom_opts.fps), quality=self.zoom_opts.quality,",
      "fps=parse_fps(self.zoom_opts.fps), quality=18,",
      "tests/test_zoom.py::test_quality_reaches_the_mp4_encoder"),
    b("zoom-loop-ignored", "dreamvideo/options.py",
      "        if not self.loop:\n            return 0\n", "        if True:\n            return 0\n",
      "tests/test_zoom.py::test_overlap_renders_that_many_frames_past_the_end",
      "tests/test_zoom.py::test_loop_joins_the_last_frame_to_the_first_smoothly"),
    b("zoom-colour-match-strength-ignored", "dreamvideo/zoom.py",
      "        strength = colour_strength(index)\n", "        strength = 1.0\n",
      "tests/test_zoom.py::test_colour_match_holds_the_lightness_of_the_first_frame"),
    b("zoom-chroma-not-matched", "dreamvideo/colour.py",
      "    gain = 1.0 + strength * (float(np.clip(chroma / own, 0.5, 2.0)) - 1.0)", "    gain = 1.0",
      "tests/test_colour.py::test_match_chroma_reaches_the_target_chroma_and_keeps_lightness"),

    # -- video flags
    b("video-flow-hard-coded", "dreamvideo/video.py",
      "    return decide(previous, frame, carry_opts.flow, carry_opts.flow_preset)",
      '    return decide(previous, frame, "dis", "medium")',
      "tests/test_video.py::test_flow_and_flow_preset_change_the_carried_frames"),
    b("dis-preset-ignored", "dreamvideo/motion.py",
      "    return cv2.DISOpticalFlow_create(DIS_PRESETS[preset])",
      '    return cv2.DISOpticalFlow_create(DIS_PRESETS["medium"])',
      "tests/test_video.py::test_flow_and_flow_preset_change_the_carried_frames"),
    b("video-quality-ignored", "dreamvideo/video.py",
      "quality=output_opts.quality, codec=output_opts.codec)", "quality=18, codec=output_opts.codec)",
      "tests/test_video.py::test_quality_reaches_the_encoder"),
    b("mask-ignores-start", "dreamvideo/masks.py",
      "media.read_frames(path, start_frame=start_frame, fps=fps)", "media.read_frames(path, start_frame=0, fps=fps)",
      "tests/test_artist.py::test_mask_video_with_start_begins_at_the_same_frame"),
    b("blend-0-still-carries", "dreamvideo/video.py",
      "        if previous_dream is None or amount == 0.0:", "        if previous_dream is None:",
      "tests/test_video.py::test_blend_0_dreams_each_frame_alone"),
    b("scene-cut-not-detected", "dreamvideo/video.py",
      "        if cut:\n", "        if False:\n",
      "tests/test_video.py::test_carried_frames_use_fewer_steps_and_a_scene_cut_starts_afresh"),
    b("repeated-pictures-dreamed-again", "dreamvideo/video.py",
      "        if np.array_equal(frame, previous_source):\n            # A repeated picture",
      "        if False:\n            # A repeated picture",
      "tests/test_video.py::test_repeated_source_pictures_repeat_the_dream_without_dreaming"),
    b("start-frame-off-by-one", "dreamvideo/video.py",
      "            frame = int(text[:-1])\n", "            frame = int(text[:-1]) + 1\n",
      "tests/test_video.py::test_start_and_end_select_frames"),
    b("fps-flag-ignored", "dreamvideo/video.py",
      "    fps = parse_fps(video_opts.fps) or info.fps", "    fps = info.fps",
      "tests/test_video.py::test_fps_resamples_to_an_exact_rate"),
    b("fractional-rate-rounded", "dreamvideo/video.py",
      "        return open_video_sink(self.output, self.fps, self.input if",
      "        return open_video_sink(self.output, round(self.fps), self.input if",
      "tests/test_video.py::test_mp4_keeps_frame_count_exact_rate_and_audio_with_the_embedded_model"),
    b("audio-not-copied", "dreamvideo/video.py",
      "self.fps, self.input if self.has_audio else None,", "self.fps, None,",
      "tests/test_video.py::test_mp4_keeps_frame_count_exact_rate_and_audio_with_the_embedded_model"),
    b("consistency-check-trusts-everything", "dreamvideo/motion.py",
      "    unreliable = sum_x * sum_x + sum_y * sum_y > 0.01 * (outgoing_sq + returning_sq) + 0.5",
      "    unreliable = sum_x * sum_x + sum_y * sum_y > 1e30",
      "tests/test_motion.py::test_consistency_weight_of_exact_flows_marks_exactly_the_uncovered_strip",
      "tests/test_motion.py::test_consistency_weight_is_zero_where_background_is_uncovered"),
    b("blend-ignores-the-carried-dream", "dreamvideo/motion.py",
      "    return frame32 + factor * (carried.astype(np.float32) - frame32)", "    return frame32",
      "tests/test_motion.py::test_blend_known_values_and_edge_cases"),

    # -- preview
    b("preview-third-of-10", "dreamvideo/options.py",
      '    steps = options.get("steps", DreamOptions.steps)', '    steps = options.get("steps", 10)',
      "tests/test_artist.py::test_preview_takes_a_third_of_the_steps_at_most_3_octaves_and_256_px",
      "tests/test_artist.py::test_api_preview_without_steps_dreams_a_third_of_the_default_steps",
      why="the bug issue 11 fixed"),
    b("preview-octaves-not-capped", "dreamvideo/options.py",
      '    out["octaves"] = min(3, int(round(as_schedule(octaves, name="octaves")(0))))',
      '    out["octaves"] = int(round(as_schedule(octaves, name="octaves")(0)))',
      "tests/test_artist.py::test_preview_takes_a_third_of_the_steps_at_most_3_octaves_and_256_px",
      "tests/test_artist.py::test_video_preview_renders_the_first_5_seconds_with_a_third_of_the_steps"),
    b("preview-whole-video", "dreamvideo/options.py",
      '        out["end"] = f"{PREVIEW_SECONDS}s"', "        pass",
      "tests/test_artist.py::test_video_preview_renders_the_first_5_seconds_with_a_third_of_the_steps"),
    b("preview-full-size", "dreamvideo/options.py",
      '    out["max_side"] = min(options.get("max_side") or PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE)',
      '    out["max_side"] = options.get("max_side")',
      "tests/test_artist.py::test_still_preview_is_at_most_256_px_and_named_preview"),

    # -- dream options through the CLI
    b("tile-size-ignored", "dreamvideo/dreaming.py",
      "Dreamer(feature_model, options.objective, options.tile_size, media.read_image)",
      "Dreamer(feature_model, options.objective, 512, media.read_image)",
      "tests/test_cli.py::test_tile_size_splits_the_picture_only_when_it_is_smaller"),
    b("style-layer-ignored", "dreamvideo/options.py",
      '("style", opts.style, opts.style_weight, opts.style_layer)', '("style", opts.style, opts.style_weight, None)',
      "tests/test_cli.py::test_guide_and_style_weights_and_style_layers_change_the_result"),
    b("guide-and-style-weights-ignored", "dreamvideo/options.py",
      "        term = getattr(objectives, kind)(image, layer_names, weight)",
      "        term = getattr(objectives, kind)(image, layer_names, 1.0)",
      "tests/test_cli.py::test_guide_and_style_weights_and_style_layers_change_the_result"),
    b("tv-smooths-the-wrong-way", "dreamvideo/options.py",
      "        objective = objective - objectives.tv(opts.tv)", "        objective = objective + objectives.tv(opts.tv)",
      "tests/test_cli.py::test_tv_makes_the_dream_smoother"),
    b("seed-ignored", "dreamvideo/kernel.py",
      "        rng = rng if rng is not None else np.random.default_rng(seed)",
      "        rng = rng if rng is not None else np.random.default_rng()",
      "tests/test_kernel.py::test_seed_makes_runs_reproducible"),
    b("mask-strength-not-applied", "dreamvideo/kernel.py",
      "update = step_size * strength * shape_gradient(", "update = step_size * shape_gradient(",
      "tests/test_kernel.py::test_strength_zero_leaves_pixels_untouched",
      "tests/test_artist.py::test_black_half_of_a_still_mask_is_left_untouched"),
    b("octaves-largest-first", "dreamvideo/kernel.py",
      "    for k in range(octaves - 1, -1, -1):", "    for k in range(octaves):",
      "tests/test_kernel.py::test_octave_sizes_smallest_first_and_clamped"),
    b("max-side-ignored", "dreamvideo/media/images.py",
      "    if (width, height) == (image.shape[1], image.shape[0]):\n        return image",
      "    if True:\n        return image",
      "tests/test_cli.py::test_same_seed_gives_byte_identical_png_with_the_embedded_model"),

    # -- schedules
    b("keyframes-not-interpolated", "dreamvideo/schedules.py",
      "            return y0 + (y1 - y0) * u\n", "            return y0\n",
      "tests/test_schedules.py::test_linear_midpoint_and_quarter_point"),
    b("cubic-is-linear", "dreamvideo/schedules.py",
      '        if self.interpolation == "linear":\n            return y0',
      '        if self.interpolation in ("linear", "cubic"):\n            return y0',
      "tests/test_schedules.py::test_cubic_with_two_keyframes_is_smoothstep"),
    b("expression-variables-all-t", "dreamvideo/expressions.py",
      "                return lambda v: v[name]", '                return lambda v: v["t"]',
      "tests/test_expressions.py::test_the_variables_offered_are_the_ones_an_expression_may_use"),

    # -- music: features of a sound track in schedules
    b("music-frame-clock-drifts", "dreamvideo/music.py",
      "    return numerator // (2 * fps.numerator)", "    return i * (int(rate) * int(1000 / fps) // 1000)",
      "tests/test_music.py::test_frame_starts_are_exact_rational_times"),
    b("music-beat-a-frame-late", "dreamvideo/music.py",
      "    beat_frames = np.unique(beat_blocks // per_frame)", "    beat_frames = np.unique(beat_blocks // per_frame + 1)",
      "tests/test_music.py::test_click_track_beats_every_12th_frame_at_24_fps_over_three_minutes"),
    b("music-band-leakage-kept", "dreamvideo/music.py",
      "        out[name][out[name] < BAND_FLOOR * loudest] = 0.0", "        pass",
      "tests/test_music.py::test_a_60_hz_sine_is_bass_and_a_6_khz_sine_treble_frame_by_frame"),
    b("music-silence-divided-by-zero", "dreamvideo/music.py",
      "        track = track / peak if peak > 0 else np.zeros_like(track)", "        track = track / peak",
      "tests/test_music.py::test_silence_gives_zeros_not_nan"),
    b("music-schedule-reads-frame-0", "dreamvideo/schedules.py",
      "            values[feature] = float(track[index]) if 0 <= index < len(track) else 0.0",
      "            values[feature] = float(track[0])",
      "tests/test_music.py::test_schedules_read_the_sound_s_features_frame_by_frame"),
    b("music-zoom-without-its-sound", "dreamvideo/zoom.py",
      "loop=True, audio_from=self.zoom_opts.audio)", "loop=True)",
      "tests/test_music_render.py::test_zoom_with_audio_has_the_music_and_its_length_and_renders_again_the_same"),
    b("music-video-keeps-its-own-track", "dreamvideo/video.py",
      '    audio_from = getattr(output_opts, "audio", None) or audio_from', "",
      "tests/test_music_render.py::test_a_video_s_output_carries_the_audio_given"),
    b("music-changed-sound-accepted", "dreamvideo/music.py",
      "        if sound_opts.audio_sha256 not in (None, actual):", "        if False:",
      "tests/test_music_render.py::test_zoom_with_audio_has_the_music_and_its_length_and_renders_again_the_same"),

    # -- render files, resume, CLI
    b("colour-reference-not-a-path", "dreamvideo/renderfile.py",
      'PATH_OPTIONS = ("guide", "style", "mask", "colour_reference", "audio", "dust_mask")',
      'PATH_OPTIONS = ("guide", "style", "mask", "audio", "dust_mask")',
      "tests/test_artist.py::test_zoom_with_a_colour_reference_renders_again_after_the_project_moved"),
    b("render-file-absolute-paths", "dreamvideo/renderfile.py",
      "        return None if path is None else os.path.relpath(Path(path).resolve(), folder)",
      "        return None if path is None else str(Path(path).resolve())",
      "tests/test_artist.py::test_still_render_file_reproduces_the_png_and_survives_a_move"),
    b("render-restart-dropped", "dreamvideo/api.py",
      '        options["restart"] = restart', '        options["restart"] = False',
      "tests/test_render.py::test_render_restart_discards_the_frames_of_an_interrupted_render"),
    b("resume-finds-no-frames", "dreamvideo/render.py",
      "        while self.path(count).exists():", "        while False:",
      "tests/test_render.py::test_interrupted_video_resumes_without_redreaming_and_matches_an_unbroken_render"),
    b("resume-forgets-carried-state", "dreamvideo/render.py",
      "                    state.restore(store.load_state(index))", "                    pass",
      "tests/test_render.py::test_interrupted_video_resumes_without_redreaming_and_matches_an_unbroken_render"),
    b("steady-gain-not-applied", "dreamvideo/video.py",
      "start_image = hold.apply(motion.reanchor(start_image, frame, carry_opts.anchor), frame)",
      "start_image = motion.reanchor(start_image, frame, carry_opts.anchor)",
      "tests/test_video.py::test_steady_holds_a_dream_that_would_build_up_at_its_first_strength"),
    b("steady-ignores-scheduled-step-size", "dreamvideo/steady.py",
      "        strength = dream_strength(dream, source, weight) / scale\n        if strength <= MIN_STRENGTH:",
      "        strength = dream_strength(dream, source, weight)\n        if strength <= MIN_STRENGTH:",
      "tests/test_video.py::test_steady_follows_a_keyframed_step_size"),
    b("carry-judges-raw-flows", "dreamvideo/cuts.py",
      "    smooth = [cv2.GaussianBlur(flow, (0, 0), CONSISTENCY_FLOW_SIGMA) for flow in (forward, backward)]",
      "    smooth = [forward, backward]",
      "tests/test_video.py::test_the_carry_trusts_flat_static_regions_more_than_the_raw_check_and_still_finds_disocclusions"),
    b("other-settings-resumed", "dreamvideo/render.py",
      "            if stored != self.settings:", "            if False:",
      "tests/test_render.py::test_other_settings_on_rerun_are_refused_until_restart"),
    b("files-named-like-commands-win", "dreamvideo/cli/__init__.py",
      "    command = argv[0] if argv and argv[0] in COMMANDS else None",
      "    command = argv[0] if argv and argv[0] in COMMANDS and not os.path.exists(argv[0]) else None",
      "tests/test_cli.py::test_command_names_win_over_files_and_folders_of_the_same_name"),
    b("no-wrote-line", "dreamvideo/cli/flags.py",
      '    if not quiet:\n        print(f"wrote {path}", file=sys.stderr)',
      '    if False:\n        print(f"wrote {path}", file=sys.stderr)',
      "tests/test_cli.py::test_wrote_line_names_the_output_unless_quiet"),
    b("default-output-not-stem-dream", "dreamvideo/options.py",
      'return str(path.with_name(f"{path.stem}_dream{suffix}"))', 'return str(path.with_name(f"{path.stem}_out{suffix}"))',
      "tests/test_video.py::test_default_output_is_stem_dream_mp4_beside_the_input",
      "tests/test_cli.py::test_default_output_is_stem_dream_png_beside_the_input"),

    # -- media promises
    b("input-overwritten", "dreamvideo/media/outputs.py",
      "        if same:\n", "        if False:\n",
      "tests/test_video.py::test_output_equal_to_input_is_refused",
      "tests/test_cli.py::test_output_equal_to_input_is_refused"),
    b("gif-plays-once", "dreamvideo/media/encoders.py",
      '        self.muxer_options = {"loop": "0" if self.loop else "-1"}', '        self.muxer_options = {"loop": "-1"}',
      "tests/test_video.py::test_gif_output"),
    b("odd-size-padded-black", "dreamvideo/media/encoders.py",
      '(0, frame.shape[1] % 2), (0, 0)), mode="edge")', '(0, frame.shape[1] % 2), (0, 0)), mode="constant")',
      "tests/test_media.py::test_mp4_odd_size_is_padded_by_repeating_the_edge"),
    b("alpha-over-black", "dreamvideo/media/images.py",
      "    out = rgb.astype(np.float32) * a + 255.0 * (1.0 - a)", "    out = rgb.astype(np.float32) * a",
      "tests/test_media.py::test_read_image_grayscale_alpha_and_16_bit"),
    # -- the studio
    b("studio-upload-name-kept", "dreamvideo/studio/files.py",
      'stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "upload"', 'stem = stem or "upload"',
      "tests/test_studio.py::test_uploads_are_sanitised_checked_and_limited",
      why="an upload keeps the name the browser sent (spaces, leading dots)"),
    b("studio-upload-unlimited", "dreamvideo/studio/files.py",
      "        if size > self.max_upload_bytes:", "        if False:",
      "tests/test_studio.py::test_uploads_are_sanitised_checked_and_limited",
      why="--max-upload is ignored when an upload is stored"),
    b("studio-upload-path-walks-out", "dreamvideo/studio/files.py",
      'if where == "uploads" and file_name == sanitise(file_name) and', 'if where == "uploads" and',
      "tests/test_studio.py::test_no_path_but_the_studio_lists_is_accepted",
      why="uploads/../x names a file outside the uploads"),
    b("studio-serves-its-whole-folder", "dreamvideo/studio/server.py",
      'allowed = [str(folder_path / "renders"), str(folder_path / "presets")]', "allowed = [str(folder_path)]",
      "tests/test_studio.py::test_the_server_serves_nothing_outside_its_folder_and_samples",
      why="the page serves every file of the studio's folder, not only the renders"),
    b("studio-keyframes-unchecked", "dreamvideo/studio/service.py",
      "        for cls, keywords in zip(wanted, parts):\n            cls(**keywords)\n",
      "        pass\n",
      "tests/test_studio.py::test_keyframes_go_through_the_cli_sandbox",
      why="a job is queued with settings the API refuses"),
    b("studio-cancel-leaves-the-worker", "dreamvideo/studio/worker.py",
      "            self.cancelling.add(job_id)\n        _terminate(process)\n",
      "            self.cancelling.add(job_id)\n",
      "tests/test_studio.py::test_render_cancel_resume_and_restart",
      why="cancel waits for the render instead of stopping its worker"),
    b("studio-running-jobs-stay-running", "dreamvideo/studio/worker.py",
      "        self.queue.mark_interrupted()\n", "",
      "tests/test_studio.py::test_a_running_job_of_a_stopped_studio_is_interrupted_and_resumable",
      why="a job left running by a stopped studio can never be resumed"),
    b("studio-done-counts-the-work-folder", "dreamvideo/studio/service.py",
      "        done = total if total and output.exists() else frames_done(output)",
      "        done = frames_done(output)",
      "tests/test_studio.py::test_render_cancel_resume_and_restart",
      why="a finished render shows 0 frames done (its work folder is gone)"),
    b("studio-listens-everywhere", "dreamvideo/studio/server.py",
      'parser.add_argument("--host", default=LOOPBACK,', 'parser.add_argument("--host", default="0.0.0.0",',
      "tests/test_studio.py::test_the_studio_listens_on_loopback_unless_told_and_then_warns",
      why="the studio listens on every address by default"),
    b("studio-analytics-on", "dreamvideo/studio/app.py",
      'os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"', 'os.environ["GRADIO_ANALYTICS_ENABLED"] = "True"',
      "tests/test_studio_browser.py::test_upload_preview_render_and_download",
      why="Gradio's analytics and version check reach outside the machine"),
    # -- restoration
    b("fill-takes-damaged-sources", "dreamvideo/fill.py",
      "        yield values, reliable & ~damaged, reliable.copy()", "        yield values, reliable, reliable.copy()",
      "tests/test_fill.py::test_moving_hole_is_filled_from_the_frames_that_show_it"),
    b("fill-flow-not-completed", "dreamvideo/holes.py",
      "    out = filled[..., :2]", "    out = flow.copy()",
      "tests/test_fill.py::test_fixed_mask_on_a_pan_is_filled_and_what_no_frame_shows_is_inpainted",
      why="a fixed logo pins the flow inside it to zero, and nothing behind it is ever found"),
    b("fill-crosses-cuts", "dreamvideo/fill.py",
      "        if pair.cut:\n            return", "        if False:\n            return",
      "tests/test_fill.py::test_a_scene_cut_ends_the_search",
      why="a chain crosses a scene cut and fills a hole with the other shot"),
    b("fill-trusts-doubtful-flow", "dreamvideo/fill.py",
      "        reliable &= doubt <= DOUBT", "        pass",
      "tests/test_fill.py::test_a_chain_through_doubtful_flow_is_not_trusted",
      why="a chain along flow guessed across a motion boundary fetches what was never behind the hole"),
    b("fill-guess-not-blurred", "dreamvideo/fill.py",
      "        restored = _blurred_guess(restored, rest)", "        restored = inpaint(restored, rest)",
      "tests/test_fill.py::test_what_no_frame_shows_is_a_smooth_guess_that_moves_less_with_its_hole_than_telea",
      why="the grain cv2.inpaint draws into a guess jumps about as its hole moves"),
    b("fill-guess-forgets-the-one-before", "dreamvideo/fill.py",
      "GUESS_MEMORY = 0.5", "GUESS_MEMORY = 0.0",
      "tests/test_fill.py::test_a_guess_the_flow_cannot_carry_keeps_half_of_the_one_before",
      why="where the flow cannot carry a guess, each frame guesses anew and the guess flickers"),
    b("fill-reveal-pops-in", "dreamvideo/fill.py",
      "        revealed = was_guessed & ~unknown", "        revealed = np.zeros_like(unknown)",
      "tests/test_fill.py::test_what_a_frame_shows_where_the_frame_before_guessed_fades_in",
      why="what a frame shows for the first time replaces the guess at once, a jump in time"),
    b("fill-forgets-the-frames-sightings-ask", "dreamvideo/fill.py",
      "        keep = max(self.radius, SIGHTING_FRAMES)", "        keep = self.radius",
      "tests/test_fill.py::test_a_moving_hole_is_filled_with_a_radius_under_the_frames_asked_how_they_move",
      why="a moving mask with --radius under 8 asks forgotten frames how they move: KeyError"),
    b("flow-doubt-zero", "dreamvideo/holes.py",
      "    doubt[known] = 0.0", "    doubt[:] = 0.0",
      "tests/test_fill.py::test_the_flow_filled_into_a_hole_is_doubted_where_its_surroundings_disagree"),
    b("flow-layers-blended", "dreamvideo/holes.py",
      "LAYER_SPLIT = 1.0", "LAYER_SPLIT = 1e9",
      "tests/test_fill.py::test_a_hole_at_a_motion_boundary_gets_one_motion_or_the_other_and_the_frames_around_say_which",
      "tests/test_fill.py::test_a_blob_over_a_panned_texture_and_a_moving_square_gets_each_its_own_motion",
      why="a hole at a motion boundary is filled with a blend of both motions, which fits neither"),
    b("flow-layer-votes-ignored", "dreamvideo/holes.py",
      "    decided = votes[:, 0] != votes[:, 1]", "    decided = np.zeros(len(votes), bool)",
      "tests/test_fill.py::test_a_hole_at_a_motion_boundary_gets_one_motion_or_the_other_and_the_frames_around_say_which",
      why="which layer a hidden pixel belongs to is never asked of the frames around"),
    b("fill-smooth-empty-cells-zero", "dreamvideo/holes.py",
      "            if empty.any() and total_weight > 0:", "            if False:",
      "tests/test_fill.py::test_a_hole_at_a_motion_boundary_gets_one_motion_or_the_other_and_the_frames_around_say_which",
      why="a layer known only along one side of a hole is filled towards 0 px of motion"),
    b("mask-scaled-to-nothing", "dreamvideo/holes.py",
      "        return level >= 0.25", "        return level >= 1.01",
      "tests/test_fill.py::test_mask_of_another_size_with_the_frames_aspect_is_scaled"),
    b("dust-any-shape", "dreamvideo/dust.py",
      "    keep = is_speck | is_scratch", "    keep = np.ones_like(is_speck)",
      "tests/test_fill.py::test_a_moving_object_is_not_dust"),
    b("dust-no-outliers", "dreamvideo/dust.py",
      "    return np.maximum(np.maximum(now - high, low - now), 0.0).max(axis=2)",
      "    return np.zeros(now.shape[:2], np.float32)",
      "tests/test_fill.py::test_a_speck_on_one_frame_is_found_and_a_static_edge_is_not"),
    b("restore-forgets-the-guesses", "dreamvideo/restoration.py",
      "        self.mask = None\n        if state and", "        return\n        if state and",
      "tests/test_restore.py::test_an_interrupted_restoration_resumes_and_matches_an_unbroken_one",
      why="a resumed restoration treats the guesses of the frame before as real pixels"),
    b("deflicker-crosses-cuts", "dreamvideo/deflicker.py",
      "            if cut:\n                shot += 1", "            if False:\n                shot += 1",
      "tests/test_fill.py::test_deflicker_keeps_a_fade_that_starts_at_a_cut",
      why="the average of a frame's levels reaches into the other shot"),
    b("deflicker-does-nothing", "dreamvideo/deflicker.py",
      "    gain = target_gain / np.exp(log_gain)", "    gain = np.exp(log_gain) / np.exp(log_gain)",
      "tests/test_fill.py::test_a_gain_flicker_is_removed"),
    b("fill-writes-nan", "dreamvideo/fill.py",
      "    restored[rows, columns] = float255_to_uint8(out)",
      "    restored[rows, columns] = np.clip(out + 0.5, 0, 255).astype(np.uint8)",
      "tests/test_fill.py::test_a_fill_that_comes_out_nan_is_an_error_not_grey_levels",
      why="NaN filled pixels become arbitrary grey levels, exit 0"),
    b("prior-writes-nan", "dreamvideo/restore_still.py",
      "    return float255_to_uint8(output * 255.0)",
      "    return np.clip(output * 255.0 + 0.5, 0, 255).astype(np.uint8)",
      "tests/test_fill.py::test_a_deep_image_prior_that_comes_out_nan_is_an_error"),
    b("prior-pastes-the-whole-box", "dreamvideo/restore_still.py",
      "    out[y0:y1, x0:x1][crop_hole] = filled[crop_hole]", "    out[y0:y1, x0:x1] = filled",
      "tests/test_fill.py::test_deep_image_prior_fills_only_the_mask"),
    b("prior-leaky-relu-fused", "dreamvideo/restore_still.py",
      "        return layers.Maximum()([x, layers.Rescaling(0.2)(x)])", "        return layers.LeakyReLU(0.2)(x)",
      "tests/test_restore.py::test_the_prior_from_the_command_line_shows_progress_and_no_tensorflow_errors",
      why="TensorFlow prints 'remapper failed' on every fit"),
    b("decode-fast-yuv-path", "dreamvideo/media/decode.py",
      "_SCALE_FLAGS = (av.video.reformatter.Interpolation.AREA | ",
      "_SCALE_FLAGS = (av.video.reformatter.Interpolation.AREA or ",
      "tests/test_media.py::test_a_written_clip_reads_back_without_a_brightness_bias",
      "tests/test_restore.py::test_deflicker_leaves_a_steady_clip_at_its_level",
      why="every decoded frame of an H.264 clip a grey level too dark"),
    b("dust-shapes-ignore-chroma-spread", "dreamvideo/dust.py", "CHROMA_SPREAD = 2", "CHROMA_SPREAD = 0",
      "tests/test_restore.py::test_dust_mask_shows_the_speck",
      why="a speck in an H.264 clip, widened by its colour, is no longer a speck"),
    b("x264-avx512", "dreamvideo/media/encoders.py", '        elif "avx512f" in cpu_flags():', "        elif False:",
      "tests/test_media.py::test_the_same_frames_encode_to_the_same_mp4",
      why="the same frames encode to different MP4s on an AVX-512 CPU"),
    # -- hostile render files and careless commands
    b("output-lock-shared", "dreamvideo/writeguard.py",
      "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)", "fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)",
      "tests/test_limits.py::test_a_second_lock_on_one_output_names_the_first",
      why="two renders of one output both get the lock"),
    b("json-depth-unchecked", "dreamvideo/safejson.py", "    if depth > max_depth:", "    if False:",
      "tests/test_limits.py::test_deep_nesting_is_refused_before_parsing"),
    b("outputs-compared-by-path-only", "dreamvideo/writeguard.py",
      "same = real == in_real or (identity is not None and identity == in_identity)", "same = real == in_real",
      "tests/test_limits.py::test_outputs_apart_from_inputs_by_path_link_and_folder",
      why="a hard link to an input is written over"),
    b("channel-range-unbounded", "dreamvideo/limits.py", "    if channel > MAX_CHANNEL:", "    if False:",
      "tests/test_limits.py::test_channel_range_is_checked_before_it_is_expanded"),
    b("gan-metadata-plain-json", "dreamvideo/gan/checkpoint.py",
      'meta = safejson.loads(str(stored["meta"]), f"{path} (its metadata)")', 'meta = json.loads(str(stored["meta"]))',
      "tests/test_hostile_inputs.py::test_gan_metadata_nested_deeply_is_refused_by_the_bounded_json_reader",
      why="a .gan's metadata nested 10^5 deep: RecursionError"),
    b("gan-latent-unbounded", "dreamvideo/gan/checkpoint.py",
      '        limits.check_latent_dim(options.get("latent_dim"))\n', "",
      "tests/test_hostile_inputs.py::test_gan_latent_size_over_the_limit_is_refused_before_the_generator_is_built"),
    b("gan-weight-shape-read-blind", "dreamvideo/gan/checkpoint.py",
      "    limits.check_weight_shape(shape, where)\n    return shape, dtype", "    return shape, dtype",
      "tests/test_hostile_inputs.py::test_a_weight_claiming_a_huge_shape_is_refused_from_its_header"),
    b("gan-nan-weights-loaded", "dreamvideo/gan/checkpoint.py",
      "                    if not np.isfinite(array).all():", "                    if False:",
      "tests/test_hostile_inputs.py::test_non_finite_gan_weights_are_refused_on_load"),
    b("gan-walk-frames-unbounded", "dreamvideo/gan/animate.py",
      'frames: int = option(120, "frames", "int", group=ANIMATION, maximum=limits.MAX_FRAMES, metavar="N")',
      'frames: int = option(120, "frames", "int", group=ANIMATION, metavar="N")',
      "tests/test_hostile_inputs.py::test_gan_walk_frames_keyframes_and_scale_are_bounded_on_the_command_line"),
    b("gan-walk-pieces-restart", "dreamvideo/gan/latent.py",
      "    positions = np.arange(start, stop) * total", "    positions = np.arange(stop - start) * total",
      "tests/test_hostile_inputs.py::test_a_walk_made_in_pieces_is_the_walk_made_whole",
      why="every batch of a long walk starts the walk again"),
    b("gan-model-written-into-its-pictures", "dreamvideo/gan/training.py",
      '    reads = [("image folder", image_dir)]', "    reads = []",
      "tests/test_hostile_inputs.py::test_a_gan_model_is_never_written_into_its_own_picture_folder"),
    b("nan-frame-written", "dreamvideo/arrays.py", "    if not np.isfinite(image).all():", "    if False:",
      "tests/test_hostile_inputs.py::test_a_non_finite_frame_is_never_converted_silently",
      "tests/test_hostile_inputs.py::test_a_dream_that_diverges_writes_nothing_and_says_so",
      why="NaN pixels become arbitrary grey levels, exit 0"),
    b("devices-taken-for-files", "dreamvideo/media/files.py",
      "    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):\n        return None",
      "    if True:\n        return None",
      "tests/test_hostile_inputs.py::test_devices_and_pipes_as_any_input_are_named_as_such",
      why="/dev/urandom 'is empty', /dev/zero 'not found'"),
    b("temporary-names-unchecked", "dreamvideo/writeguard.py", "                if out_path.matches(in_path):",
      "                if False:",
      "tests/test_hostile_inputs.py::test_an_input_named_like_a_temporary_file_of_the_output_is_refused",
      why="an input named .out.png.X.partial is deleted as a stale temporary file"),
    b("restart-through-a-symlink", "dreamvideo/render.py",
      "        if self.folder.is_symlink():\n            logger.warning", "        if False:\n            logger.warning",
      "tests/test_hostile_inputs.py::test_restart_on_a_symlinked_work_folder_removes_the_link_not_what_it_points_to"),
    b("farm-without-watchdog", "dreamvideo/farm/connect.py", "        guard = watchdog.start()", "        guard = None",
      "tests/test_farm_cleanup.py::test_a_killed_driver_takes_its_local_ray_with_it_and_the_next_farm_runs",
      why="Ray's agents outlive a killed driver by minutes, one listening"),
    b("watchdog-ignores-start-times", "dreamvideo/farm/watchdog.py",
      'return status is not None and status[2] == start and status[3] != "Z"',
      'return status is not None and status[3] != "Z"',
      "tests/test_farm_cleanup.py::test_the_sweep_kills_noted_processes_and_their_children_but_never_a_reused_process_id",
      why="a process that reused a farm process's id is killed"),
    b("watchdog-ignores-the-farms-mark", "dreamvideo/farm/watchdog.py",
      "        if mark is not None:\n            targets.update(_marked(mark))", "        pass",
      "tests/test_farm_cleanup.py::test_the_sweep_kills_every_process_with_the_farms_mark_whatever_its_parent_group_or_session",
      "tests/test_farm_cleanup.py::test_the_next_farm_ends_a_farm_whose_driver_and_watchdog_were_killed_and_never_a_live_one",
      why="a Ray worker started in the last half second before kill -9 (its own process group) lives on"),
    b("ray-in-its-default-folder", "dreamvideo/farm/connect.py",
      '**({"_temp_dir": guard.folder} if guard is not None else {})', "**{}",
      "tests/test_farm_cleanup.py::test_a_killed_driver_takes_its_local_ray_with_it_and_the_next_farm_runs",
      why="a killed farm's session folder stays in /tmp/ray, beside other Rays' folders"),
    b("farm-folder-kept", "dreamvideo/farm/watchdog.py", "    shutil.rmtree(folder, ignore_errors=True)\n\n\ndef watch",
      "    pass\n\n\ndef watch",
      "tests/test_farm_cleanup.py::test_a_killed_driver_takes_its_local_ray_with_it_and_the_next_farm_runs",
      "tests/test_farm_cleanup.py::test_the_next_farm_ends_a_farm_whose_driver_and_watchdog_were_killed_and_never_a_live_one",
      why="every killed farm leaves its sessions, logs and spilled objects behind"),
    b("leftovers-of-live-farms-ended", "dreamvideo/farm/watchdog.py", "or _owner_alive(folder) is not False:",
      "or _owner_alive(folder) is None:",
      "tests/test_farm_cleanup.py::test_the_next_farm_ends_a_farm_whose_driver_and_watchdog_were_killed_and_never_a_live_one",
      why="a farm starting kills another driver's live farm"),
    b("leftover-link-followed", "dreamvideo/farm/watchdog.py", "info = os.lstat(folder)", "info = os.stat(folder)",
      "tests/test_farm_cleanup.py::test_the_next_farm_ends_a_farm_whose_driver_and_watchdog_were_killed_and_never_a_live_one",
      why="a link named like a farm folder is taken for one"),
    b("local-ray-start-error-as-traceback", "dreamvideo/farm/connect.py",
      "            if isinstance(exc, OSError) and not isinstance(exc, (ConnectionError, TimeoutError)):",
      "            if False:",
      "tests/test_farm_cleanup.py::test_a_temporary_folder_too_long_for_rays_sockets_is_a_one_line_error_and_leaves_nothing",
      why="a long RAY_TMPDIR (or TMPDIR) gives Ray's OSError traceback"),
    b("steps-unbounded-in-declarations", "dreamvideo/options.py",
      '"gradient steps per octave", "schedule", integer=True, minimum=1, maximum=limits.MAX_STEPS,',
      '"gradient steps per octave", "schedule", integer=True, minimum=1, maximum=None,',
      "tests/test_hostile_render_files.py::test_option_value_fuzz", "tests/test_hostile_render_files.py::test_render_fuzz_succeeds_or_fails_cleanly_inside_its_folder",
      why="the fuzz must see an out-of-limit value run, not only a crash"),
    b("seed-range-unchecked", "dreamvideo/declare.py", "        limits.check_seed(value)", "        pass",
      "tests/test_hostile_render_files.py::test_render_fuzz_succeeds_or_fails_cleanly_inside_its_folder", "tests/test_hostile_render_files.py::test_option_value_fuzz"),
    b("start-limit-reworded", "dreamvideo/video.py",
      "    except DreamError:  # a ValueError too", "    except KeyError:  # a ValueError too",
      "tests/test_hostile_render_files.py::test_a_value_just_past_a_limit_is_refused_naming_the_limit",
      why="--start over the limit says 'not a time'"),
    b("long-input-name-crashes-output-check", "dreamvideo/media/outputs.py",
      "    except (OSError, ValueError):\n        return False", "    except ValueError:\n        return False",
      "tests/test_hostile_render_files.py::test_render_fuzz_succeeds_or_fails_cleanly_inside_its_folder",
      why="a render file's 300-byte input name: OSError traceback"),
    b("model-of-any-type", "dreamvideo/options.py",
      "        if not isinstance(self.model, (str, os.PathLike)) or (self.model not in REGISTRY",
      "        if (self.model not in REGISTRY",
      "tests/test_hostile_render_files.py::test_loader_fuzz_ends_in_options_or_one_dream_error",
      why="a render file's model [0, 1, ...]: TypeError traceback"),
    b("layer-term-with-an-image", "dreamvideo/objectives.py",
      'else image is None):', 'else not isinstance(image, str)):',
      "tests/test_hostile_render_files.py::test_render_fuzz_succeeds_or_fails_cleanly_inside_its_folder",
      why="a layer term's image [..] crashes the render file written at the end"),
    b("op-determinism-left-on", "dreamvideo/runtime.py", "        if not was_on:\n            tf_config.disable_op_determinism()",
      "        pass", "tests/test_gan.py::test_training_leaves_op_determinism_as_it_found_it",
      why="every dream after a GAN training in the same process runs TensorFlow's deterministic kernels"),
    b("opencv-loaded-first-unchecked", "dreamvideo/media/images.py",
      "    elif not limits.OPENCV_HOLDS_PIXEL_LIMIT and _opencv_claims(p):", "    elif False:",
      "tests/test_hostile_inputs.py::test_a_program_that_loaded_opencv_first_still_never_decodes_past_the_limit"),
    b("opencv-first-claims-everything", "dreamvideo/media/images.py",
      "        return bool(cv2.haveImageReader(str(path)))", "        return True",
      "tests/test_hostile_inputs.py::test_a_program_that_loaded_opencv_first_still_never_decodes_past_the_limit"),
]


def check_applies(root: Path, breakages) -> list[str]:
    """Every problem that keeps a breakage from applying (missing file, text absent or not unique)."""
    problems = []
    names = [item.name for item in BREAKAGES]
    for name in {n for n in names if names.count(n) > 1}:
        problems.append(f"{name}: the name is used twice")
    for item in breakages:
        path = root / item.file
        if not path.is_file():
            problems.append(f"{item.name}: {item.file} does not exist")
            continue
        count = path.read_text().count(item.original)
        if count != 1:
            problems.append(f"{item.name}: the original text occurs {count} times in {item.file} (must be once):\n"
                            f"    {item.original!r}")
        if not item.tests:
            problems.append(f"{item.name}: names no tests")
    return problems


def copy_project(target: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, target / name)


def environment_for(copy: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1", TF_CPP_MIN_LOG_LEVEL="2")
    # The copy has no ../shared/media beside it: point the tests at the real one, if there is one.
    shared = ROOT.parent / "shared" / "media"
    if "DREAMVIDEO_SHARED_MEDIA" not in env and shared.is_dir():
        env["DREAMVIDEO_SHARED_MEDIA"] = str(shared)
    return env


def run_tests(copy: Path, tests, env) -> tuple[int, str, float]:
    """(pytest's exit code, its last lines, seconds). Exit code None: timed out."""
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                              cwd=copy, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, "timed out", time.monotonic() - started
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return done.returncode, (lines[-1] if lines else done.stderr.strip()[-300:]), time.monotonic() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="run only these breakages (default: all)")
    parser.add_argument("--list", action="store_true", help="list the breakages and their tests")
    parser.add_argument("--check", action="store_true", help="only check that every breakage applies")
    args = parser.parse_args(argv)

    known = {item.name: item for item in BREAKAGES}
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(f"unknown breakage {unknown[0]!r}; see --list")
    chosen = [known[name] for name in args.names] if args.names else BREAKAGES
    if args.list:
        for item in chosen:
            print(f"{item.name}: {item.file}\n    {item.original!r}\n -> {item.replacement!r}")
            for test in item.tests:
                print(f"    {test}")
        return 0
    problems = check_applies(ROOT, chosen)
    if problems:
        print("mutation_check: these breakages no longer apply; update them:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    if args.check:
        print(f"all {len(chosen)} breakages apply")
        return 0

    with tempfile.TemporaryDirectory(prefix="dreamvideo-mutants-") as folder:
        copy = Path(folder)
        copy_project(copy)
        env = environment_for(copy)
        tests = sorted({test for item in chosen for test in item.tests})
        code, last, seconds = run_tests(copy, tests, env)
        print(f"unbroken: {len(tests)} tests, {last} ({seconds:.0f} s)", flush=True)
        if code != 0:
            print("mutation_check: the tests fail on the unbroken code; fix that first", file=sys.stderr)
            return 2
        caught = []
        for number, item in enumerate(chosen, 1):
            path = copy / item.file
            original = path.read_text()
            path.write_text(original.replace(item.original, item.replacement))
            try:
                code, last, seconds = run_tests(copy, item.tests, env)
            finally:
                path.write_text(original)
            if code == 1 or code is None:  # tests failed (or hung: noticed too, though not nicely)
                verdict = "caught" if code == 1 else "caught (timed out)"
                caught.append(item)
            elif code == 0:
                verdict = "MISSED"
            else:
                verdict = f"ERROR (pytest exit code {code}: {last})"
            print(f"[{number:2d}/{len(chosen)}] {verdict:8s} {item.name} ({seconds:.0f} s)", flush=True)
        missed = [item.name for item in chosen if item not in caught]
        print(f"\ncaught {len(caught)} of {len(chosen)} breakages: {100 * len(caught) / len(chosen):.0f}%")
        if missed:
            print("not caught: " + ", ".join(missed))
        return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
