"""Where shipped files go: an ``s3://bucket/prefix`` URL on S3 or an S3-compatible store.

The file system is pyarrow's ``S3FileSystem``. Credentials come from the standard AWS chain
(``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``, ``AWS_PROFILE``,
``~/.aws``, instance roles), never from a command-line flag: a flag shows in ``ps`` to every
user of the machine. Nothing here logs or prints a credential.

Errors from the store are turned into one plain sentence that says what to fix
(:func:`describe_store_error`); the store's own message follows it for the details.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

import pyarrow.fs as pafs

ENDPOINT_ENV = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
"""Variables naming an S3-compatible endpoint when ``--endpoint-url`` is not given (the AWS CLI's)."""

# A store that does not answer fails a pass in seconds instead of hanging it.
_CONNECT_TIMEOUT_SECONDS = 5.0
_REQUEST_TIMEOUT_SECONDS = 60.0
_MAX_ATTEMPTS = 3


class BucketMissing(OSError):
    """The destination's bucket does not exist."""


@dataclass(frozen=True)
class Destination:
    """A bucket, a key prefix inside it (no leading or trailing ``/``) and the endpoint to reach it."""

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None

    @property
    def url(self) -> str:
        """The ``s3://`` URL (no credentials in it, safe to print)."""
        return f"s3://{self.root}"

    @property
    def root(self) -> str:
        """``bucket/prefix``: the path the file system takes for the top of the shipped tree."""
        return f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket

    def key(self, relative_path: str) -> str:
        """The file-system path of ``relative_path`` (relative to a data directory) in the bucket."""
        return f"{self.root}/{relative_path}"

    @property
    def where(self) -> str:
        """The endpoint in words, for messages."""
        return self.endpoint_url or "AWS S3"


def parse_destination(url: str, *, endpoint_url: str | None = None, region: str | None = None) -> Destination:
    """Parse ``s3://bucket[/prefix]``; ValueError says what a valid one looks like.

    ``endpoint_url`` (``http://host:port`` or ``https://...``) defaults to ``$AWS_ENDPOINT_URL_S3``
    or ``$AWS_ENDPOINT_URL``; unset means AWS S3 itself.
    """
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"{url!r} is not an object-storage URL: give s3://BUCKET or s3://BUCKET/PREFIX.")
    if "@" in parts.netloc:
        raise ValueError("Put no credentials in the s3:// URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead.")
    endpoint = endpoint_url or next((os.environ[name] for name in ENDPOINT_ENV if os.environ.get(name)), None)
    if endpoint is not None:
        endpoint_parts = urlsplit(endpoint)
        if endpoint_parts.scheme not in ("http", "https") or not endpoint_parts.netloc:
            raise ValueError(f"The endpoint {endpoint!r} is not a URL: give http://HOST:PORT or https://HOST.")
    return Destination(
        bucket=parts.netloc,
        prefix=parts.path.strip("/"),
        endpoint_url=endpoint.rstrip("/") if endpoint else None,
        region=region,
    )


def open_filesystem(destination: Destination) -> pafs.S3FileSystem:
    """The S3 file system for ``destination``, credentials from the standard AWS chain.

    Opening contacts nobody; the first request does.
    """
    options: dict[str, object] = {
        "connect_timeout": _CONNECT_TIMEOUT_SECONDS,
        "request_timeout": _REQUEST_TIMEOUT_SECONDS,
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=_MAX_ATTEMPTS),
    }
    if destination.region:
        options["region"] = destination.region
    if destination.endpoint_url:
        endpoint = urlsplit(destination.endpoint_url)
        options["endpoint_override"] = endpoint.netloc + endpoint.path
        options["scheme"] = endpoint.scheme
        # An S3-compatible store (MinIO, Ceph, moto) rarely has a region of its own; AWS S3
        # without an endpoint finds its region through the AWS chain itself.
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        options.setdefault("region", region)
    return pafs.S3FileSystem(**options)


def describe_store_error(error: BaseException, destination: Destination) -> str:
    """One sentence saying what went wrong with ``destination`` and what to do, then the details."""
    text = str(error)
    if isinstance(error, BucketMissing) or "NO_SUCH_BUCKET" in text:
        advice = (
            f"The bucket {destination.bucket!r} does not exist at {destination.where}: create it "
            f"(e.g. `aws s3 mb s3://{destination.bucket}`) or fix the s3:// URL."
        )
    elif "NETWORK_CONNECTION" in text or "curlCode" in text or "Could not connect" in text:
        advice = (
            f"Could not reach the object store at {destination.where}: check --endpoint-url "
            "(or AWS_ENDPOINT_URL) and that the store is running and reachable."
        )
    elif any(code in text for code in ("ACCESS_DENIED", "INVALID_ACCESS_KEY_ID", "SIGNATURE_DOES_NOT_MATCH",
                                       "InvalidAccessKeyId", "SignatureDoesNotMatch", "HTTP status 403")):
        advice = (
            f"The object store at {destination.where} refused the credentials for {destination.url}: check "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and that they may read, write and "
            "delete under that prefix."
        )
    else:
        advice = f"Shipping to {destination.url} at {destination.where} failed."
    return f"{advice} ({text})" if text else advice
