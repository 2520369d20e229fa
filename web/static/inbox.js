// The agent inbox: actions over the JSON API and live updates (SSE). Text only: every value from the
// server goes into the page through textContent (glassdesk.el), never innerHTML.
(function () {
  "use strict";
  var g = window.glassdesk;
  var liveState = document.getElementById("live-state");

  function setLive(text) { if (liveState) { liveState.textContent = text; } }

  // -- the work list ------------------------------------------------------------------------------
  function badge(cls, text) { return g.el("span", { "class": "badge " + cls, text: text }); }

  function rowFor(r) {
    var sla = null;
    if (r.sla) {
      sla = g.el("td", {}, [badge("sla-" + r.sla.state + (r.sla.state === "breached" ? " breach" : ""), r.sla.label),
        document.createTextNode(" "), g.el("time", { datetime: r.sla.at, text: r.sla.text })]);
    } else { sla = g.el("td", {}); }
    var link = g.el("a", { "class": "open", text: r.contact });
    link.setAttribute("href", "/inbox/c/" + encodeURIComponent(r.id));
    return g.el("tr", { "data-conversation-id": r.id }, [
      g.el("td", {}, [badge(r.priority, r.priority)]), sla, g.el("td", {}, [link]),
      g.el("td", {}, [badge("channel", r.channel)]), g.el("td", { text: r.status_label }),
      g.el("td", { text: r.queue }), g.el("td", { text: r.assignee }),
      g.el("td", { "class": "preview", text: r.preview })
    ]);
  }

  function renderList(data) {
    var tbody = document.getElementById("rows");
    if (!tbody) { return; }
    while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
    if (!data.rows.length) {
      tbody.appendChild(g.el("tr", { "class": "empty" }, [g.el("td", { colspan: "8", "class": "muted",
        text: "Nothing is waiting. New conversations appear here live." })]));
    }
    data.rows.forEach(function (r) { tbody.appendChild(rowFor(r)); });
    var list = document.getElementById("queue-list");
    if (!list) { return; }
    while (list.children.length > 1) { list.removeChild(list.lastChild); }
    data.queues.forEach(function (q) {
      var a = g.el("a", { text: q.name });
      a.setAttribute("href", "/inbox?queue=" + encodeURIComponent(q.name));
      if (q.name === data.queue) { a.setAttribute("aria-current", "true"); }
      list.appendChild(g.el("li", {}, [a, document.createTextNode(" "), g.el("span", { "class": "count", text: String(q.waiting) }),
        q.breached ? badge("breach", q.breached + " breached") : null]));
    });
  }

  function startList(root) {
    var queue = root.getAttribute("data-queue") || "";
    var timer = null;
    function refresh() {
      timer = null;
      g.getJSON("/api/inbox/conversations" + (queue ? "?queue=" + encodeURIComponent(queue) : ""))
        .then(renderList, function () { setLive("Could not refresh the list; it retries on the next change."); });
    }
    var source = g.live("/api/inbox/events", function () {
      if (!timer) { timer = setTimeout(refresh, 250); }
    });
    source.onopen = function () { setLive("Live: the list updates by itself."); };
    source.onerror = function () { setLive("Live updates reconnecting…"); };
  }

  // -- one conversation ---------------------------------------------------------------------------
  function startConversation(root) {
    var id = root.getAttribute("data-conversation-id");
    var ids = (root.getAttribute("data-conversation-ids") || "").split(" ");
    var errorBox = document.getElementById("action-error");
    var busy = false;

    function showError(text) {
      errorBox.textContent = text;
      errorBox.hidden = false;
    }
    function dirty() {
      var fields = ["reply-text", "note-text", "reject-comment"].map(function (x) { return document.getElementById(x); });
      var draft = document.getElementById("draft-text");
      if (draft && draft.value !== draft.getAttribute("data-original")) { return true; }
      return fields.some(function (f) { return f && f.value.trim() !== ""; });
    }
    function value(elId) { var e = document.getElementById(elId); return e ? e.value : ""; }

    var bodies = {
      "approve": function () { return {}; },
      "send-edited": function () { return { text: value("draft-text") }; },
      "reject": function () { return { reason: value("reject-reason"), comment: value("reject-comment") }; },
      "take-over": function () { return {}; },
      "hand-back": function () { return {}; },
      "reply": function () {
        return { text: value("reply-text"), client_id: document.getElementById("reply-text").getAttribute("data-client-id") };
      },
      "notes": function () { return { text: value("note-text") }; }
    };

    root.addEventListener("click", function (ev) {
      var button = ev.target.closest ? ev.target.closest("button[data-action]") : null;
      if (!button || busy) { return; }
      var action = button.getAttribute("data-action");
      errorBox.hidden = true;
      if (action === "intent") {
        var item = button.closest("li");
        var select = item.querySelector(".intent-select");
        button.disabled = true;
        g.post("/api/messages/" + encodeURIComponent(button.getAttribute("data-message-id")) + "/intent",
          { intent: select.value }).then(function (r) {
          button.disabled = false;
          if (r.ok) { item.querySelector(".saved").hidden = false; } else { showError(g.errorText(r)); }
        });
        return;
      }
      if (!bodies[action]) { return; }
      var unanswered = parseInt(button.getAttribute("data-unanswered") || "0", 10);
      if (action === "hand-back" && unanswered > 0 &&
          !window.confirm(unanswered + " customer message(s) have no answer yet. OK: the automation answers them " +
                          "now. Cancel: keep the conversation with you.")) {
        return;
      }
      busy = true;
      button.disabled = true;
      g.post("/api/conversations/" + encodeURIComponent(id) + "/" + action, bodies[action]()).then(function (r) {
        busy = false;
        button.disabled = false;
        if (r.ok) { window.location.reload(); return; }
        showError(g.errorText(r));
      }, function () {
        busy = false;
        button.disabled = false;
        showError("The server did not answer. Check the connection and try again.");
      });
    });

    var changed = document.getElementById("changed");
    document.getElementById("reload").addEventListener("click", function () { window.location.reload(); });
    var source = g.live("/api/inbox/events", function (data) {
      if (ids.indexOf(data.conversation_id) < 0 || busy) { return; }
      if (dirty()) { changed.hidden = false; } else { window.location.reload(); }
    });
    source.onopen = function () { setLive("Live: this page updates when the conversation changes."); };
    source.onerror = function () { setLive("Live updates reconnecting…"); };
  }

  var list = document.getElementById("inbox");
  if (list) { startList(list); }
  var conversation = document.getElementById("conversation");
  if (conversation) { startConversation(conversation); }
})();
