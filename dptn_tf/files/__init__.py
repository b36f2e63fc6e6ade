"""Files: atomic writes (`atomic`) and where pretrained weight files are found (`weight_files`).

Imports nothing from the rest of dptn_tf; everything else may import it.
"""
