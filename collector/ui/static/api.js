// The UI's one way to call the REST API: a same-origin JSON fetch whose failure becomes an Error
// carrying the API's own message ({"error": {"message": ...}}), ready to show as text.
"use strict";

window.otelFeedbackApi = async function api(url, options) {
  const init = Object.assign({ headers: { "Accept": "application/json" } }, options || {});
  if (init.body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(init.body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new Error("The collector did not answer; check that it is still running, then retry.");
  }
  let body = null;
  try { body = await response.json(); } catch (error) { body = null; }
  if (!response.ok) {
    const message = body && body.error && body.error.message ? body.error.message
      : "The collector answered " + response.status + "; see its log.";
    throw new Error(message);
  }
  return body;
};
