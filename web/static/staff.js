// Shared helpers for the staff pages (no build step, no inline scripts: the CSP forbids them).
(function () {
  "use strict";
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  // POST JSON (or nothing) with the session's CSRF token; resolves to {ok, status, body}.
  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(), "Accept": "application/json" },
      body: body === undefined ? "{}" : JSON.stringify(body)
    }).then(function (r) {
      return r.text().then(function (t) {
        var parsed = null;
        try { parsed = t ? JSON.parse(t) : null; } catch (e) { parsed = { detail: t }; }
        return { ok: r.ok, status: r.status, body: parsed };
      });
    });
  }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); });
  }
  // Server-sent events with automatic reconnect (EventSource does that itself).
  function live(url, onEvent) {
    var source = new EventSource(url, { withCredentials: true });
    source.onmessage = function (e) {
      var data;
      try { data = JSON.parse(e.data); } catch (err) { return; }
      onEvent(data);
    };
    return source;
  }
  // Text only: never innerHTML with data from customers.
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; }
      else if (k === "class") { node.className = attrs[k]; }
      else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }
  function errorText(result) {
    var d = result && result.body && result.body.detail;
    if (!d) { return "Request failed (HTTP " + (result ? result.status : "?") + ")."; }
    if (typeof d === "string") { return d; }
    return d.map ? d.map(function (x) { return x.msg || JSON.stringify(x); }).join("; ") : JSON.stringify(d);
  }
  window.glassdesk = { csrf: csrf, post: post, getJSON: getJSON, live: live, el: el, errorText: errorText };
})();
