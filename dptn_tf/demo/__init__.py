"""The web demo (`dptn-demo`, `python -m dptn_tf.demo`): your photo's person in a pose from a
second photo, a gallery of annotated poses or joints dragged on the page, on a `.keras`
generator, a SavedModel or a model on TF Serving.

`app` holds the handlers (thin: they call `dptn_tf.inference.photo_transfer`) and the Gradio
page; `joint_editor.js` is the one widget Gradio lacks. The top layer: imports `inference`,
`serving`, `pose`, `data`, `visualization`, `config`, `files` and `console`; nothing imports it.
Gradio is the optional `demo` extra (`pip install -e ".[demo]"`).
"""
