// The admin page of queues and agents: each row saves itself over the JSON API, then the page reloads.
(function () {
  "use strict";
  var g = window.glassdesk;
  var root = document.getElementById("desk-people");
  if (!root) { return; }
  var errorBox = document.getElementById("action-error");

  function skills(input) {
    return input.value.split(",").map(function (s) { return s.trim(); }).filter(function (s) { return s; });
  }
  function done(r) {
    if (r.ok) { window.location.reload(); return; }
    errorBox.textContent = g.errorText(r);
    errorBox.hidden = false;
  }
  function saveQueue(name, row) {
    errorBox.hidden = true;
    var auto = row ? row.querySelector("input.auto-assign").checked : false;
    var list = row ? skills(row.querySelector("input.skills")) : [];
    return g.post("/api/desk/queues/" + encodeURIComponent(name), { auto_assign: auto, skills: list }).then(done);
  }
  root.addEventListener("click", function (ev) {
    var q = ev.target.closest ? ev.target.closest("button[data-save-queue]") : null;
    if (q) { saveQueue(q.getAttribute("data-save-queue"), q.closest("tr")); return; }
    var a = ev.target.closest ? ev.target.closest("button[data-save-agent]") : null;
    if (!a) { return; }
    errorBox.hidden = true;
    var row = a.closest("tr");
    var cap = row.querySelector("input.capacity").value.trim();
    g.post("/api/desk/agents/" + encodeURIComponent(a.getAttribute("data-save-agent")), {
      capacity: cap === "" ? null : Number(cap), skills: skills(row.querySelector("input.skills"))
    }).then(done);
  });
  document.getElementById("new-queue").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var name = document.getElementById("new-queue-name").value.trim();
    if (name) { saveQueue(name, null); }
  });
})();
