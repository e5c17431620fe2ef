"""The studio: a local web app to preview, render, cancel and resume dreams (``dreamvideo studio``).

``server`` starts it; ``app`` is the page (Gradio), a thin view over ``service.Studio``; ``jobs`` is the job
queue in the studio's folder; ``worker`` runs each render in a process of its own; ``preview`` dreams one
frame small in a long-lived process; ``files`` keeps uploads and samples; ``fields`` makes the settings
from the options' declarations. Gradio is imported only when the studio starts.
"""
