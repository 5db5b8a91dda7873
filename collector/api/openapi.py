"""The REST API's OpenAPI 3.1 document, written by hand (served at ``GET /api/openapi.json``).

A test walks the app's routes and checks that every ``/api`` route and method is here and that
nothing here is missing from the app; keep both in step when adding an endpoint.
"""

from __future__ import annotations

from typing import Any

from otel_feedback_core.layout import TRACE_COLUMNS

_JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {_JSON: {"schema": schema}}}


def _answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _answer(description, _ref("Error"))


_BUSY = {
    "description": "The store is full; nothing was stored. Retry after the Retry-After seconds.",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
    "content": {_JSON: {"schema": _ref("Error")}},
}
_COMMON_ERRORS = {
    "401": _error("A token is configured and the request lacks 'Authorization: Bearer <token>'."),
    "500": _error("The collector failed; the message says what to do, the log says why."),
}
_WRITE_ERRORS = {
    "400": _error("The body is not JSON (BAD_REQUEST)."),
    "413": _error("The body is larger than 1 MiB."),
    "415": _error("The body was not sent as Content-Type: application/json."),
    "422": _error("A value failed validation (UNPROCESSABLE); nothing was stored."),
    "429": _BUSY,
    "503": {
        **_BUSY,
        "description": "The store could not write durably (disk full, no inodes, a failed fsync); "
        "nothing was stored. Retry after the Retry-After seconds.",
    },
}

_TRACE_ID = {
    "name": "trace_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{32}$"},
    "description": "The trace id, 32 hex characters.",
}
_ASSESSMENT_ID = {
    "name": "assessment_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The assessment id.",
}

_NULLABLE_STRING = {"type": ["string", "null"]}
_TIME = {"type": ["string", "null"], "format": "date-time", "description": "RFC 3339, UTC."}
_ANY_JSON: dict[str, Any] = {"description": "Any JSON value."}

# The traces view's columns (otel_feedback_core.layout), with the API's stricter types where known.
_TRACE_COLUMN_PROPERTIES = {
    name: {
        "string": _NULLABLE_STRING, "timestamp": _TIME, "double": {"type": ["number", "null"]},
        "int64": {"type": ["integer", "null"]},
    }[kind]
    for name, kind in TRACE_COLUMNS.items()
} | {
    "trace_id": {"type": "string"},
    "status": {"type": "string", "enum": ["OK", "ERROR", "UNSET"]},
    "span_count": {"type": "integer"},
}
_SEARCH_PROPERTIES = {
    "experiment": {"type": "string", "description": "Only traces of this experiment."},
    "filter": {
        "type": "string",
        "description": "The filter language (docs/search.md), e.g. "
        "\"assessments.user_feedback = false AND span_type = 'LLM'\".",
    },
    "order_by": {
        "description": "A column and ASC/DESC, e.g. 'start_time DESC' (the default).",
        "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
    },
    "max_results": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
    "page_token": {"type": "string", "description": "next_page_token of the previous page."},
}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": [
                            "BAD_REQUEST", "UNAUTHORIZED", "NOT_FOUND", "METHOD_NOT_ALLOWED",
                            "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "UNPROCESSABLE", "BUSY",
                            "INTERNAL",
                        ],
                    },
                    "message": {"type": "string", "description": "A plain sentence saying what to do."},
                },
            }
        },
    },
    "AssessmentSource": {
        "type": "object",
        "properties": {
            "source_type": {"type": "string", "enum": ["HUMAN", "LLM_JUDGE", "CODE"]},
            "source_id": {"type": "string", "minLength": 1},
        },
        "additionalProperties": False,
    },
    "Assessment": {
        "type": "object",
        "required": [
            "assessment_id", "trace_id", "span_id", "name", "type", "value", "rationale", "source",
            "metadata", "error", "overrides", "action", "create_time",
        ],
        "properties": {
            "assessment_id": {"type": "string"},
            "trace_id": {"type": "string"},
            "span_id": _NULLABLE_STRING,
            "name": {"type": "string"},
            "type": {"type": "string", "enum": ["feedback", "expectation"]},
            "value": _ANY_JSON,
            "rationale": _NULLABLE_STRING,
            "source": {
                "type": "object",
                "properties": {"source_type": _NULLABLE_STRING, "source_id": _NULLABLE_STRING},
            },
            "metadata": {"type": "object"},
            "error": _NULLABLE_STRING,
            "overrides": {**_NULLABLE_STRING, "description": "The assessment this row replaces or deletes."},
            "action": {"type": "string", "enum": ["create", "override", "delete"]},
            "create_time": {"type": "string", "format": "date-time"},
        },
    },
    "AssessmentCreate": {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 256},
            "type": {"type": "string", "enum": ["feedback", "expectation"], "default": "feedback"},
            "value": {
                **_ANY_JSON,
                "description": "Feedback: bool, number, string, list or object (null only with "
                "error). Expectation: any JSON.",
            },
            "rationale": {"type": "string"},
            "source": {**_ref("AssessmentSource"), "description": "Default HUMAN / anonymous."},
            "span_id": {"type": "string", "pattern": "^[0-9a-fA-F]{16}$"},
            "metadata": {"type": "object"},
            "error": {"type": "string", "description": "Feedback only: why no value could be given."},
            "assessment_id": {
                "type": "string",
                "pattern": "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$",
                "description": "Idempotency key: a replay with the same id is stored once (200).",
            },
        },
    },
    "AssessmentOverride": {
        "type": "object",
        "required": ["value"],
        "additionalProperties": False,
        "properties": {
            "value": _ANY_JSON,
            "rationale": {"type": "string"},
            "source": _ref("AssessmentSource"),
            "metadata": {"type": "object"},
        },
    },
    "AssessmentDelete": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"source": _ref("AssessmentSource")},
    },
    "AssessmentList": {
        "type": "object",
        "required": ["assessments"],
        "properties": {"assessments": {"type": "array", "items": _ref("Assessment")}},
    },
    "TraceSummary": {
        "type": "object",
        "description": "The columns of the traces view, the root span's request/response, and "
        "the current value of each assessment name.",
        "properties": {
            **_TRACE_COLUMN_PROPERTIES,
            "request": _ANY_JSON,
            "response": _ANY_JSON,
            "assessments": {"type": "object", "additionalProperties": _ANY_JSON},
        },
    },
    "Span": {
        "type": "object",
        "description": "The columns of the spans view (docs/storage.md); attributes, "
        "resource_attributes, events and links parsed from JSON.",
        "properties": {
            "trace_id": {"type": "string"},
            "span_id": {"type": "string"},
            "parent_span_id": _NULLABLE_STRING,
            "name": _NULLABLE_STRING,
            "span_type": _NULLABLE_STRING,
            "start_time": _TIME,
            "end_time": _TIME,
            "attributes": {"type": "object"},
            "resource_attributes": {"type": "object"},
            "events": {"type": "array", "items": {"type": "object"}},
            "links": {"type": "array", "items": {"type": "object"}},
        },
        "additionalProperties": True,
    },
    "TraceList": {
        "type": "object",
        "required": ["traces", "next_page_token"],
        "properties": {
            "traces": {"type": "array", "items": _ref("TraceSummary")},
            "next_page_token": _NULLABLE_STRING,
        },
    },
    "TraceDetail": {
        "type": "object",
        "required": ["trace", "spans", "assessments"],
        "properties": {
            "trace": _ref("TraceSummary"),
            "spans": {"type": "array", "items": _ref("Span")},
            "assessments": {"type": "array", "items": _ref("Assessment")},
        },
    },
    "SearchRequest": {"type": "object", "additionalProperties": False, "properties": _SEARCH_PROPERTIES},
    "ExperimentList": {
        "type": "object",
        "required": ["experiments"],
        "properties": {
            "experiments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "trace_count": {"type": "integer"},
                        "last_trace_time": _TIME,
                    },
                },
            }
        },
    },
}

_PATHS: dict[str, Any] = {
    "/api/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This document.",
            "responses": {"200": {"description": "The OpenAPI 3.1 document.", "content": {_JSON: {}}}},
        }
    },
    "/api/v1/experiments": {
        "get": {
            "operationId": "list_experiments",
            "summary": "Experiments that have traces (the experiment column, else the service name).",
            "responses": {"200": _answer("The experiments.", _ref("ExperimentList")), **_COMMON_ERRORS},
        }
    },
    "/api/v1/traces": {
        "get": {
            "operationId": "list_traces",
            "summary": "Search traces with a filter, ordering and paging.",
            "parameters": [
                {"name": name, "in": "query", "required": False, "schema": schema}
                for name, schema in _SEARCH_PROPERTIES.items()
            ],
            "responses": {
                "200": _answer("One page of traces.", _ref("TraceList")),
                "400": _error("A bad filter, order_by, max_results or page_token (BAD_REQUEST)."),
                **_COMMON_ERRORS,
            },
        }
    },
    "/api/v1/traces/search": {
        "post": {
            "operationId": "search_traces",
            "summary": "The same search with the fields in a JSON body (for long filters).",
            "requestBody": _json_body(_ref("SearchRequest"), required=False),
            "responses": {
                "200": _answer("One page of traces.", _ref("TraceList")),
                "400": _error("Malformed JSON or a bad search field (BAD_REQUEST)."),
                "413": _WRITE_ERRORS["413"],
                "415": _WRITE_ERRORS["415"],
                **_COMMON_ERRORS,
            },
        }
    },
    "/api/v1/traces/{trace_id}": {
        "get": {
            "operationId": "get_trace",
            "summary": "One trace: its summary, spans and current assessments.",
            "parameters": [_TRACE_ID],
            "responses": {
                "200": _answer("The trace.", _ref("TraceDetail")),
                "404": _error("No span of this trace has arrived (retry if it was just sent)."),
                **_COMMON_ERRORS,
            },
        }
    },
    "/api/v1/traces/{trace_id}/assessments": {
        "get": {
            "operationId": "list_assessments",
            "summary": "The trace's current assessments, or with history=true its whole log.",
            "parameters": [
                _TRACE_ID,
                {
                    "name": "history",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "boolean", "default": False},
                    "description": "Also overridden and deleted rows and the delete rows, oldest first.",
                },
            ],
            "responses": {
                "200": _answer("The assessments, oldest first.", _ref("AssessmentList")),
                "400": _error("history is not true or false."),
                "404": _error("Unknown trace."),
                **_COMMON_ERRORS,
            },
        },
        "post": {
            "operationId": "create_assessment",
            "summary": "Log feedback or an expectation on the trace (or one of its spans).",
            "parameters": [_TRACE_ID],
            "requestBody": _json_body(_ref("AssessmentCreate")),
            "responses": {
                "201": _answer("Stored durably.", _ref("Assessment")),
                "200": _answer("A replay of an assessment_id already stored: the stored object.", _ref("Assessment")),
                "404": _error("Unknown trace (its spans may still be in the app's export queue: retry) or span."),
                **_WRITE_ERRORS,
                **_COMMON_ERRORS,
            },
        },
    },
    "/api/v1/traces/{trace_id}/assessments/{assessment_id}/override": {
        "post": {
            "operationId": "override_assessment",
            "summary": "Supersede a current assessment with a new value (the old one stays in history).",
            "parameters": [_TRACE_ID, _ASSESSMENT_ID],
            "requestBody": _json_body(_ref("AssessmentOverride")),
            "responses": {
                "201": _answer("The new assessment (action override).", _ref("Assessment")),
                "404": _error("Unknown assessment on this trace, or already overridden or deleted."),
                **_WRITE_ERRORS,
                **_COMMON_ERRORS,
            },
        }
    },
    "/api/v1/traces/{trace_id}/assessments/{assessment_id}": {
        "delete": {
            "operationId": "delete_assessment",
            "summary": "Remove an assessment from the current state (a delete row; history keeps it).",
            "parameters": [_TRACE_ID, _ASSESSMENT_ID],
            "requestBody": _json_body(_ref("AssessmentDelete"), required=False),
            "responses": {
                "200": _answer("The delete row.", _ref("Assessment")),
                "404": _error("Unknown assessment on this trace, or already deleted."),
                **_WRITE_ERRORS,
                **_COMMON_ERRORS,
            },
        }
    },
}

# -- labeling (collector/labeling/api_routes.py; docs/labeling.md) ---------------------------------

_SCHEMA_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
                "description": "The label schema's name."}
_SESSION_ID = {"name": "session_id", "in": "path", "required": True,
               "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}, "description": "The session id."}
_SCHEMAS.update({
    "LabelSchema": {
        "type": "object",
        "required": ["name", "type", "title", "input"],
        "properties": {
            "name": {"type": "string", "description": "Also the name of the assessments it produces."},
            "type": {"type": "string", "enum": ["feedback", "expectation"]},
            "title": {"type": "string"},
            "input": {
                "type": "object",
                "required": ["type"],
                "description": "categorical / categorical_list {options}; text {max_length}; "
                "text_list {max_length_each, max_count}; numeric {min_value, max_value}.",
                "properties": {"type": {"type": "string", "enum": ["categorical", "categorical_list", "text",
                                                                   "text_list", "numeric"]}},
            },
            "instruction": _NULLABLE_STRING,
            "enable_comment": {"type": "boolean"},
            "overwrite": {"type": "boolean", "description": "Create only: replace an existing schema."},
        },
    },
    "LabelingSession": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "url": {"type": "string", "description": "The review app's page of the session."},
            "label_schemas": {"type": "array", "items": {"type": "string"}},
            "assigned_users": {"type": "array", "items": {"type": "string"}},
            "created_time": {"type": "string", "format": "date-time"},
            "progress": {"type": "array", "items": {"type": "object"}},
            "agreement": {"type": "array", "items": {"type": "object"}},
        },
    },
    "LabelingItems": {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {
            "trace_id": {"type": "string"}, "position": {"type": "integer"},
            "states": {"type": "object", "additionalProperties": {
                "type": "string", "enum": ["PENDING", "IN_PROGRESS", "COMPLETED", "SKIPPED"]}}}}},
            "added": {"type": "integer"}},
    },
})


def _labeling_op(operation_id: str, summary: str, answer: dict[str, Any], *, parameters: list[Any] | None = None,
                 body: dict[str, Any] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary,
                                 "responses": {"200": _answer("OK.", answer), **_COMMON_ERRORS}}
    if parameters:
        operation["parameters"] = parameters
        operation["responses"]["404"] = _error("No such schema or session.")
    if body is not None:
        operation["requestBody"] = _json_body(body)
        operation["responses"].update({k: v for k, v in _WRITE_ERRORS.items() if k not in ("429", "503")})
    return operation


_OBJECT: dict[str, Any] = {"type": "object"}
_PATHS.update({
    "/api/v1/label-schemas": {
        "get": _labeling_op("list_label_schemas", "Every label schema, built-ins included.", _OBJECT),
        "post": _labeling_op("create_label_schema", "Create a schema (422 if it exists and overwrite is not true).",
                             _ref("LabelSchema"), body=_ref("LabelSchema")),
    },
    "/api/v1/label-schemas/{name}": {
        "get": _labeling_op("get_label_schema", "One schema.", _ref("LabelSchema"), parameters=[_SCHEMA_NAME]),
        "delete": _labeling_op("delete_label_schema", "Delete a schema no session uses.", _OBJECT,
                               parameters=[_SCHEMA_NAME]),
    },
    "/api/v1/labeling-sessions": {
        "get": _labeling_op("list_labeling_sessions", "Sessions (query name= to filter).", _OBJECT),
        "post": _labeling_op("create_labeling_session", "Create a session {name, label_schemas, assigned_users}.",
                             _ref("LabelingSession"), body=_OBJECT),
    },
    "/api/v1/labeling-sessions/{session_id}": {
        "get": _labeling_op("get_labeling_session", "A session with per-reviewer progress and per-schema agreement.",
                            _ref("LabelingSession"), parameters=[_SESSION_ID]),
        "delete": _labeling_op("delete_labeling_session", "Delete a session (its assessments stay).", _OBJECT,
                               parameters=[_SESSION_ID]),
    },
    "/api/v1/labeling-sessions/{session_id}/assigned-users": {
        "put": _labeling_op("set_assigned_users", "Replace the assignees {assigned_users: [...]}.",
                            _ref("LabelingSession"), parameters=[_SESSION_ID], body=_OBJECT),
    },
    "/api/v1/labeling-sessions/{session_id}/items": {
        "get": _labeling_op("list_labeling_items", "Items with each reviewer's state.", _ref("LabelingItems"),
                            parameters=[_SESSION_ID]),
        "post": _labeling_op("add_labeling_items", "Add traces {trace_ids: [...]}.", _ref("LabelingItems"),
                             parameters=[_SESSION_ID], body=_OBJECT),
    },
    "/api/v1/labeling-sessions/{session_id}/traces": {
        "get": _labeling_op("labeling_session_traces", "The session's traces (TraceSummary) and current labels.",
                            _OBJECT, parameters=[_SESSION_ID]),
    },
    "/api/v1/labeling/export": {
        "get": _labeling_op("export_labeling_catalog", "Schemas, sessions, items, states, labels and user names.",
                            _OBJECT),
    },
})

# -- the review app's chat agents (collector/labeling/agent_routes.py; docs/labeling.md "Vibe check") --

_AGENT_NAME = {"name": "agent_name", "in": "path", "required": True, "schema": {"type": "string"},
               "description": "The agent's name."}
_SCHEMAS["Agent"] = {
    "type": "object",
    "required": ["agent_name", "model_serving_endpoint"],
    "properties": {
        "agent_name": {"type": "string"},
        "model_serving_endpoint": {"type": "string", "description": "The OpenAI-compatible base URL."},
        "model": {"type": "string", "description": "The model to ask for (default: the first /models lists)."},
        "created_time": {"type": "string", "format": "date-time"},
    },
}
_PATHS.update({
    "/api/v1/review-app": {
        "get": _labeling_op("get_review_app", "The review app's URL and its agents.", _OBJECT),
    },
    "/api/v1/review-app/agents": {
        "post": _labeling_op("add_agent", "Register an agent (checked with one GET {base}/models; 422 when it fails).",
                             _ref("Agent"), body=_ref("Agent")),
    },
    "/api/v1/review-app/agents/{agent_name}": {
        "delete": _labeling_op("remove_agent", "Forget an agent.", _OBJECT, parameters=[_AGENT_NAME]),
    },
})

OPENAPI_DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "otel-feedback collector REST API",
        "version": "1",
        "description": "Traces, spans and assessments (feedback and expectations) stored by the "
        "otel-feedback collector. Errors are {\"error\": {\"code\", \"message\"}}. See docs/api.md.",
    },
    "servers": [{"url": "/"}],
    "security": [{"bearer": []}, {}],
    "paths": _PATHS,
    "components": {
        "schemas": _SCHEMAS,
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "Required when the collector runs with --token / OTEL_FEEDBACK_TOKEN.",
            }
        },
    },
}
