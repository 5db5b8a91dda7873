// The review app's chat page: sends each turn to the review app (which calls the agent), shows
// the answer as it streams, and puts the feedback controls under every answer. Text from the
// agent or the reviewer is only ever set as textContent, never parsed as HTML.
(function () {
  "use strict";
  const chat = document.getElementById("chat");
  if (!chat) return;
  const endpoint = chat.dataset.endpoint;
  const agent = chat.dataset.agent;
  const sessionId = chat.dataset.session;
  const token = chat.dataset.token;
  const list = document.getElementById("conversation");
  const composer = document.getElementById("composer");
  const input = document.getElementById("message");
  const send = document.getElementById("send");
  const messages = [];
  let answers = 0;

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  async function post(path, body) {
    return fetch(endpoint + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify({ agent: agent, session_id: sessionId, ...body }),
    });
  }

  async function errorOf(response) {
    try {
      const body = await response.json();
      if (body && body.error) return body.error;
    } catch (_ignored) { /* not JSON: say the status */ }
    return "The review app answered HTTP " + response.status + ".";
  }

  function addTurn(role, who) {
    const item = element("li", "turn " + role);
    item.appendChild(element("div", "who", who));
    const text = element("pre", "text");
    item.appendChild(text);
    list.appendChild(item);
    return { item: item, text: text };
  }

  function showError(turn, message) {
    const note = element("p", "error", message);
    note.setAttribute("role", "alert");
    turn.item.appendChild(note);
  }

  function feedbackControls(turn, traceId, number) {
    const group = element("div", "verdict");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Feedback on answer " + number);
    let verdict = null;
    const choices = element("div", "actions");
    const good = element("button", "", "Good answer");
    const bad = element("button", "", "Bad answer");
    for (const [button, value] of [[good, "good"], [bad, "bad"]]) {
      button.type = "button";
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", () => {
        verdict = value;
        good.setAttribute("aria-pressed", String(value === "good"));
        bad.setAttribute("aria-pressed", String(value === "bad"));
      });
      choices.appendChild(button);
    }
    group.appendChild(choices);
    const comment = field(group, "Comment", "comment-" + number, 2);
    const expected = field(group, "What should it have said?", "expected-" + number, 3);
    const save = element("button", "primary", "Save feedback");
    save.type = "button";
    const status = element("span", "status");
    status.setAttribute("role", "status");
    save.addEventListener("click", async () => {
      if (!verdict) { status.textContent = "Choose Good answer or Bad answer first."; return; }
      save.disabled = true;
      status.textContent = "Saving…";
      try {
        const response = await post("/feedback", {
          trace_id: traceId, verdict: verdict, comment: comment.value, expected_response: expected.value,
        });
        status.textContent = response.ok ? "Saved." : await errorOf(response);
      } catch (_error) {
        status.textContent = "The review app did not answer; check the connection and save again.";
      } finally {
        save.disabled = false;
      }
    });
    const actions = element("div", "actions");
    actions.appendChild(save);
    actions.appendChild(status);
    group.appendChild(actions);
    turn.item.appendChild(group);
  }

  function field(group, label, id, rows) {
    const name = element("label", "", label);
    name.htmlFor = id;
    const box = element("textarea");
    box.id = id;
    box.rows = rows;
    group.appendChild(name);
    group.appendChild(box);
    return box;
  }

  async function converse(text) {
    messages.push({ role: "user", content: text });
    addTurn("user", "You").text.textContent = text;
    const turn = addTurn("assistant", agent);
    answers += 1;
    const number = answers;
    turn.item.setAttribute("aria-busy", "true");
    let traceId = null;
    let answer = "";
    try {
      const response = await post("/turns", { messages: messages });
      if (!response.ok) { showError(turn, await errorOf(response)); return; }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 1);
          if (!line.trim()) continue;
          const event = JSON.parse(line);
          if (event.trace_id) traceId = event.trace_id;
          if (typeof event.delta === "string") { answer += event.delta; turn.text.textContent = answer; }
          if (event.error) showError(turn, event.error);
        }
      }
      if (answer) messages.push({ role: "assistant", content: answer });
    } catch (_error) {
      showError(turn, "The review app did not answer; check the connection and send again.");
    } finally {
      turn.item.removeAttribute("aria-busy");
      if (traceId) feedbackControls(turn, traceId, number);
    }
  }

  composer.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send.disabled = true;
    try {
      await converse(text);
    } finally {
      send.disabled = false;
      input.focus();
    }
  });
})();
