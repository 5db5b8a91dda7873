"""``otel-feedback ship``: copy a data directory's finished Parquet files to S3-compatible storage.

One pass by default (exit status 1 and one sentence on stderr when it fails), or a pass every
``--every SECONDS`` until SIGTERM/SIGINT, where a failed pass is logged and the next one tries
again. It runs beside the collector (or with none) and only reads the data directory, so a
store that is down, a missing bucket or wrong credentials never touch the collector's storage.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from otel_feedback_collector.shipping.destination import Destination, describe_store_error, open_filesystem, parse_destination
from otel_feedback_collector.shipping.sync import DEFAULT_GRACE_SECONDS, ShipError, ship_once
from otel_feedback_collector.storage.manifest import ManifestDamaged
from otel_feedback_core.layout import DATA_DIR_ENV, DEFAULT_DATA_DIR

logger = logging.getLogger("otel_feedback_collector.shipping")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ship`` to the top-level CLI."""
    ship = subparsers.add_parser(
        "ship",
        help="copy the finished Parquet files of a data directory to S3-compatible object storage",
        description="Copy the finished Parquet files of a data directory to S3 or an S3-compatible store, "
        "then the manifest listing them, then delete the objects of files compaction retired. "
        "Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, ~/.aws).",
    )
    data_help = f"the collector's data directory, only read (default: ${DATA_DIR_ENV} or {DEFAULT_DATA_DIR})"
    ship.add_argument("--data", default=os.environ.get(DATA_DIR_ENV, DEFAULT_DATA_DIR), help=data_help)
    ship.add_argument("--to", required=True, metavar="s3://BUCKET/PREFIX", help="where the files go")
    ship.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="an S3-compatible store, e.g. http://127.0.0.1:9000 (default: $AWS_ENDPOINT_URL_S3 or "
        "$AWS_ENDPOINT_URL; unset means AWS S3)",
    )
    ship.add_argument("--region", help="the bucket's region (default: $AWS_REGION, ~/.aws, or us-east-1)")
    ship.add_argument(
        "--every",
        type=float,
        metavar="SECONDS",
        help="run a pass every SECONDS until stopped, instead of one pass",
    )
    ship.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE_SECONDS,
        metavar="SECONDS",
        help="keep the objects of files compaction replaced this long after they leave the shipped "
        f"manifest, for readers of the previous one (default: {DEFAULT_GRACE_SECONDS:g})",
    )
    levels = ("DEBUG", "INFO", "WARNING", "ERROR")
    ship.add_argument("--log-level", type=str.upper, choices=levels, default="INFO", help="logging level (default: INFO)")
    ship.set_defaults(func=run_ship)


def run_ship(args: argparse.Namespace) -> int:
    """One pass, or a pass every ``--every`` seconds until SIGTERM or SIGINT."""
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.grace < 0 or (args.every is not None and not args.every > 0):
        print("otel-feedback ship: --grace must be 0 or more seconds and --every a positive number of seconds.",
              file=sys.stderr)
        return 2
    try:
        destination = parse_destination(args.to, endpoint_url=args.endpoint_url, region=args.region)
    except ValueError as error:
        print(f"otel-feedback ship: {error}", file=sys.stderr)
        return 2
    data_dir = Path(args.data)
    if args.every is None:
        message = _one_pass(data_dir, destination, args.grace)
        if message is not None:
            print(f"otel-feedback ship: {message}", file=sys.stderr)
            return 1
        return 0
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("Received %s; stopping after this pass.", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    logger.info("Shipping %s to %s every %g s.", data_dir, destination.url, args.every)
    while not stop.is_set():
        message = _one_pass(data_dir, destination, args.grace)
        if message is not None:
            logger.error("%s The next pass tries again in %g s.", message, args.every)
        stop.wait(args.every)
    return 0


def _one_pass(data_dir: Path, destination: Destination, grace: float) -> str | None:
    """Run a pass and log what it did; return the sentence describing a failure, else None."""
    try:
        result = ship_once(data_dir, destination, open_filesystem(destination), grace=grace)
    except (ShipError, ManifestDamaged) as error:
        return str(error)
    except OSError as error:
        return describe_store_error(error, destination)
    logger.info("Shipped %s to %s: %s.", data_dir, destination.url, result.summary())
    return None
