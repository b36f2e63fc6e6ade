"""The commands: each module's `main(argv)` is a console script (`setup.cfg`), and `train.py`,
`export_savedmodel.py` and `tools/*.py` at the repository's root are thin wrappers over them.

Every command parses its command line before anything heavy loads, so `--help` and argument
errors answer at once; it then calls `dptn_tf.console.quiet_tensorflow` and imports the library
modules it runs. This package imports only `config` and `console` at module level.
"""
