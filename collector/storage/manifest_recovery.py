"""Repairing a damaged ``manifest.json`` at start-up, so the collector starts and no published
span is lost.

The manifest is written atomically, so damage comes from outside (a disk fault, an edit, a
filesystem that does not honour rename). The repaired manifest starts from
``manifest.json.prev`` (the version before the last write; it carries the compaction levels,
runs, retired files and how far the write-ahead log is applied) and adds every Parquet file of
``spans/`` and ``assessments/`` that it does not list and whose footer is valid: the last write
before the damage only ever added files (a flush) or swapped inputs for their merge (a
compaction), so those files are what it published. Each adopted file gets a run of its own, so
readers de-duplicate any key found in both a merge and its inputs; trace summaries for the
adopted runs are rebuilt by the store at start-up. Files of the ``_retired/`` folders that the
backup lists as live, or does not list at all (the damaged version had them live or retired),
are moved back and adopted first: losing nothing wins over the glob rule in this double fault
(a glob may then see a merge's keys twice until a full compaction; the views de-duplicate). The damaged file is kept beside it as
``manifest.json.damaged-<time>``.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

import pyarrow.parquet as pq

from otel_feedback_collector.storage.manifest import (
    MANIFEST_NAME,
    PREVIOUS_MANIFEST_NAME,
    DataFile,
    Manifest,
    ManifestDamaged,
    parse_manifest,
    write_manifest,
)
from otel_feedback_collector.storage.swap import restore_live_files, return_unlisted_retired

logger = logging.getLogger("otel_feedback_collector.storage")

# Datasets whose files are adopted; trace summaries are derived data, rebuilt from spans.
_ADOPTED = ("spans", "assessments")
_FILE_NAME = re.compile(r"^(?P<dataset>[a-z_]+)-L(?P<level>\d+)-(?P<number>\d+)\.parquet$")


def open_manifest(data_dir: Path) -> Manifest:
    """Return the data directory's manifest, repairing it first when it is damaged."""
    path = data_dir / MANIFEST_NAME
    try:
        manifest = parse_manifest(path)
    except ManifestDamaged as damage:
        return _repair(data_dir, damage)
    return manifest if manifest is not None else Manifest()


def _repair(data_dir: Path, damage: ManifestDamaged) -> Manifest:
    try:
        previous = parse_manifest(data_dir / PREVIOUS_MANIFEST_NAME)
    except ValueError as error:
        logger.error("%s is damaged too (%s); rebuilding from the Parquet files alone.",
                     PREVIOUS_MANIFEST_NAME, error)
        previous = None
    manifest = previous if previous is not None else Manifest()
    restore_live_files(data_dir, manifest)
    return_unlisted_retired(data_dir, manifest)
    _drop_missing(data_dir, manifest)
    adopted = _adopt_unlisted_files(data_dir, manifest)
    kept = data_dir / f"{MANIFEST_NAME}.damaged-{time.strftime('%Y%m%dT%H%M%S')}"
    os.replace(data_dir / MANIFEST_NAME, kept)
    write_manifest(data_dir, manifest)
    logger.error(
        "MANIFEST DAMAGED: %s. Rebuilt it from %s and %d Parquet file(s) found on disk that it "
        "did not list; the damaged file is kept as %s. Nothing published was dropped.",
        damage, PREVIOUS_MANIFEST_NAME if previous is not None else "nothing (no intact backup)",
        adopted, kept,
    )
    return manifest


def _drop_missing(data_dir: Path, manifest: Manifest) -> None:
    for dataset, files in manifest.files.items():
        present = [f for f in files if (data_dir / f.path).is_file()]
        for gone in set(files) - set(present):
            logger.warning("The backup manifest lists %s, which is gone; dropping it.", gone.path)
        manifest.files[dataset] = present


def _adopt_unlisted_files(data_dir: Path, manifest: Manifest) -> int:
    known = {f.path for files in manifest.files.values() for f in files}
    known.update(r.path for r in manifest.retired)
    found: list[tuple[str, Path, int]] = []
    highest = 0
    for dataset in manifest.files:
        folder = data_dir / dataset
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            match = _FILE_NAME.match(path.name)
            if match is None or match["dataset"] != dataset:
                continue
            highest = max(highest, int(match["number"]))
            relative = f"{dataset}/{path.name}"
            if dataset in _ADOPTED and relative not in known:
                found.append((dataset, path, int(match["level"])))
    manifest.next_file_number = max(manifest.next_file_number, highest + 1)
    adopted = 0
    for dataset, path, level in found:
        try:
            rows = pq.read_metadata(path).num_rows
        except Exception as error:  # a torn file: keep it out of the manifest, and out of globs
            aside = path.with_name(f"{path.name}.damaged")
            os.replace(path, aside)
            logger.error("Parquet file %s is unreadable (%s); set aside as %s.", path, error, aside)
            continue
        relative = f"{dataset}/{path.name}"
        manifest.add(dataset, DataFile(relative, rows, level, run=manifest.take_file_number()))
        adopted += 1
    return adopted
