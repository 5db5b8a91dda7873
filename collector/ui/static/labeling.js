// The Labeling section: the schema and session forms on /labeling, and the "Add to labeling
// session" picker of the traces table. Every write is a same-origin JSON fetch to /api/v1; the
// API's error message is shown as it is.
//
// SECURITY RULE: data reaches the page through textContent / option.text only; nothing here
// assigns innerHTML or evaluates data. The one link built here holds a session id the API
// returned, passed through encodeURIComponent.
"use strict";

(function () {
  const SCHEMAS = "/api/v1/label-schemas";
  const SESSIONS = "/api/v1/labeling-sessions";

  function byId(id) {
    return document.getElementById(id);
  }

  function sessionPath(sessionId) {
    return "/labeling/sessions/" + encodeURIComponent(sessionId);
  }

  const api = window.otelFeedbackApi;  // static/api.js

  // Run ``action`` for a form's submit, showing its error (if any) in ``errorBox``.
  function onSubmit(form, errorBox, action) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      errorBox.textContent = "";
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        await action();
      } catch (error) {
        errorBox.textContent = error.message;
      } finally {
        button.disabled = false;
      }
    });
  }

  // ---- /labeling: schemas ------------------------------------------------------------------

  function optionalNumber(id, what) {
    const raw = byId(id).value.trim();
    if (raw === "") return null;
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new Error(what + " must be a number; got " + raw + ".");
    return value;
  }

  function schemaInput(kind) {
    if (kind === "categorical" || kind === "categorical_list") {
      const options = byId("s-options").value.split("\n").map(function (line) { return line.trim(); })
        .filter(function (line) { return line !== ""; });
      return { type: kind, options: options };
    }
    if (kind === "numeric") {
      return { type: kind, min_value: optionalNumber("s-min", "The minimum"), max_value: optionalNumber("s-max", "The maximum") };
    }
    if (kind === "text") return { type: kind, max_length: optionalNumber("s-max-length", "The maximum length") };
    return {
      type: kind,
      max_length_each: optionalNumber("s-max-length-each", "The maximum length of each"),
      max_count: optionalNumber("s-max-count", "The maximum number of entries"),
    };
  }

  function showInputOptions(kind) {
    document.querySelectorAll("#schema-form .input-options").forEach(function (label) {
      label.hidden = label.dataset.for.split(" ").indexOf(kind) < 0;
    });
  }

  function setupSchemas() {
    const form = byId("schema-form");
    const errorBox = byId("schema-error");
    let editing = null;  // the name of the schema being edited, or null for a new one

    function fill(schema) {
      const input = schema ? schema.input : { type: "categorical" };
      byId("s-name").value = schema ? schema.name : "";
      byId("s-name").readOnly = Boolean(schema);
      byId("s-type").value = schema ? schema.type : "feedback";
      byId("s-title").value = schema ? schema.title : "";
      byId("s-instruction").value = schema && schema.instruction ? schema.instruction : "";
      byId("s-comment").checked = Boolean(schema && schema.enable_comment);
      byId("s-input").value = input.type;
      byId("s-options").value = (input.options || []).join("\n");
      const numbers = { "s-min": input.min_value, "s-max": input.max_value, "s-max-length": input.max_length,
        "s-max-length-each": input.max_length_each, "s-max-count": input.max_count };
      Object.keys(numbers).forEach(function (id) {
        byId(id).value = numbers[id] === null || numbers[id] === undefined ? "" : String(numbers[id]);
      });
      showInputOptions(input.type);
      editing = schema ? schema.name : null;
      byId("schema-form-title").textContent = schema ? "Edit label schema " + schema.name : "New label schema";
      byId("schema-submit").textContent = schema ? "Save" : "Create";
      errorBox.textContent = "";
      form.hidden = false;
      byId(schema ? "s-title" : "s-name").focus();
    }

    byId("new-schema").addEventListener("click", function () { fill(null); });
    byId("schema-cancel").addEventListener("click", function () { form.hidden = true; });
    byId("s-input").addEventListener("change", function () { showInputOptions(byId("s-input").value); });
    document.querySelectorAll(".edit-schema").forEach(function (button) {
      button.addEventListener("click", async function () {
        try {
          fill(await api(SCHEMAS + "/" + encodeURIComponent(button.dataset.name)));
        } catch (error) {
          form.hidden = false;
          errorBox.textContent = error.message;
        }
      });
    });

    onSubmit(form, errorBox, async function () {
      const instruction = byId("s-instruction").value.trim();
      const body = {
        name: byId("s-name").value.trim(),
        type: byId("s-type").value,
        title: byId("s-title").value.trim(),
        instruction: instruction === "" ? null : instruction,
        enable_comment: byId("s-comment").checked,
        input: schemaInput(byId("s-input").value),
        overwrite: editing !== null,
      };
      await api(SCHEMAS, { method: "POST", body: body });
      window.location.reload();
    });
  }

  // ---- /labeling: sessions -----------------------------------------------------------------

  function checkedValues(name) {
    return Array.from(document.querySelectorAll("input[name='" + name + "']:checked"))
      .map(function (box) { return box.value; });
  }

  function setupSessions() {
    const form = byId("session-form");
    const errorBox = byId("session-error");
    byId("new-session").addEventListener("click", function () {
      form.hidden = false;
      byId("ls-name").focus();
    });
    byId("session-cancel").addEventListener("click", function () { form.hidden = true; });
    onSubmit(form, errorBox, async function () {
      const session = await api(SESSIONS, {
        method: "POST",
        body: { name: byId("ls-name").value.trim(), label_schemas: checkedValues("ls-schema"),
          assigned_users: checkedValues("ls-user") },
      });
      window.location.assign(sessionPath(session.id));
    });
  }

  // ---- the traces table: add ticked traces to a session ------------------------------------

  function setupPicker(table) {
    const picker = byId("label-picker");
    const select = byId("label-session");
    const button = byId("label-add");
    const result = byId("label-result");
    const all = byId("pick-all");
    const boxes = function () { return Array.from(table.querySelectorAll("input.pick-trace")); };

    function report(text, failed) {
      result.textContent = text;
      result.classList.toggle("failed", Boolean(failed));
    }

    function refreshButton() {
      const count = boxes().filter(function (box) { return box.checked; }).length;
      button.disabled = count === 0 || select.value === "";
      button.textContent = count ? "Add " + count + " to labeling session" : "Add to labeling session";
    }

    all.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = all.checked; });
      refreshButton();
    });
    table.addEventListener("change", function (event) {
      if (event.target.classList.contains("pick-trace")) refreshButton();
    });
    select.addEventListener("change", refreshButton);

    button.addEventListener("click", async function () {
      const ids = boxes().filter(function (box) { return box.checked; }).map(function (box) { return box.value; });
      const sessionId = select.value;
      const name = select.options[select.selectedIndex].text;
      button.disabled = true;
      report("Adding…", false);
      try {
        const answer = await api(SESSIONS + "/" + encodeURIComponent(sessionId) + "/items",
          { method: "POST", body: { trace_ids: ids } });
        report("", false);
        const skipped = ids.length - answer.added;
        result.appendChild(document.createTextNode(
          "Added " + answer.added + " trace(s) to " + name + (skipped ? " (" + skipped + " were already in it)" : "") + ". "));
        const link = document.createElement("a");
        link.href = sessionPath(sessionId);
        link.id = "label-session-link";
        link.textContent = "Open the session";
        result.appendChild(link);
      } catch (error) {
        report(error.message, true);
      } finally {
        refreshButton();
      }
    });

    api(SESSIONS).then(function (answer) {
      const sessions = answer.labeling_sessions.slice().reverse();  // newest first
      sessions.forEach(function (session) {
        const option = document.createElement("option");
        option.value = session.id;
        option.text = session.name;
        select.appendChild(option);
      });
      if (sessions.length) select.value = sessions[0].id;
      else report("No labeling session yet; create one under Labeling.", false);
      picker.hidden = false;
      refreshButton();
    }).catch(function (error) {
      picker.hidden = false;
      report(error.message, true);
    });
  }

  if (byId("schema-form")) setupSchemas();
  if (byId("session-form")) setupSessions();
  const traces = byId("traces");
  if (traces && byId("label-picker")) setupPicker(traces);
})();
