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
    var sla = g.el("td", { "class": "sla" });
    if (r.sla) {
      sla.appendChild(badge("sla-" + r.sla.state + (r.sla.state === "breached" ? " breach" : ""), r.sla.label));
      sla.appendChild(document.createTextNode(" "));
      sla.appendChild(r.sla.at ? g.el("time", { datetime: r.sla.at, text: r.sla.text })
                               : g.el("span", { "class": "muted", text: r.sla.text }));
    }
    var link = g.el("a", { "class": "open", text: r.contact });
    link.setAttribute("href", "/inbox/c/" + encodeURIComponent(r.id));
    var action = g.el("td", {});
    if (r.can_resolve) {
      action.appendChild(g.el("button", { type: "button", "class": "resolve", "data-resolve": r.id, text: "Resolve" }));
    }
    return g.el("tr", { "data-conversation-id": r.id, "data-state": r.desk_state }, [
      g.el("td", { "class": "ticket", text: r.ticket }),
      g.el("td", {}, [badge(r.priority, r.priority)]), sla, g.el("td", {}, [link]),
      g.el("td", {}, [badge("channel", r.channel)]),
      g.el("td", { "class": "state" }, [badge("state-" + r.desk_state, r.state_label)]),
      g.el("td", { text: r.status_label }),
      g.el("td", { text: r.queue }), g.el("td", { "class": "assignee", text: r.assignee }),
      g.el("td", { "class": "preview", text: r.preview }),
      g.el("td", { "class": "updated" }, [g.el("time", { datetime: r.updated_at, text: r.updated })]),
      action
    ]);
  }

  function renderList(data) {
    var tbody = document.getElementById("rows");
    if (!tbody) { return; }
    while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
    if (!data.rows.length) {
      tbody.appendChild(g.el("tr", { "class": "empty" }, [g.el("td", { colspan: "12", "class": "muted",
        text: data.params && data.params.q ? "Nothing matches this search."
                                           : "Nothing is waiting. New conversations appear here live." })]));
    }
    data.rows.forEach(function (r) { tbody.appendChild(rowFor(r)); });
    ["all", "mine", "unassigned"].forEach(function (k) {
      var n = document.getElementById("count-" + k);
      if (n && data.counts) { n.textContent = String(data.counts[k]); }
    });
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
    var timer = null;
    var errorBox = document.getElementById("action-error");
    function refresh() {
      timer = null;
      g.getJSON("/api/inbox/conversations" + window.location.search)
        .then(renderList, function () { setLive("Could not refresh the list; it retries on the next change."); });
    }
    root.addEventListener("click", function (ev) {
      var button = ev.target.closest ? ev.target.closest("button[data-resolve]") : null;
      if (!button) { return; }
      button.disabled = true;
      errorBox.hidden = true;
      g.post("/api/conversations/" + encodeURIComponent(button.getAttribute("data-resolve")) + "/state",
        { state: "resolved" }).then(function (r) {
        if (r.ok) { refresh(); return; }
        button.disabled = false;
        errorBox.textContent = g.errorText(r);
        errorBox.hidden = false;
      });
    });
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
      "notes": function () { return { text: value("note-text") }; },
      "assign": function () { return { username: value("assign-to") }; },
      "move": function () { return { queue: value("move-queue") }; }
    };

    function post(path, body, button) {
      busy = true;
      if (button) { button.disabled = true; }
      return g.post("/api/conversations/" + encodeURIComponent(id) + "/" + path, body).then(function (r) {
        busy = false;
        if (button) { button.disabled = false; }
        if (r.ok) { window.location.reload(); return; }
        showError(g.errorText(r));
      }, function () {
        busy = false;
        if (button) { button.disabled = false; }
        showError("The server did not answer. Check the connection and try again.");
      });
    }

    // files on a reply: checked here for a quick answer, and again by the server
    function fileProblem(input) {
      var maxFiles = parseInt(input.getAttribute("data-max-files") || "0", 10);
      var maxBytes = parseInt(input.getAttribute("data-max-bytes") || "0", 10);
      if (input.files.length > maxFiles) {
        return "Attach at most " + maxFiles + " files to one reply (you chose " + input.files.length + ").";
      }
      for (var i = 0; i < input.files.length; i++) {
        if (input.files[i].size > maxBytes) {
          return input.files[i].name + " is too large (" + input.files[i].size + " bytes); files may have up to " +
            maxBytes + " bytes.";
        }
      }
      return "";
    }
    function replyWithFiles(input) {
      var form = new FormData();
      form.append("text", value("reply-text"));
      form.append("client_id", document.getElementById("reply-text").getAttribute("data-client-id"));
      for (var i = 0; i < input.files.length; i++) { form.append("files", input.files[i], input.files[i].name); }
      return fetch("/api/conversations/" + encodeURIComponent(id) + "/reply", {
        method: "POST", credentials: "same-origin", body: form,
        headers: { "X-CSRF-Token": g.csrf(), "Accept": "application/json" }
      }).then(function (r) {
        return r.text().then(function (t) {
          var parsed = null;
          try { parsed = t ? JSON.parse(t) : null; } catch (e) { parsed = { detail: t }; }
          return { ok: r.ok, status: r.status, body: parsed };
        });
      });
    }

    // collision notice: a heartbeat every 15 s says who else has this conversation open
    var collision = document.getElementById("collision");
    function heartbeat() {
      g.post("/api/conversations/" + encodeURIComponent(id) + "/viewing", {}).then(function (r) {
        if (!r.ok || !r.body) { return; }
        var others = r.body.others || [];
        collision.textContent = others.length ? others.join(", ") + (others.length > 1 ? " are" : " is") +
          " also looking at this conversation. Agree who answers before you write." : "";
        collision.hidden = others.length === 0;
      }, function () { /* offline: the next beat tries again */ });
    }
    heartbeat();
    setInterval(heartbeat, 15000);

    // canned replies: filled in by the server for this conversation, inserted as text
    var canned = document.getElementById("canned");
    if (canned) {
      var select = document.getElementById("canned-select");
      var texts = {};
      g.getJSON("/api/conversations/" + encodeURIComponent(id) + "/canned").then(function (data) {
        data.replies.forEach(function (r) {
          texts[r.id] = r.text;
          select.appendChild(g.el("option", { value: r.id, text: r.title }));
        });
        canned.hidden = data.replies.length === 0;
      }, function () { /* no canned replies: the box stays hidden */ });
      document.getElementById("canned-insert").addEventListener("click", function () {
        var text = texts[select.value];
        if (!text) { return; }
        var box = document.getElementById("reply-text");
        var at = box.selectionStart || box.value.length;
        box.value = box.value.slice(0, at) + text + box.value.slice(box.selectionEnd || at);
        box.focus();
      });
    }

    root.addEventListener("click", function (ev) {
      var stateButton = ev.target.closest ? ev.target.closest("button[data-state]") : null;
      if (stateButton && !busy) {
        errorBox.hidden = true;
        var target = stateButton.getAttribute("data-state");
        var body = { state: target };
        if (target === "snoozed") { body.snoozed_until = value("snooze-until"); }
        if (target === "closed" && !window.confirm("Close this conversation? The customer's next message starts a new one.")) {
          return;
        }
        post("state", body, stateButton);
        return;
      }
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
      var files = document.getElementById("reply-files");
      if (action === "reply" && files && files.files.length) {
        var problem = fileProblem(files);
        if (problem) { showError(problem); return; }
        busy = true;
        button.disabled = true;
        replyWithFiles(files).then(function (r) {
          busy = false;
          button.disabled = false;
          if (r.ok) { window.location.reload(); return; }
          showError(g.errorText(r));
        }, function () {
          busy = false;
          button.disabled = false;
          showError("The server did not answer. Check the connection and try again.");
        });
        return;
      }
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

  // -- canned replies (admins) ---------------------------------------------------------------------
  function startCanned(root) {
    var errorBox = document.getElementById("action-error");
    function field(x) { return document.getElementById(x); }
    function fail(r) { errorBox.textContent = g.errorText(r); errorBox.hidden = false; }
    field("canned-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      errorBox.hidden = true;
      var body = { title: field("canned-title").value, language: field("canned-language").value,
                   text: field("canned-text").value };
      if (field("canned-id").value) { body.id = field("canned-id").value; }
      g.post("/api/canned", body).then(function (r) { if (r.ok) { window.location.reload(); } else { fail(r); } });
    });
    field("canned-form").addEventListener("reset", function () { field("canned-id").value = ""; });
    root.addEventListener("click", function (ev) {
      var edit = ev.target.closest ? ev.target.closest("button[data-edit]") : null;
      if (edit) {
        var row = edit.closest("tr");
        field("canned-id").value = edit.getAttribute("data-edit");
        field("canned-title").value = row.querySelector(".title").textContent;
        field("canned-language").value = row.querySelector(".language").textContent;
        field("canned-text").value = row.querySelector("pre.text").textContent;
        return;
      }
      var del = ev.target.closest ? ev.target.closest("button[data-delete]") : null;
      if (del && window.confirm("Delete this canned reply?")) {
        g.post("/api/canned/" + encodeURIComponent(del.getAttribute("data-delete")) + "/delete", {})
          .then(function (r) { if (r.ok) { window.location.reload(); } else { fail(r); } });
      }
    });
  }

  var list = document.getElementById("inbox");
  if (list) { startList(list); }
  var cannedAdmin = document.getElementById("canned-admin");
  if (cannedAdmin) { startCanned(cannedAdmin); }
  var conversation = document.getElementById("conversation");
  if (conversation) { startConversation(conversation); }
})();

// The customer panel: send an email sender a code, merge a suggested contact, undo a merge.
(function () {
  "use strict";
  var g = window.glassdesk;
  var panel = document.getElementById("customer-panel");
  var page = document.getElementById("conversation");
  if (!panel || !page) { return; }
  var errorBox = document.getElementById("panel-error");
  var okBox = document.getElementById("panel-ok");
  function say(box, text) { errorBox.hidden = true; okBox.hidden = true; box.textContent = text; box.hidden = false; }
  panel.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest("button[data-panel-action]") : null;
    if (!button || button.disabled) { return; }
    var action = button.getAttribute("data-panel-action");
    var url, body, reload = true;
    if (action === "verify-email") {
      url = "/api/conversations/" + encodeURIComponent(page.getAttribute("data-conversation-id")) + "/verify-email";
      body = {};
      reload = false;
    } else if (action === "merge") {
      if (!window.confirm("Merge this contact into the customer shown here? All its conversations move here. " +
                          "You can undo it.")) { return; }
      url = "/api/contacts/" + encodeURIComponent(panel.getAttribute("data-contact-id")) + "/merge";
      body = { from_contact_id: button.getAttribute("data-from-contact"), evidence: button.getAttribute("data-evidence") };
    } else if (action === "undo") {
      if (!window.confirm("Undo this merge? The merged contact gets its identities and conversations back.")) { return; }
      url = "/api/merges/" + encodeURIComponent(button.getAttribute("data-merge")) + "/undo";
      body = {};
    } else { return; }
    button.disabled = true;
    g.post(url, body).then(function (r) {
      button.disabled = false;
      if (!r.ok) { say(errorBox, g.errorText(r)); return; }
      if (reload) { window.location.reload(); return; }
      say(okBox, (r.body && r.body.detail) || "Done.");
    }, function () {
      button.disabled = false;
      say(errorBox, "The server did not answer. Check the connection and try again.");
    });
  });
})();

// Working speed: unread count in the tab title, optional desktop notifications, keyboard shortcuts.
// "Unread": a conversation in the list that changed after this browser last opened it (kept in
// localStorage; ids and times only). Notifications name counts only, never a customer or a text.
(function () {
  "use strict";
  var SEEN = "gd-seen", ORDER = "gd-order", NOTIFY = "gd-notify";
  var baseTitle = document.title;
  function load(key, fallback) {
    try { return JSON.parse(window.localStorage.getItem(key) || "null") || fallback; } catch (e) { return fallback; }
  }
  function save(key, value) { try { window.localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode */ } }

  var list = document.getElementById("rows");
  var page = document.getElementById("conversation");
  var lastUnread = null;

  function rows() { return list ? Array.prototype.slice.call(list.querySelectorAll("tr[data-conversation-id]")) : []; }
  function countUnread() {
    var seen = load(SEEN, {});
    var n = 0;
    rows().forEach(function (tr) {
      var t = tr.querySelector("td.updated time");
      var at = t ? Date.parse(t.getAttribute("datetime")) : 0;
      var unread = !(seen[tr.getAttribute("data-conversation-id")] >= at);
      tr.classList.toggle("unread", unread);
      if (unread) { n += 1; }
    });
    document.title = (n ? "(" + n + ") " : "") + baseTitle;
    var line = document.getElementById("unread-line");
    if (line) { line.textContent = n ? n + " unread." : "Nothing unread."; }
    save(ORDER, rows().map(function (tr) { return tr.getAttribute("data-conversation-id"); }));
    if (lastUnread !== null && n > lastUnread) { notify(n); }
    lastUnread = n;
    return n;
  }

  // -- desktop notifications (opt-in, per browser) ---------------------------------------------------
  var toggle = document.getElementById("notify-toggle");
  function notifyOn() { return load(NOTIFY, false) && window.Notification && window.Notification.permission === "granted"; }
  function showToggle() {
    if (!toggle) { return; }
    var on = notifyOn();
    toggle.textContent = "Desktop notifications: " + (on ? "on" : "off");
    toggle.setAttribute("aria-pressed", on ? "true" : "false");
    if (!window.Notification) { toggle.disabled = true; toggle.textContent = "Desktop notifications: not supported here"; }
  }
  function notify(n) {
    if (!notifyOn() || !document.hidden) { return; }
    try { new window.Notification("Glassdesk", { body: n + " unread conversation" + (n === 1 ? "" : "s"), tag: "glassdesk-unread" }); }
    catch (e) { /* some browsers allow notifications only from a service worker */ }
  }
  if (toggle) {
    toggle.addEventListener("click", function () {
      if (notifyOn()) { save(NOTIFY, false); showToggle(); return; }
      window.Notification.requestPermission().then(function (p) { save(NOTIFY, p === "granted"); showToggle(); });
    });
    showToggle();
  }

  if (list) {
    countUnread();
    new MutationObserver(function () { countUnread(); }).observe(list, { childList: true });
    window.addEventListener("storage", function (e) { if (e.key === SEEN) { countUnread(); } });
  }
  if (page) {
    var seen = load(SEEN, {});
    seen[page.getAttribute("data-conversation-id")] = Date.parse(page.getAttribute("data-seen-at")) || Date.now();
    var ids = Object.keys(seen);
    if (ids.length > 2000) { ids.sort(function (a, b) { return seen[a] - seen[b]; }).slice(0, ids.length - 2000).forEach(function (k) { delete seen[k]; }); }
    save(SEEN, seen);
  }

  // -- keyboard shortcuts -------------------------------------------------------------------------
  var help = document.getElementById("shortcuts");
  var selected = -1;
  function select(i) {
    var all = rows();
    if (!all.length) { return; }
    selected = Math.max(0, Math.min(all.length - 1, i));
    all.forEach(function (tr, k) { tr.classList.toggle("selected", k === selected); });
    var link = all[selected].querySelector("a.open");
    if (link) { link.focus(); }
  }
  function neighbour(step) {
    var order = load(ORDER, []);
    var at = order.indexOf(page.getAttribute("data-conversation-id"));
    var next = at < 0 ? null : order[at + step];
    if (next) { window.location.href = "/inbox/c/" + encodeURIComponent(next); }
  }
  function click(selector) { var b = document.querySelector(selector); if (b && !b.disabled) { b.click(); return true; } return false; }
  function focus(elId) { var f = document.getElementById(elId); if (f) { f.focus(); return true; } return false; }
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var tag = ev.target && ev.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (ev.target && ev.target.isContentEditable)) {
      if (ev.key === "Escape") { ev.target.blur(); }
      return;
    }
    var key = ev.key, done = true;
    if (key === "?") { if (help) { help.hidden = !help.hidden; } }
    else if (key === "Escape" && help && !help.hidden) { help.hidden = true; }
    else if (list && (key === "j" || key === "k")) { select(selected + (key === "j" ? 1 : -1)); }
    else if (list && (key === "Enter" || key === "o") && selected >= 0) {
      var link = rows()[selected].querySelector("a.open");
      if (link) { window.location.href = link.getAttribute("href"); }
    }
    else if (page && (key === "j" || key === "k")) { neighbour(key === "j" ? 1 : -1); }
    else if (page && key === "a") { done = click('button[data-action="approve"]'); }
    else if (page && key === "e") { done = focus("draft-text"); }
    else if (page && key === "r") { done = focus("reply-text"); }
    else if (page && key === "x") { done = click('button[data-state="resolved"]'); }
    else if (page && key === "u") { window.location.href = "/inbox"; }
    else { done = false; }
    if (done) { ev.preventDefault(); }
  });
})();
