// The trace view: a virtual-scrolling span tree with a waterfall, span details loaded on
// selection, and the assessments panel (create / override / delete through /api/v1).
//
// SECURITY RULE: every string that came from a span or an assessment reaches the page through
// textContent or createTextNode only. Nothing here assigns innerHTML, builds a link from data,
// or evaluates data. (The one download, of a long value, is a text/plain Blob saved as a file.)
//
// SIZE RULE: a span value can be megabytes, often one unbroken word (base64); laying that out
// froze the page for minutes. Long strings go through longText(), which lays out the first
// CLIP characters and the rest only on request, a chunk at a time; el() clips anything else.
"use strict";

(function () {
  const view = document.getElementById("trace-view");
  if (!view) return;
  const traceId = view.dataset.traceId;
  const ROW_HEIGHT = 24;
  const OVERSCAN = 15;
  const USER_KEY = "otel-feedback.user";
  const KNOWN_TYPES = new Set(["LLM", "CHAT_MODEL", "CHAIN", "RETRIEVER", "TOOL", "AGENT", "EMBEDDING",
    "RERANKER", "GUARDRAIL", "EVALUATOR", "PARSER", "UNKNOWN"]);

  const tree = document.getElementById("span-tree");
  const spacer = document.getElementById("span-spacer");
  const treeStatus = document.getElementById("tree-status");
  const detail = document.getElementById("span-detail");
  const list = document.getElementById("assessment-list");
  const target = document.getElementById("assessment-target");
  const form = document.getElementById("assessment-form");
  const rowsLayer = document.createElement("div");
  rowsLayer.className = "tree-rows";
  tree.appendChild(rowsLayer);

  const state = { nodes: [], byId: new Map(), roots: [], visible: [], selected: null, duration: 1,
    log: [], formMode: null, renderQueued: false, valueTypes: {},
    // Span search: the ids that match (null: no search) and those shown around them (their ancestors).
    hits: null, shown: null };

  // ---- small helpers -------------------------------------------------------------------

  const CLIP = 10000;  // characters of a long value shown at first
  const MORE = 100000;  // characters added per "Show more"
  const HARD_CLIP = 50000;  // el() never lays out more than this
  const NAME_CLIP = 300;  // characters of a span name in the tree, the details and the panel title
  const JSON_ENTRIES = 500;  // entries of one JSON object or array shown at a time

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) {
      const value = String(text);
      node.textContent = value.length > HARD_CLIP ? value.slice(0, HARD_CLIP) + " … (clipped)" : value;
    }
    return node;
  }

  // A name or title: at most NAME_CLIP characters (the rest is in the span's attributes).
  function shortText(text) {
    const value = text === undefined || text === null ? "" : String(text);
    return value.length > NAME_CLIP ? value.slice(0, NAME_CLIP) + "…" : value;
  }

  function button(text, onClick) {
    const node = el("button", "link-button", text);
    node.type = "button";
    node.addEventListener("click", onClick);
    return node;
  }

  function formatSize(characters) {
    if (characters >= 1048576) return (characters / 1048576).toFixed(1) + " M characters";
    if (characters >= 1024) return Math.round(characters / 1024) + " K characters";
    return characters + " characters";
  }

  // A value as text in a <tag class=className>: the first CLIP characters, then "Show more"
  // (MORE characters at a time) and "Download" (the whole value as a .txt file).
  function longText(tag, className, text) {
    const value = String(text);
    if (value.length <= CLIP) return el(tag, className, value);
    const inline = tag === "span";
    const box = el(inline ? "span" : "div", "long-value");
    const shown = el(tag, className, value.slice(0, CLIP));
    box.appendChild(shown);
    const controls = el(inline ? "span" : "div", "long-controls");
    const note = el("span", "long-note");
    let length = CLIP;
    const more = button("", () => {
      const next = Math.min(length + MORE, value.length);
      shown.appendChild(document.createTextNode(value.slice(length, next)));
      length = next;
      update();
    });
    const download = button("Download all (" + formatSize(value.length) + ")", () => {
      const url = URL.createObjectURL(new Blob([value], { type: "text/plain;charset=utf-8" }));
      const link = document.createElement("a");
      link.href = url;
      link.download = "value.txt";
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    });
    function update() {
      note.textContent = "Showing " + length.toLocaleString("en") + " of " + value.length.toLocaleString("en") + " characters. ";
      const next = Math.min(MORE, value.length - length);
      more.textContent = "Show " + formatSize(next) + " more";
      more.hidden = next <= 0;
    }
    update();
    controls.appendChild(note);
    controls.appendChild(more);
    controls.appendChild(download);
    box.appendChild(controls);
    return box;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  const api = window.otelFeedbackApi;  // static/api.js

  function formatDuration(ms) {
    if (ms === null || ms === undefined) return "";
    // Under a millisecond in microseconds: "0.00032 ms" did not fit the waterfall's label.
    if (ms < 0.001) return "<1 µs";
    if (ms < 1) return Math.round(ms * 1000) + " µs";
    if (ms < 1000) return Math.round(ms) + " ms";
    return (ms / 1000).toFixed(2) + " s";
  }

  // A span without a declared type (a bare @trace function, or another tool's plain span) gets
  // no badge: a grey "UNKNOWN" said nothing and took room from the name.
  function badge(type) {
    if (!type || type === "UNKNOWN") return document.createTextNode("");
    return el("span", "badge badge-" + (KNOWN_TYPES.has(type) ? type : "OTHER"), type);
  }

  function formatValue(value) {
    if (value === true) return "👍 true";
    if (value === false) return "👎 false";
    if (typeof value === "string") return value;
    return JSON.stringify(value);
  }

  // ---- the span tree -------------------------------------------------------------------

  async function loadSpans() {
    let data;
    try {
      data = await api("/ui/api/traces/" + traceId + "/spans");
    } catch (error) {
      treeStatus.textContent = error.message;
      treeStatus.classList.add("error");
      return;
    }
    const columns = data.columns;
    const at = (name) => columns.indexOf(name);
    const [iId, iParent, iName, iType, iStart, iDur, iStatus] =
      ["span_id", "parent_span_id", "name", "span_type", "start_ms", "duration_ms", "status"].map(at);
    state.duration = Math.max(data.duration_ms, 0.001);
    for (const row of data.spans) {
      const node = { id: row[iId], parent: row[iParent], name: row[iName], type: row[iType],
        start: row[iStart], dur: row[iDur], status: row[iStatus], children: [], depth: 0, collapsed: false };
      state.nodes.push(node);
      state.byId.set(node.id, node);
    }
    for (const node of state.nodes) {  // rows arrive in start order, so children stay ordered
      const parent = node.parent ? state.byId.get(node.parent) : undefined;
      if (parent && parent !== node) parent.children.push(node); else state.roots.push(node);
    }
    const stack = state.roots.map((node) => [node, 0]);
    while (stack.length) {
      const [node, depth] = stack.pop();
      node.depth = depth;
      for (const child of node.children) stack.push([child, depth + 1]);
    }
    rebuildVisible();
    if (state.roots.length) select(state.roots[0]);
  }

  function rebuildVisible() {
    const visible = [];
    const stack = state.roots.slice().reverse();
    while (stack.length) {
      const node = stack.pop();
      if (state.shown && !state.shown.has(node.id)) continue;
      visible.push(node);
      // During a search every match shows, folded or not.
      if (!node.collapsed || state.shown) for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]);
    }
    state.visible = visible;
    spacer.style.height = (visible.length * ROW_HEIGHT) + "px";
    scheduleRender();
  }

  function scheduleRender() {
    if (state.renderQueued) return;
    state.renderQueued = true;
    requestAnimationFrame(() => { state.renderQueued = false; renderRows(); });
  }

  function renderRows() {
    const first = Math.max(0, Math.floor(tree.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(state.visible.length, Math.ceil((tree.scrollTop + tree.clientHeight) / ROW_HEIGHT) + OVERSCAN);
    const fragment = document.createDocumentFragment();
    for (let index = first; index < last; index++) fragment.appendChild(spanRow(state.visible[index], index));
    clear(rowsLayer);
    rowsLayer.appendChild(fragment);
    // The rows in view, without the overscan drawn above and below it.
    const shownFirst = Math.min(state.visible.length, Math.floor(tree.scrollTop / ROW_HEIGHT) + 1);
    const shownLast = Math.min(state.visible.length, Math.ceil((tree.scrollTop + tree.clientHeight) / ROW_HEIGHT));
    treeStatus.textContent = state.nodes.length + " spans" +
      (state.visible.length !== state.nodes.length ? " (" + state.visible.length + " shown)" : "") +
      " · rows " + shownFirst + "–" + shownLast;
  }

  function spanRow(node, index) {
    const row = el("div", "span-row" + (node === state.selected ? " selected" : "") + (node.status === "ERROR" ? " error" : "") +
      (state.hits ? (state.hits.has(node.id) ? " search-hit" : " search-context") : ""));
    row.style.top = (index * ROW_HEIGHT) + "px";
    row.dataset.index = String(index);
    row.setAttribute("role", "treeitem");
    const label = el("div", "span-label");
    label.style.paddingLeft = (4 + node.depth * 14) + "px";
    const toggle = el("span", "toggle", node.children.length ? (node.collapsed ? "▸" : "▾") : "");
    if (node.children.length) {
      toggle.addEventListener("click", (event) => { event.stopPropagation(); toggleNode(node); });
    }
    label.appendChild(toggle);
    label.appendChild(badge(node.type));
    label.appendChild(el("span", "span-name", shortText(node.name)));
    row.appendChild(label);
    const barCell = el("div", "span-bar-cell");
    const bar = el("div", "span-bar" + (node.status === "ERROR" ? " bar-error" : ""));
    bar.style.left = (100 * node.start / state.duration) + "%";
    bar.style.width = Math.max(0.3, 100 * node.dur / state.duration) + "%";
    barCell.appendChild(bar);
    barCell.appendChild(el("span", "span-duration", formatDuration(node.dur)));
    row.appendChild(barCell);
    row.addEventListener("click", () => select(node));
    return row;
  }

  function toggleNode(node, collapsed) {
    if (!node.children.length) return;
    node.collapsed = collapsed === undefined ? !node.collapsed : collapsed;
    rebuildVisible();
  }

  function scrollIntoView(node) {
    const index = state.visible.indexOf(node);
    if (index < 0) return;
    const top = index * ROW_HEIGHT;
    if (top < tree.scrollTop) tree.scrollTop = top;
    else if (top + ROW_HEIGHT > tree.scrollTop + tree.clientHeight) tree.scrollTop = top + ROW_HEIGHT - tree.clientHeight;
  }

  tree.addEventListener("scroll", scheduleRender, { passive: true });
  window.addEventListener("resize", scheduleRender);
  tree.addEventListener("keydown", (event) => {
    const node = state.selected;
    if (!node) return;
    const index = state.visible.indexOf(node);
    let next = null;
    if (event.key === "ArrowDown") next = state.visible[index + 1];
    else if (event.key === "ArrowUp") next = state.visible[index - 1];
    else if (event.key === "ArrowRight") { toggleNode(node, false); event.preventDefault(); return; }
    else if (event.key === "ArrowLeft") {
      if (node.children.length && !node.collapsed) toggleNode(node, true);
      else if (node.parent && state.byId.has(node.parent)) next = state.byId.get(node.parent);
    } else if (event.key === "Home") next = state.visible[0];
    else if (event.key === "End") next = state.visible[state.visible.length - 1];
    else return;
    event.preventDefault();
    if (next) { select(next); scrollIntoView(next); }
  });

  // ---- span search ---------------------------------------------------------------------
  // The server matches name, type, input and output (the compact list has no bodies); the
  // tree then shows the matches and their ancestors. Enter or ↓ goes to the first match,
  // Escape clears.

  const searchInput = document.getElementById("span-search-input");
  const searchCount = document.getElementById("span-search-count");
  let searchTicket = 0;
  let searchTimer = null;

  function applySearch(ids) {
    if (ids === null) {
      state.hits = null;
      state.shown = null;
      searchCount.textContent = "";
    } else {
      state.hits = new Set(ids);
      state.shown = new Set();
      for (const id of ids) {
        let node = state.byId.get(id);
        while (node && !state.shown.has(node.id)) {
          state.shown.add(node.id);
          node = node.parent ? state.byId.get(node.parent) : undefined;
        }
      }
      searchCount.textContent = ids.length + " of " + state.nodes.length + " spans match";
    }
    tree.scrollTop = 0;
    rebuildVisible();
  }

  async function runSearch() {
    const text = searchInput.value.trim();
    const ticket = ++searchTicket;
    if (!text) { applySearch(null); return; }
    searchCount.textContent = "Searching…";
    try {
      const data = await api("/ui/api/traces/" + traceId + "/span-search?q=" + encodeURIComponent(text));
      if (ticket === searchTicket) applySearch(data.span_ids);
    } catch (error) {
      if (ticket === searchTicket) searchCount.textContent = error.message;
    }
  }

  function firstHit() {
    return state.visible.find((node) => state.hits && state.hits.has(node.id));
  }

  if (searchInput) {
    document.getElementById("span-search").addEventListener("submit", (event) => event.preventDefault());
    searchInput.addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(runSearch, 200);
    });
    searchInput.addEventListener("keydown", async (event) => {
      if (event.key === "Escape") {
        searchInput.value = "";
        clearTimeout(searchTimer);
        await runSearch();
      } else if (event.key === "Enter" || event.key === "ArrowDown") {
        event.preventDefault();
        clearTimeout(searchTimer);
        if (event.key === "Enter" || !state.hits) await runSearch();
        const hit = firstHit();
        if (hit) { select(hit); scrollIntoView(hit); tree.focus(); }
      }
    });
  }

  // ---- span details --------------------------------------------------------------------

  let detailRequest = 0;

  async function select(node) {
    state.selected = node;
    scheduleRender();
    renderAssessments();
    const ticket = ++detailRequest;
    clear(detail);
    detail.appendChild(el("div", "empty", "Loading span…"));
    try {
      const data = await api("/ui/api/traces/" + traceId + "/spans/" + node.id);
      if (ticket === detailRequest) renderDetail(data.span, data.cost_text);
    } catch (error) {
      if (ticket !== detailRequest) return;
      clear(detail);
      detail.appendChild(el("div", "error", error.message));
    }
  }

  function section(title, content, open) {
    const box = el("details", "detail-section");
    box.open = open !== false;
    box.appendChild(el("summary", "", title));
    box.appendChild(content);
    return box;
  }

  function renderDetail(span, costText) {
    clear(detail);
    const head = el("div", "detail-head");
    head.appendChild(badge(span.span_type));
    head.appendChild(el("span", "detail-name", shortText(span.name)));
    head.appendChild(el("span", "detail-meta", formatDuration(span.duration_ms) + " · " + (span.status_code || "UNSET") +
      (span.model ? " · " + span.model : "") + (span.total_tokens ? " · " + span.total_tokens + " tokens" : "")));
    if (costText) head.appendChild(el("span", "detail-meta span-cost", costText));
    detail.appendChild(head);
    detail.appendChild(el("div", "detail-ids mono", "span " + span.span_id + (span.parent_span_id ? " · parent " + span.parent_span_id : "")));
    if (span.status_message) detail.appendChild(el("div", "error", span.status_code + ": " + span.status_message));
    const events = Array.isArray(span.events) ? span.events : [];
    for (const event of events) {
      if (event.name !== "exception") continue;
      const attributes = event.attributes || {};
      const box = el("div", "exception");
      box.appendChild(el("div", "exception-title", (attributes["exception.type"] || "Exception") + ": " + (attributes["exception.message"] || "")));
      if (attributes["exception.stacktrace"]) box.appendChild(longText("pre", "stack", attributes["exception.stacktrace"]));
      detail.appendChild(section("Exception", box));
    }
    if (span.input !== null && span.input !== undefined) detail.appendChild(section("Inputs", renderPayload(span.input)));
    if (span.output !== null && span.output !== undefined) detail.appendChild(section("Outputs", renderPayload(span.output)));
    detail.appendChild(section("Attributes", attributeTable(span.attributes || {})));
    if (events.length) {
      const box = el("div", "events");
      for (const event of events) {
        const item = el("div", "event");
        item.appendChild(el("div", "event-name", event.name + (event.time_unix_nano ? "  +" +
          formatDuration((event.time_unix_nano - span.start_time_unix_nano) / 1e6) : "")));
        item.appendChild(attributeTable(event.attributes || {}));
        box.appendChild(item);
      }
      detail.appendChild(section("Events (" + events.length + ")", box, false));
    }
    detail.appendChild(section("Resource", attributeTable(span.resource_attributes || {}), false));
  }

  function parseMaybeJson(value) {
    if (typeof value !== "string") return value;
    const text = value.trim();
    if (!(text.startsWith("{") || text.startsWith("["))) return value;
    try { return JSON.parse(text); } catch (error) { return value; }
  }

  function chatMessages(value) {
    const isMessage = (item) => item && typeof item === "object" && !Array.isArray(item) && typeof item.role === "string";
    if (Array.isArray(value) && value.length && value.every(isMessage)) return value;
    if (value && typeof value === "object") {
      if (Array.isArray(value.messages) && value.messages.length && value.messages.every(isMessage)) return value.messages;
      if (Array.isArray(value.choices)) {
        const messages = value.choices.map((choice) => choice && choice.message).filter(isMessage);
        if (messages.length) return messages;
      }
    }
    return null;
  }

  function messageText(content) {
    if (typeof content === "string") return content;
    if (Array.isArray(content)) {
      return content.map((part) => (part && typeof part.text === "string") ? part.text : JSON.stringify(part)).join("\n");
    }
    return content === null || content === undefined ? "" : JSON.stringify(content, null, 2);
  }

  function renderPayload(raw) {
    const value = parseMaybeJson(raw);
    const box = el("div", "payload");
    const messages = chatMessages(value);
    if (messages) {
      const chat = el("div", "chat");
      for (const message of messages) {
        const bubble = el("div", "message message-" + (["system", "user", "assistant", "tool"].includes(message.role) ? message.role : "other"));
        bubble.appendChild(el("div", "role", message.role));
        bubble.appendChild(longText("div", "content", messageText(message.content)));
        if (message.tool_calls) bubble.appendChild(jsonTree(message.tool_calls, 1));
        chat.appendChild(bubble);
      }
      box.appendChild(chat);
      box.appendChild(section("Raw JSON", jsonTree(value, 0), false));
    } else if (value !== null && typeof value === "object") {
      box.appendChild(jsonTree(value, 0));
    } else {
      box.appendChild(longText("pre", "text", String(value)));
    }
    return box;
  }

  function jsonTree(value, depth) {
    if (value === null || typeof value !== "object") {
      const kind = value === null ? "null" : typeof value;
      return longText("span", "json-" + kind, typeof value === "string" ? JSON.stringify(value) : String(value));
    }
    const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item]) : Object.entries(value);
    const box = el("details", "json");
    box.open = depth < 3;
    box.appendChild(el("summary", "json-summary", Array.isArray(value) ? "[" + entries.length + " items]" : "{" + entries.length + " keys}"));
    // Entries are laid out JSON_ENTRIES at a time, for the same reason as longText().
    let shown = 0;
    const more = button("", () => addEntries());
    function addEntries() {
      const end = Math.min(shown + JSON_ENTRIES, entries.length);
      for (const [key, item] of entries.slice(shown, end)) {
        const line = el("div", "json-line");
        line.appendChild(el("span", "json-key", key + ": "));
        line.appendChild(jsonTree(item, depth + 1));
        box.insertBefore(line, more);
      }
      shown = end;
      more.textContent = "Show " + Math.min(JSON_ENTRIES, entries.length - shown) + " more of " + (entries.length - shown);
      more.hidden = shown >= entries.length;
    }
    box.appendChild(more);
    addEntries();
    return box;
  }

  function attributeTable(attributes) {
    const keys = Object.keys(attributes).sort();
    if (!keys.length) return el("div", "muted", "none");
    const table = el("table", "attributes");
    for (const key of keys) {
      const row = el("tr");
      row.appendChild(el("th", "", key));
      const cell = el("td");
      const value = parseMaybeJson(attributes[key]);
      if (value !== null && typeof value === "object") cell.appendChild(jsonTree(value, 2));
      else cell.appendChild(longText("span", "attr-value", typeof value === "string" ? value : JSON.stringify(value)));
      row.appendChild(cell);
      table.appendChild(row);
    }
    return table;
  }

  // ---- assessments ---------------------------------------------------------------------

  async function loadAssessments() {
    try {
      const data = await api("/api/v1/traces/" + traceId + "/assessments?history=true");
      state.log = data.assessments;
    } catch (error) {
      clear(list);
      list.appendChild(el("div", "error", error.message));
      return;
    }
    renderAssessments();
  }

  async function loadNames() {
    try {
      const data = await api("/ui/api/assessment-names");
      state.valueTypes = data.value_types || {};
      const datalist = document.getElementById("assessment-names");
      clear(datalist);
      for (const name of data.names) {
        const option = document.createElement("option");
        option.value = name;
        datalist.appendChild(option);
      }
    } catch (error) { /* suggestions are optional */ }
  }

  function isRootSelected() {
    return !state.selected || state.roots[0] === state.selected;
  }

  function targetSpanId() {
    return isRootSelected() ? null : state.selected.id;
  }

  function renderAssessments() {
    const replaced = new Map();
    for (const row of state.log) if (row.overrides) replaced.set(row.overrides, row);
    const current = state.log.filter((row) => row.action !== "delete" && !replaced.has(row.assessment_id));
    const rootId = state.roots.length ? state.roots[0].id : null;
    const mine = current.filter((row) => isRootSelected()
      ? (row.span_id === null || row.span_id === rootId) : row.span_id === state.selected.id);
    target.textContent = isRootSelected() ? "· whole trace (root span)" : "· span " + shortText(state.selected.name);
    clear(list);
    if (!mine.length) {
      list.appendChild(el("div", "empty", "No assessments here yet. Press \"Add assessment\" to record one."));
    }
    const byId = new Map(state.log.map((row) => [row.assessment_id, row]));
    for (const row of mine.slice().reverse()) list.appendChild(assessmentItem(row, byId));
    const elsewhere = current.length - mine.length;
    if (elsewhere > 0) list.appendChild(el("div", "muted", elsewhere + " more on other spans of this trace."));
  }

  function assessmentItem(row, byId) {
    const item = el("div", "assessment-item");
    item.dataset.name = row.name;
    item.dataset.assessmentId = row.assessment_id;
    const head = el("div", "assessment-head");
    head.appendChild(el("span", "assessment-name", row.name));
    head.appendChild(el("span", "assessment-value value-" + (row.value === true ? "up" : row.value === false ? "down" : "other"), formatValue(row.value)));
    head.appendChild(el("span", "kind", row.type));
    item.appendChild(head);
    if (row.rationale) item.appendChild(el("div", "rationale", row.rationale));
    if (row.error) item.appendChild(el("div", "error", row.error));
    item.appendChild(el("div", "source", sourceText(row)));
    const buttons = el("div", "assessment-buttons");
    const edit = el("button", "small-button edit", "Edit");
    edit.type = "button";
    edit.addEventListener("click", () => openForm({ kind: "edit", row }));
    const remove = el("button", "small-button delete", "Delete");
    remove.type = "button";
    remove.addEventListener("click", () => confirmDelete(buttons, row));
    buttons.appendChild(edit);
    buttons.appendChild(remove);
    item.appendChild(buttons);
    const history = [];
    let older = row.overrides ? byId.get(row.overrides) : undefined;
    while (older && history.length < 100) { history.push(older); older = older.overrides ? byId.get(older.overrides) : undefined; }
    if (history.length) {
      const box = el("details", "history");
      box.appendChild(el("summary", "", "History (" + history.length + " earlier)"));
      for (const old of history) {
        const line = el("div", "history-row");
        line.appendChild(el("span", "assessment-value", formatValue(old.value)));
        if (old.rationale) line.appendChild(el("span", "rationale", " — " + old.rationale));
        line.appendChild(el("div", "source", sourceText(old)));
        box.appendChild(line);
      }
      item.appendChild(box);
    }
    return item;
  }

  function sourceText(row) {
    const source = row.source || {};
    return (source.source_type || "") + " · " + (source.source_id || "") + " · " + (row.create_time || "").replace("T", " ").replace(/\.\d+Z$/, "Z");
  }

  function confirmDelete(buttons, row) {
    clear(buttons);
    buttons.appendChild(el("span", "confirm", "Delete " + row.name + "?"));
    const yes = el("button", "small-button danger confirm-delete", "Yes, delete");
    yes.type = "button";
    const no = el("button", "small-button", "Keep");
    no.type = "button";
    yes.addEventListener("click", async () => {
      try {
        await api("/api/v1/traces/" + traceId + "/assessments/" + row.assessment_id, {
          method: "DELETE", body: { source: { source_type: "HUMAN", source_id: currentUser() } } });
        await loadAssessments();
      } catch (error) {
        buttons.appendChild(el("div", "error", error.message));
      }
    });
    no.addEventListener("click", () => renderAssessments());
    buttons.appendChild(yes);
    buttons.appendChild(no);
  }

  // ---- the add / edit form -------------------------------------------------------------

  const fType = document.getElementById("f-type");
  const fName = document.getElementById("f-name");
  const fValueType = document.getElementById("f-value-type");
  const fBool = document.getElementById("f-value-bool");
  const fValue = document.getElementById("f-value");
  const fRationale = document.getElementById("f-rationale");
  const fUser = document.getElementById("f-user");
  const fError = document.getElementById("form-error");

  function currentUser() {
    let name = "";
    try { name = localStorage.getItem(USER_KEY) || ""; } catch (error) { name = ""; }
    return name.trim() || "developer";
  }

  function syncValueInput() {
    const isBool = fValueType.value === "boolean";
    fBool.hidden = !isBool;
    fValue.hidden = isBool;
    fValue.rows = fValueType.value === "json" ? 4 : 1;
  }

  function valueTypeOf(value) {
    if (typeof value === "boolean") return "boolean";
    if (typeof value === "number") return "number";
    if (typeof value === "string") return "text";
    return "json";
  }

  function openForm(mode) {
    state.formMode = mode;
    form.hidden = false;
    fError.textContent = "";
    fUser.value = currentUser();
    const editing = mode.kind === "edit";
    fType.disabled = editing;
    fName.disabled = editing;
    const title = document.getElementById("form-title");
    clear(title);
    if (editing) {
      // Two entries can share a name (two people's accuracy_score): say which one this is.
      title.appendChild(el("span", "", "Edit " + mode.row.name + " "));
      title.appendChild(el("span", "which", "(" + sourceText(mode.row) + "; stored as an override, the old value stays in the history)"));
    } else {
      title.textContent = "New assessment";
    }
    document.getElementById("f-submit").textContent = editing ? "Save" : "Create";
    if (editing) {
      const row = mode.row;
      fType.value = row.type;
      fName.value = row.name;
      fValueType.value = valueTypeOf(row.value);
      if (typeof row.value === "boolean") fBool.value = String(row.value);
      else fValue.value = typeof row.value === "string" ? row.value : JSON.stringify(row.value, null, 2);
      fRationale.value = row.rationale || "";
    } else {
      fName.value = "";
      fValue.value = "";
      fRationale.value = "";
      fValueType.value = "boolean";
    }
    syncValueInput();
    // On a phone the form sits below the span's details: bring it to the reader.
    form.scrollIntoView({ block: "nearest" });
    (editing ? fRationale : fName).focus({ preventScroll: true });
  }

  function readValue() {
    const kind = fValueType.value;
    if (kind === "boolean") return fBool.value === "true";
    const text = fValue.value.trim();
    if (kind === "number") {
      const number = Number(text);
      if (text === "" || !Number.isFinite(number)) throw new Error("Write a number for the value, e.g. 0.75.");
      return number;
    }
    if (kind === "text") {
      if (text === "") throw new Error("Write the value's text.");
      return fValue.value;
    }
    try { return JSON.parse(text); } catch (error) {
      throw new Error("The value is not valid JSON: " + error.message + ". Check quotes and brackets.");
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    fError.textContent = "";
    let value;
    try { value = readValue(); } catch (error) { fError.textContent = error.message; return; }
    const user = fUser.value.trim() || "developer";
    try { localStorage.setItem(USER_KEY, user); } catch (error) { /* private mode: keep going */ }
    const source = { source_type: "HUMAN", source_id: user };
    const rationale = fRationale.value.trim() || null;
    const mode = state.formMode || { kind: "create" };
    const submit = document.getElementById("f-submit");
    submit.disabled = true;
    try {
      if (mode.kind === "edit") {
        await api("/api/v1/traces/" + traceId + "/assessments/" + mode.row.assessment_id + "/override", {
          method: "POST", body: { value, rationale, source } });
      } else {
        await api("/api/v1/traces/" + traceId + "/assessments", {
          method: "POST",
          body: { name: fName.value.trim(), type: fType.value, value, rationale, source, span_id: targetSpanId() } });
      }
      form.hidden = true;
      state.formMode = null;
      await Promise.all([loadAssessments(), loadNames()]);
    } catch (error) {
      fError.textContent = error.message;
    } finally {
      submit.disabled = false;
    }
  });

  fValueType.addEventListener("change", syncValueInput);
  // A name already in use starts on the type of its values (accuracy_score: number).
  fName.addEventListener("input", () => {
    const known = state.valueTypes[fName.value.trim()];
    if (known && state.formMode && state.formMode.kind !== "edit") { fValueType.value = known; syncValueInput(); }
  });
  document.getElementById("f-cancel").addEventListener("click", () => { form.hidden = true; state.formMode = null; });
  document.getElementById("add-assessment").addEventListener("click", () => openForm({ kind: "create" }));

  loadSpans();
  loadAssessments();
  loadNames();
})();
