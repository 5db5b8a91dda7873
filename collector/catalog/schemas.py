"""Label schemas in the catalog: stored as their JSON definition, built-ins seeded on first use."""

from __future__ import annotations

import datetime as dt
import json

import duckdb

from otel_feedback_collector.catalog.database import CatalogDatabase
from otel_feedback.label_schemas import BUILT_IN_SCHEMAS, LabelSchema


class SchemaExists(ValueError):
    """A schema with that name exists and ``overwrite`` was not asked for."""


class SchemaInUse(ValueError):
    """The schema is used by a labeling session and cannot be deleted."""


def seed_built_ins(connection: duckdb.DuckDBPyConnection) -> None:
    """Add the built-in schemas that are missing (inside the caller's transaction)."""
    now = dt.datetime.now(dt.timezone.utc)
    for schema in BUILT_IN_SCHEMAS:
        connection.execute(
            "INSERT INTO label_schemas VALUES (?, ?, TRUE, ?, ?) ON CONFLICT DO NOTHING",
            [schema.name, json.dumps(schema.to_dict()), now, now],
        )


def save_schema(catalog: CatalogDatabase, schema: LabelSchema, *, overwrite: bool) -> LabelSchema:
    """Store ``schema``; an existing name needs ``overwrite`` (else :class:`SchemaExists`)."""
    now = dt.datetime.now(dt.timezone.utc)
    with catalog.transaction() as connection:
        seed_built_ins(connection)
        exists = connection.execute("SELECT 1 FROM label_schemas WHERE name = ?", [schema.name]).fetchone()
        if exists and not overwrite:
            raise SchemaExists(
                f"A label schema named {schema.name!r} already exists; pass overwrite=True to replace it."
            )
        if exists:
            connection.execute(
                "UPDATE label_schemas SET definition = ?, built_in = FALSE, updated_time = ? WHERE name = ?",
                [json.dumps(schema.to_dict()), now, schema.name],
            )
        else:
            connection.execute(
                "INSERT INTO label_schemas VALUES (?, ?, FALSE, ?, ?)",
                [schema.name, json.dumps(schema.to_dict()), now, now],
            )
    return schema


def get_schema(catalog: CatalogDatabase, name: str) -> LabelSchema | None:
    """The schema called ``name``, or None."""
    found = get_schemas(catalog, [name])
    return found.get(name)


def get_schemas(catalog: CatalogDatabase, names: list[str] | None = None) -> dict[str, LabelSchema]:
    """Schemas by name (all of them when ``names`` is None)."""
    with catalog.transaction() as connection:
        seed_built_ins(connection)
        if names is None:
            rows = connection.execute("SELECT definition FROM label_schemas ORDER BY name").fetchall()
        else:
            rows = connection.execute(
                "SELECT definition FROM label_schemas WHERE list_contains(?, name) ORDER BY name", [names]
            ).fetchall()
    schemas = [LabelSchema.from_dict(json.loads(row[0])) for row in rows]
    return {schema.name: schema for schema in schemas}


def delete_schema(catalog: CatalogDatabase, name: str) -> bool:
    """Delete the schema; False if there was none; :class:`SchemaInUse` if a session uses it."""
    with catalog.transaction() as connection:
        seed_built_ins(connection)
        users = [
            row[0]
            for row in connection.execute("SELECT name, label_schemas FROM labeling_sessions").fetchall()
            if name in json.loads(row[1])
        ]
        if users:
            raise SchemaInUse(
                f"Label schema {name!r} is used by labeling session(s) {users}; delete those sessions first."
            )
        deleted = connection.execute("DELETE FROM label_schemas WHERE name = ? RETURNING name", [name]).fetchall()
    return bool(deleted)
