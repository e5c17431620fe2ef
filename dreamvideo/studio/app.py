"""The studio's page: a gr.Blocks view over :class:`~dreamvideo.studio.service.Studio`.

Every widget of the settings is made from an option's declaration (its flag as the label, its help as the
hint, its default and choices); the main ones are shown, the rest are under "advanced". The page sends
names from the studio's own lists (inputs, guide/style/mask pictures, job ids), never a path.
"""


import html
import os
from pathlib import Path

from ..errors import DreamError
from . import fields as fieldmod

# The settings shown before the "advanced" fold (the rest of every declared option is under it).
MAIN = ("dream.model", "dream.steps", "dream.step_size", "dream.octaves", "dream.max_side", "dream.seed",
        "video.blend", "video.steady", "video.carried_steps",
        "zoom.frames", "zoom.fps", "zoom.zoom", "zoom.angle", "zoom.translate_x", "zoom.translate_y", "zoom.loop")
REFRESH_SECONDS = 1.0
# System fonts only: the page loads nothing from outside the machine.
FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "monospace"]


def offline_environment(folder: Path) -> None:
    """Gradio's settings for a page that never reaches outside: no analytics or version check, no hub,
    uploads and its cache under the studio's folder. Set before gradio is imported."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["GRADIO_TEMP_DIR"] = str(folder / ".gradio")


def theme():
    import gradio as gr

    return gr.themes.Default(font=FONTS, font_mono=MONO_FONTS)


def command_for(make: str, input_name: str | None, studio) -> str:
    """still, video or zoom: "dream" means a still or a video, by the input."""
    from .. import media

    if make == "zoom":
        return "zoom"
    if input_name is None:
        raise DreamError("pick an input: upload a picture or a video, or choose a sample")
    return "video" if media.is_video_path(studio.files.resolve(input_name)) else "still"


def widget(key: str, field: fieldmod.Option, studio):
    """The gradio component of one declared option."""
    import gradio as gr

    label, info = field.flag, fieldmod.hint(field) or None
    elem_id = "opt-" + key.replace(".", "-").replace("_", "-")  # opt-dream-max-side: for tests and styles
    if key == "dream.model":
        from ..models import list_models

        return gr.Dropdown([spec.name for spec in list_models()], value=field.default, label=label, info=info,
                           elem_id=elem_id)
    if field.kind == "bool":
        return gr.Checkbox(value=bool(field.default), label=label, info=info, elem_id=elem_id)
    if field.kind == "choice":
        choices = list(field.choices)
        if field.default is None:
            choices = [("default", "")] + [(c, c) for c in choices]
        return gr.Dropdown(choices, value=fieldmod.shown(field.default), label=label, info=info, elem_id=elem_id)
    return gr.Textbox(value=str(fieldmod.shown(field.default)), label=label, info=info, max_lines=1,
                      placeholder=field.metavar or "", elem_id=elem_id)


def jobs_html(jobs: list[dict]) -> str:
    """The queue as a table: state, a progress bar, frames done, ETA."""
    rows = []
    for job in jobs:
        p = job["progress"]
        total = p["total"] if p["total"] is not None else "?"
        eta = f"{p['eta']:.0f} s" if p["eta"] is not None else ""
        error = f"<div class='job-error'>{html.escape(job['error'])}</div>" if job.get("error") else ""
        rows.append(
            f"<tr data-job='{html.escape(job['id'])}' data-state='{job['state']}'>"
            f"<td>{html.escape(job['id'])}</td><td>{job['command']}</td>"
            f"<td>{html.escape(job['input'] or 'noise')}</td><td class='job-state'>{job['state']}{error}</td>"
            f"<td><progress max='1' value='{p['fraction']:.3f}'></progress></td>"
            f"<td class='job-frames'>frames {p['done']}/{total}</td><td class='job-eta'>{eta}</td></tr>")
    if not rows:
        return "<p>No renders yet.</p>"
    return ("<table class='jobs'><tr><th>job</th><th>what</th><th>input</th><th>state</th><th>progress</th>"
            "<th>frames</th><th>ETA</th></tr>" + "".join(rows) + "</table>")


def build(studio):
    """The gr.Blocks of a started :class:`Studio`."""
    import gradio as gr

    keys = list(studio.fields)
    main_keys = [k for k in keys if k in MAIN]
    advanced = {prefix: [k for k in keys if k.startswith(prefix + ".") and k not in MAIN]
                for prefix in ("dream", "video", "zoom")}
    components = {}
    from ..options import DreamOptions

    layer_field = next(f for f in fieldmod.declared(DreamOptions) if f.name == "layer")
    layer_help = fieldmod.hint(layer_field)
    inputs = studio.files.names()

    with gr.Blocks(title="dreamvideo studio", analytics_enabled=False) as demo:
        gr.Markdown("# dreamvideo studio")
        with gr.Row():
            with gr.Column(scale=1):
                upload = gr.File(label="upload a picture or a video", type="filepath", elem_id="upload")
                upload_note = gr.Markdown(elem_id="upload-note")
                source = gr.Dropdown(inputs, value=inputs[0] if inputs else None, label="input",
                                     elem_id="source")
                make = gr.Radio(["dream", "zoom"], value="dream", label="make", elem_id="make",
                                info="dream the input (a still or every frame of a video), or an infinite zoom "
                                     "from it (or from noise, with no input)")
                frame = gr.Slider(0, 1000, value=0, step=1, label="preview frame (videos)")
                preview_button = gr.Button("preview", elem_id="preview")
                preview_image = gr.Image(label="preview", interactive=False, elem_id="preview-image")
                preview_note = gr.Markdown(elem_id="preview-note")
            with gr.Column(scale=1):
                look = gr.Dropdown(_looks(studio, "vgg16"), value=None, label="look",
                                   info="a layer of the model to dream with (sets --layer)")
                components["dream.layer"] = gr.Textbox(label=layer_field.flag, info=layer_help, lines=2,
                                                       placeholder="one spec a line: block4_conv3, "
                                                                   "block3_conv3:0.5")
                for key in main_keys:
                    if key.startswith("dream."):
                        components[key] = widget(key, studio.fields[key], studio)
                with gr.Group(visible=False) as video_main:
                    for key in main_keys:
                        if key.startswith("video."):
                            components[key] = widget(key, studio.fields[key], studio)
                with gr.Group(visible=False) as zoom_main:
                    for key in main_keys:
                        if key.startswith("zoom."):
                            components[key] = widget(key, studio.fields[key], studio)
                with gr.Accordion("advanced", open=False):
                    pictures = [None] + studio.files.names("image")
                    for name in fieldmod.PATH_OPTIONS:
                        components[f"paths.{name}"] = gr.Dropdown(
                            pictures, value=None, label=f"--{name.replace('_', '-')}",
                            info="an uploaded picture or a sample")
                    for key in advanced["dream"]:
                        components[key] = widget(key, studio.fields[key], studio)
                    with gr.Group(visible=False) as video_more:
                        for key in advanced["video"]:
                            components[key] = widget(key, studio.fields[key], studio)
                    with gr.Group(visible=False) as zoom_more:
                        for key in advanced["zoom"]:
                            components[key] = widget(key, studio.fields[key], studio)
                output_format = gr.Dropdown([".png", ".jpg"], value=".png", label="output format")
                render_button = gr.Button("render", variant="primary", elem_id="render")
                render_note = gr.Markdown(elem_id="render-note")
                preset_button = gr.Button("save these settings as a render file", elem_id="save-preset")
                preset_saved = gr.File(label="saved settings", interactive=False, elem_id="saved-preset")
                preset_file = gr.File(label="open a render file (a preset, from the CLI or the studio)",
                                      file_types=[".json"], type="filepath", elem_id="preset")
                preset_note = gr.Markdown()
        gr.Markdown("## renders")
        queue_html = gr.HTML(jobs_html(studio.jobs()), elem_id="jobs")
        with gr.Row():
            job_choice = gr.Dropdown([j["id"] for j in studio.jobs()], value=None, label="job", elem_id="job")
            cancel_button = gr.Button("cancel", elem_id="cancel")
            resume_button = gr.Button("resume", elem_id="resume")
        job_note = gr.Markdown(elem_id="job-note")
        gr.Markdown("## gallery")
        gallery = gr.Gallery(_gallery_items(studio), label="finished renders", columns=4, height="auto",
                             elem_id="gallery")
        with gr.Row():
            chosen = gr.Textbox(label="chosen render", interactive=False, elem_id="chosen")
            download_output = gr.DownloadButton("download the output", elem_id="download-output")
            download_render_file = gr.DownloadButton("download the render file", elem_id="download-render-file")
            load_button = gr.Button("load these settings", elem_id="load-settings")
        timer = gr.Timer(REFRESH_SECONDS)
        shown_state = gr.State(None)

        setting_keys = list(components)
        setting_widgets = [components[k] for k in setting_keys]

        def settings_from(values) -> dict:
            return dict(zip(setting_keys, values))

        def layout(make_value, source_value):
            try:
                command = command_for(make_value, source_value, studio)
            except DreamError:
                command = "zoom" if make_value == "zoom" else "still"
            formats = list(studio_formats(command))
            slider = gr.update(visible=command == "video")
            if command == "video":
                from .. import media

                count = media.count_frames(studio.files.resolve(source_value))
                slider = gr.update(visible=True, maximum=max(0, count - 1), value=0)
            return (gr.update(visible=command == "video"), gr.update(visible=command == "video"),
                    gr.update(visible=command == "zoom"), gr.update(visible=command == "zoom"),
                    gr.update(choices=formats, value=formats[0]), slider)

        layout_outputs = [video_main, video_more, zoom_main, zoom_more, output_format, frame]
        make.change(layout, [make, source], layout_outputs)
        source.change(layout, [make, source], layout_outputs)
        demo.load(layout, [make, source], layout_outputs)

        def choose_look(model, layer):
            return gr.update(choices=_looks(studio, model), value=None)

        components["dream.model"].change(choose_look, [components["dream.model"], look], [look])
        look.select(lambda name: name, [look], [components["dream.layer"]])

        path_widgets = [components[f"paths.{name}"] for name in fieldmod.PATH_OPTIONS]

        def on_upload(path):
            if not path:
                return [gr.skip(), gr.skip(), ""] + [gr.skip()] * len(path_widgets)
            try:
                name = studio.files.store_upload(path, Path(path).name)
            except DreamError as exc:
                return [gr.skip(), None, f"**{html.escape(str(exc))}**"] + [gr.skip()] * len(path_widgets)
            pictures_now = [None] + studio.files.names("image")
            return ([gr.update(choices=studio.files.names(), value=name), None, f"uploaded as {name}"]
                    + [gr.update(choices=pictures_now)] * len(path_widgets))

        upload.upload(on_upload, [upload], [source, upload, upload_note] + path_widgets, api_name="upload")

        def on_preview(make_value, source_value, frame_value, *values):
            try:
                command = command_for(make_value, source_value, studio)
                image, note = studio.preview(source_value, command, settings_from(values), frame_value)
            except DreamError as exc:
                return None, f"**{html.escape(str(exc))}**"
            return image, note

        preview_button.click(on_preview, [make, source, frame] + setting_widgets, [preview_image, preview_note],
                             api_name="preview", concurrency_limit=1)

        def on_render(make_value, source_value, format_value, *values):
            try:
                command = command_for(make_value, source_value, studio)
                job = studio.submit(source_value, command, settings_from(values), format_value)
            except DreamError as exc:
                return f"**{html.escape(str(exc))}**", gr.update()
            return f"queued {job['id']}", gr.update(choices=[j["id"] for j in studio.jobs()], value=job["id"])

        render_button.click(on_render, [make, source, output_format] + setting_widgets, [render_note, job_choice],
                            api_name="render")

        def on_save_preset(make_value, source_value, *values):
            try:
                command = command_for(make_value, source_value, studio)
                path = studio.save_preset(source_value, command, settings_from(values))
            except DreamError as exc:
                return f"**{html.escape(str(exc))}**", None
            return f"saved {path.name}", str(path)

        preset_button.click(on_save_preset, [make, source] + setting_widgets, [render_note, preset_saved],
                            api_name="save_preset")

        def on_job(action, job_id):
            try:
                job = (studio.cancel if action == "cancel" else studio.resume)(job_id)
            except DreamError as exc:
                return f"**{html.escape(str(exc))}**"
            return f"job {job['id']}: {job['state']}"

        cancel_button.click(lambda j: on_job("cancel", j), [job_choice], [job_note], api_name="cancel")
        resume_button.click(lambda j: on_job("resume", j), [job_choice], [job_note], api_name="resume")

        def refresh(shown):
            jobs = studio.jobs()
            finished = tuple(j["id"] for j in studio.finished())
            ids = [j["id"] for j in jobs]
            if shown == (ids, finished):
                return jobs_html(jobs), gr.skip(), gr.skip(), shown
            return (jobs_html(jobs), gr.update(choices=ids), _gallery_items(studio), (ids, finished))

        timer.tick(refresh, [shown_state], [queue_html, job_choice, gallery, shown_state], api_name="jobs",
                   show_progress="hidden")

        def on_select(event: gr.SelectData):
            finished = studio.finished()
            if event.index is None or event.index >= len(finished):
                return "", None, None
            job = finished[event.index]
            return job["id"], job["output_path"], job["render_file"]

        gallery.select(on_select, None, [chosen, download_output, download_render_file])

        def on_load(job_id):
            try:
                command, input_name, settings = studio.job_settings(job_id)
            except DreamError as exc:
                return [f"**{html.escape(str(exc))}**", gr.skip(), gr.skip()] + [gr.skip()] * len(setting_keys)
            return ([f"settings of {job_id} loaded", input_name if input_name else gr.skip(),
                     "zoom" if command == "zoom" else "dream"] + [settings.get(k) for k in setting_keys])

        load_button.click(on_load, [chosen], [render_note, source, make] + setting_widgets, api_name="load")

        def on_preset(path):
            if not path:
                return [gr.skip()] * (2 + len(setting_keys))
            try:
                command, settings, notes = studio.load_render_file(path)
            except DreamError as exc:
                message = str(exc).replace(str(Path(path).parent) + os.sep, "")
                return [f"**{html.escape(message)}**", gr.skip()] + [gr.skip()] * len(setting_keys)
            note = "settings loaded" + ("; " + "; ".join(notes) if notes else "")
            return [note, "zoom" if command == "zoom" else "dream"] + [settings.get(k) for k in setting_keys]

        preset_file.upload(on_preset, [preset_file], [preset_note, make] + setting_widgets, api_name="open_preset")
    return demo


def studio_formats(command: str):
    from .service import OUTPUT_FORMATS

    return OUTPUT_FORMATS[command]


def _looks(studio, model: str) -> list[str]:
    from ..models import REGISTRY

    spec = REGISTRY.get(model)
    return list(spec.layers) if spec else []


def _gallery_items(studio) -> list[tuple[str, str]]:
    return [(job["output_path"], f"{job['id']}: {job['input'] or 'noise'}") for job in studio.finished()]
