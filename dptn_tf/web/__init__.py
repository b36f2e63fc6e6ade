"""The exported web site's page (`dptn_tf.export.web` copies these files into it) and the
joint editor it shares with the Gradio demo; `dptn-demo --site` serves a site
(`dptn_tf.demo.site_server`). Imports nothing of the package: `export` and `demo` read its
files."""

SITE_JSON = "site.json"  # what marks a folder as an exported site
GALLERY_SIZE = 24  # poses a page shows from an annotation CSV (the first, by image name)
