// Live steps on the status page: appends each real timeline event as it arrives (server-sent events).
(function () {
  "use strict";
  var list = document.getElementById("steps");
  if (!list || !window.EventSource) { return; }
  var source = new EventSource(list.getAttribute("data-events"));
  source.onmessage = function (msg) {
    var step;
    try { step = JSON.parse(msg.data); } catch (e) { return; }
    var li = document.createElement("li");
    li.className = "step actor-" + step.actor;
    var who = document.createElement("span"); who.className = "who"; who.textContent = step.who;
    var label = document.createElement("span"); label.className = "label"; label.textContent = " " + step.label + " ";
    var time = document.createElement("time"); time.setAttribute("datetime", step.at);
    time.textContent = step.when; // formatted by the server in the operator's zone
    li.appendChild(who); li.appendChild(label); li.appendChild(time);
    if (step.details && step.details.length) { // what was checked, worded by the server
      var ul = document.createElement("ul"); ul.className = "checked";
      step.details.forEach(function (d) {
        var item = document.createElement("li"); item.textContent = d; ul.appendChild(item);
      });
      li.appendChild(ul);
    }
    list.appendChild(li);
    refreshNext();
  };

  // The next step and when it is expected: asked again after every live step (texts and times come
  // from the server, in the customer's language and the operator's zone).
  var box = document.getElementById("next-step");
  var pending = null;
  source.addEventListener("next", function () { refreshNext(); }); // resolved, pending, reopened
  function show(id, text, iso) {
    var node = document.getElementById(id);
    if (!node) { return; }
    while (node.firstChild) { node.removeChild(node.firstChild); }
    if (iso) {
      var t = document.createElement("time"); t.setAttribute("datetime", iso); t.textContent = text;
      node.appendChild(t);
    } else {
      node.textContent = text || "";
    }
    node.hidden = !text;
  }
  function refreshNext() {
    if (!box || !window.fetch) { return; }
    if (pending) { clearTimeout(pending); }
    pending = setTimeout(function () { // one request for a burst of steps
      pending = null;
      fetch(box.getAttribute("data-next"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (next) {
          if (!next) { return; }
          box.setAttribute("data-kind", next.kind);
          show("next-text", next.text, null);
          show("next-expected", next.expected, next.expected_at);
          document.getElementById("next-expected").classList.toggle("late", !!next.late);
          show("next-back", next.back, null);
        }, function () { /* the page keeps what it showed */ });
    }, 300);
  }
})();

// Email verification: ask for a code (it goes to the conversation's own address), then enter it.
(function () {
  "use strict";
  var box = document.getElementById("verify");
  if (!box) { return; }
  var result = document.getElementById("verify-result");
  function post(url, body, button) {
    button.disabled = true;
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json(); }).then(function (data) {
      button.disabled = false;
      result.textContent = data.detail || "";
      result.className = "verify-result " + (data.ok ? "ok" : "error");
      if (data.outcome === "verified") {
        box.querySelectorAll("button, input").forEach(function (el) { el.disabled = true; });
      }
    }, function () { button.disabled = false; });
  }
  var send = document.getElementById("verify-send");
  send.addEventListener("click", function () { post(box.getAttribute("data-send"), {}, send); });
  var confirm = document.getElementById("verify-confirm");
  confirm.addEventListener("click", function () {
    post(box.getAttribute("data-confirm"), { code: document.getElementById("verify-code").value }, confirm);
  });
})();
