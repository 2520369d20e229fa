// Presence: the page tells the server the agent is here (a heartbeat every 20 s and when the tab comes
// back), the toggle switches between online and away, and each assignee in the list gets a dot for
// their presence. Text only: values go into the page through textContent, never innerHTML.
(function () {
  "use strict";
  var g = window.glassdesk;
  if (!g || !g.csrf()) { return; }
  var toggle = document.getElementById("presence-toggle");
  var label = document.getElementById("presence-state");
  var rows = document.getElementById("rows");
  var every = 20000;
  var known = {};
  var TEXT = { online: "Online", away: "Away", offline: "Offline" };

  function show(me) {
    if (!me) { return; }
    if (me.heartbeat_s) { every = me.heartbeat_s * 1000; }
    if (label) {
      label.textContent = TEXT[me.presence] || me.presence;
      label.className = "presence-badge presence-" + me.presence;
    }
    if (toggle) {
      var away = me.mode === "away";
      toggle.textContent = away ? "Go online" : "Set away";
      toggle.setAttribute("aria-pressed", away ? "true" : "false");
      toggle.setAttribute("data-mode", me.mode);
      toggle.disabled = false;
    }
    known[me.username] = me.presence;
    mark();
  }

  function mark() {
    if (!rows) { return; }
    var cells = rows.querySelectorAll("td.assignee");
    for (var i = 0; i < cells.length; i++) {
      var name = cells[i].textContent.trim();
      var p = name ? known[name] : null;
      if (p) {
        if (cells[i].getAttribute("data-presence") !== p) {
          cells[i].setAttribute("data-presence", p);
          cells[i].setAttribute("title", name + " is " + p);
        }
      } else if (cells[i].hasAttribute("data-presence")) {
        cells[i].removeAttribute("data-presence");
        cells[i].removeAttribute("title");
      }
    }
  }

  function everyone() {
    if (!rows) { return; }
    g.getJSON("/api/desk/presence").then(function (data) {
      known = {};
      data.agents.forEach(function (a) { known[a.username] = a.presence; });
      mark();
    }, function () {});
  }

  function beat() {
    g.post("/api/desk/presence/heartbeat").then(function (r) {
      if (r.ok) { show(r.body); everyone(); }
    });
  }

  if (toggle) {
    toggle.addEventListener("click", function () {
      var next = toggle.getAttribute("data-mode") === "away" ? "online" : "away";
      toggle.disabled = true;
      g.post("/api/desk/presence", { mode: next }).then(function (r) {
        toggle.disabled = false;
        if (r.ok) { show(r.body); everyone(); }
      });
    });
  }
  if (rows && window.MutationObserver) {
    new MutationObserver(mark).observe(rows, { childList: true, subtree: true });
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { beat(); }
  });
  beat();
  (function loop() { setTimeout(function () { beat(); loop(); }, every); })();
})();
