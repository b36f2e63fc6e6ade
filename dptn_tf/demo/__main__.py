"""A web page for pose transfer: your photo, any pose, on the model you trained or serve.

    dptn-demo --run runs/synthetic                       # after the quickstart
    dptn-demo --generator converted/generator.keras --config configs/fashion.yaml
    dptn-demo --saved-model exports/dptn/1 --annotations data/fashion/fasion-annotation-test.csv
    dptn-demo --serving-url http://localhost:8501/v1/models/dptn
    dptn-demo --site site/            # a site of export_savedmodel.py --format web

It prints the page's local URL. The gallery's poses come from a PATN annotation CSV, by default
the test split of the run's data set; they must be in the model's frame (`data.old_size`).
"""

import argparse
import sys
from pathlib import Path

from dptn_tf.console import add_verbose_flag, image_size, quiet_tensorflow

DEMO_PORT, SITE_PORT = 7860, 8000


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dptn-demo", description=__doc__.split("\n\n")[0])
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument(
        "--run", type=Path, help="a training run folder (generator.keras, config.yaml)"
    )
    model.add_argument(
        "--generator",
        type=Path,
        help="a .keras generator or a preset folder (with --config, unless it records its frame)",
    )
    model.add_argument("--saved-model", type=Path, help="an exported version folder")
    model.add_argument(
        "--serving-url",
        metavar="URL",
        help="a model on TF Serving's REST API, e.g. http://localhost:8501/v1/models/dptn",
    )
    model.add_argument(
        "--site",
        type=Path,
        help="serve an exported web site (export_savedmodel.py --format web): the models run "
        "in the visitor's browser",
    )
    parser.add_argument("--config", type=Path, help="YAML config of --generator")
    parser.add_argument(
        "--frame",
        type=image_size,
        metavar="HxW",
        help="with --serving-url: the model's annotation size (data.old_size), "
        "checked against the server's (default: the server's)",
    )
    parser.add_argument(
        "--annotations",
        type=Path,
        help="PATN annotation CSV of the gallery's poses (default: the test "
        "split of the configuration's data set)",
    )
    parser.add_argument("--weights-dir", type=Path, help="where the BlazePose files are")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this machine only)",
    )
    parser.add_argument(
        "--port", type=int, help=f"port (default {DEMO_PORT}; {SITE_PORT} with --site)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=2,
        help="requests computed at once; the others wait in the queue",
    )
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    if args.frame and not args.serving_url:
        parser.error("--frame goes with --serving-url (the other models know their frame)")
    if args.config and not args.generator:
        parser.error("--config goes with --generator (a run folder has its config.yaml)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.site:
        return serve_site(args)
    quiet_tensorflow(args.verbose)
    from dptn_tf.demo.app import build_page, load_demo
    from dptn_tf.serving.rest_client import ServingError

    try:
        demo = load_demo(args)
    except (OSError, ValueError, ImportError, ServingError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    page = build_page(demo).queue(default_concurrency_limit=args.concurrency)
    _, url, _ = page.launch(
        quiet=True,
        prevent_thread_lock=True,
        **demo.launch_options(args.host, args.port or DEMO_PORT),
    )
    print(f"dptn-demo: open {url} (Ctrl+C stops it)", flush=True)
    page.block_thread()
    return 0


def serve_site(args) -> int:
    """`--site`: the folder's static files with the cross-origin isolation headers."""
    from dptn_tf.demo.site_server import ISOLATION_HEADERS, site_server

    port = args.port or SITE_PORT
    try:
        server = site_server(args.site, args.host, port)
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    host, port = server.server_address[:2]
    print(
        f"dptn-demo: open http://{host}:{port}/ (the site {args.site}, with the "
        f"{len(ISOLATION_HEADERS)} cross-origin isolation headers that threads need; "
        "Ctrl+C stops it)",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
