"""``otel-feedback users``: the named reviewers of the review app.

::

    otel-feedback users add alice [--data DIR] [--password-stdin]   prints alice's password once
    otel-feedback users list [--data DIR]
    otel-feedback users remove alice [--data DIR]                 signs alice out everywhere

Users live in the data directory's catalog; this works while the collector runs (the catalog is
opened only for each unit of work). The password is generated unless read from stdin; only its
salted hash is stored, so it cannot be shown again. A password read from stdin must meet the
password rule (12+ characters, two kinds of character, not common, not containing the name; see
collector/catalog/password_policy.py), else nothing is added and the message says what is needed.
"""

from __future__ import annotations

import argparse
import os
import sys

from otel_feedback_collector.catalog import CatalogDatabase, CatalogLocked
from otel_feedback_collector.catalog.users import UnknownUser, UserExists, add_user, list_users, remove_user
from otel_feedback_core.layout import DATA_DIR_ENV, DEFAULT_DATA_DIR


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``users add``, ``users list`` and ``users remove`` to the top-level CLI."""
    users = subparsers.add_parser("users", help="manage the review app's users", description=__doc__.split("::")[0])
    actions = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a user and print their password once")
    add.add_argument("name", help="user name (letters, digits, _ . @ -)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin instead of generating one "
                     "(12+ characters, at least two kinds: letters, digits, others)")
    listing = actions.add_parser("list", help="list the users")
    remove = actions.add_parser("remove", help="remove a user and sign them out (their feedback stays)")
    remove.add_argument("name", help="user name")
    for parser in (add, listing, remove):
        parser.add_argument("--data", default=os.environ.get(DATA_DIR_ENV, DEFAULT_DATA_DIR),
                            help=f"data directory (default: ${DATA_DIR_ENV} or {DEFAULT_DATA_DIR})")
    add.set_defaults(func=_add)
    listing.set_defaults(func=_list)
    remove.set_defaults(func=_remove)


def _add(args: argparse.Namespace) -> int:
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            print("No password on stdin; give one, or leave out --password-stdin to get a generated one.", file=sys.stderr)
            return 2
    try:
        password = add_user(CatalogDatabase(args.data), args.name, password=password)
    except (UserExists, ValueError, CatalogLocked) as exc:
        print(f"otel-feedback users add: {exc}", file=sys.stderr)
        return 1
    if args.password_stdin:
        print(f"Added user {args.name}.")
    else:
        print(f"Added user {args.name}. Password (shown once, only its hash is kept): {password}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    try:
        ended = remove_user(CatalogDatabase(args.data), args.name)
    except (UnknownUser, ValueError, CatalogLocked) as exc:
        print(f"otel-feedback users remove: {exc}", file=sys.stderr)
        return 1
    signed_out = f" and signed out of {ended} session{'s' if ended != 1 else ''}" if ended else ""
    print(f"Removed user {args.name}{signed_out}. Their feedback and labels stay in the data.")
    return 0


def _list(args: argparse.Namespace) -> int:
    try:
        users = list_users(CatalogDatabase(args.data))
    except CatalogLocked as exc:
        print(f"otel-feedback users list: {exc}", file=sys.stderr)
        return 1
    for name, created in users:
        print(f"{name}\tadded {created:%Y-%m-%d %H:%M UTC}")
    if not users:
        print("No users yet: otel-feedback users add NAME")
    return 0
