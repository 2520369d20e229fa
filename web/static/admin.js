// The admin policy page: validate while typing (debounced), preview (diff + dry run), publish, roll back.
// Text only: every value from the server goes through textContent (glassdesk.el).
(function () {
  "use strict";
  var gd = window.glassdesk;
  var $ = function (id) { return document.getElementById(id); };
  var editor = $("policy-text"), gutter = $("gutter");
  var DEBOUNCE_MS = 400;
  var timer = null, validateSeq = 0;
  var preview = null; // {sha256, baseVersion, text}

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function lineCount() { return editor.value.split("\n").length; }

  // -- the line gutter, with the lines that have problems marked -----------------------------------
  var badLines = {};
  function renderGutter() {
    clear(gutter);
    var n = lineCount();
    for (var i = 1; i <= n; i++) {
      var attrs = { text: String(i), class: "gutter-line" + (badLines[i] ? " bad" : ""), "data-line": String(i) };
      if (badLines[i]) { attrs.title = badLines[i]; }
      gutter.appendChild(gd.el("span", attrs));
    }
    gutter.scrollTop = editor.scrollTop;
  }
  editor.addEventListener("scroll", function () { gutter.scrollTop = editor.scrollTop; });

  function goToLine(line, column) {
    var lines = editor.value.split("\n");
    var start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) { start += lines[i].length + 1; }
    var lineText = lines[Math.min(line, lines.length) - 1] || "";
    editor.focus();
    editor.setSelectionRange(start + Math.max(0, Math.min(column - 1, lineText.length)), start + lineText.length);
    var lineHeight = editor.scrollHeight / Math.max(1, lines.length);
    editor.scrollTop = Math.max(0, (line - 4) * lineHeight);
  }

  function showProblems(problems) {
    var list = $("problems");
    clear(list);
    badLines = {};
    (problems || []).forEach(function (p) {
      badLines[p.line] = (badLines[p.line] ? badLines[p.line] + "\n" : "") + p.message;
      var label = "Line " + p.line + ", column " + p.column + ": " + (p.path ? p.path + ": " : "") + p.message;
      var button = gd.el("button", { type: "button", class: "problem-link", text: label,
                                     "data-line": String(p.line), "data-column": String(p.column) });
      button.addEventListener("click", function () { goToLine(p.line, p.column); });
      list.appendChild(gd.el("li", { class: "problem" }, [
        button, p.hint ? gd.el("span", { class: "hint", text: "Fix: " + p.hint }) : null]));
    });
    renderGutter();
  }

  function setValidation(text, cls) {
    var v = $("validation");
    v.textContent = text;
    v.className = "validation " + cls;
  }

  function validateNow() {
    var seq = ++validateSeq;
    setValidation("Checking…", "muted");
    gd.post("/api/policies/validate", { text: editor.value }).then(function (r) {
      if (seq !== validateSeq) { return; } // an older answer: the text changed since
      if (!r.ok) { setValidation(gd.errorText(r), "error"); return; }
      showProblems(r.body.problems);
      var n = r.body.problems.length;
      setValidation(r.body.valid ? "Valid." : n + (n === 1 ? " problem" : " problems") + ": see the marked lines.",
                    r.body.valid ? "ok" : "error");
    }).catch(function () { if (seq === validateSeq) { setValidation("Could not reach the server.", "error"); } });
  }

  function previewIsCurrent() { return preview !== null && preview.text === editor.value; }

  function syncPublishButton() {
    $("publish-button").disabled = !previewIsCurrent();
    if (preview !== null && !previewIsCurrent()) {
      $("preview-status").textContent = "The text changed since the preview: preview again before publishing.";
      $("preview-status").className = "error";
    }
  }

  editor.addEventListener("input", function () {
    renderGutter();
    syncPublishButton();
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(validateNow, DEBOUNCE_MS);
  });

  // -- preview: diff + dry run -------------------------------------------------------------------------
  function renderDiff(diff) {
    var pre = $("diff");
    clear(pre);
    if (!diff) { pre.appendChild(gd.el("span", { class: "muted", text: "(no change against the live version)" })); return; }
    diff.split("\n").forEach(function (line) {
      var cls = "diff-line";
      if (line.indexOf("+++") === 0 || line.indexOf("---") === 0) { cls += " diff-file"; }
      else if (line.charAt(0) === "+") { cls += " diff-add"; }
      else if (line.charAt(0) === "-") { cls += " diff-del"; }
      else if (line.indexOf("@@") === 0) { cls += " diff-hunk"; }
      pre.appendChild(gd.el("span", { class: cls, text: line + "\n" }));
    });
  }

  function renderDryRun(run) {
    $("dry-run-summary").textContent = "Replayed " + run.replayed + " turns from the last " + run.since_days +
      (run.since_days === 1 ? " day" : " days") + ": " + run.changed + " of " + run.total +
      " would take another route." + (run.skipped ? " (" + run.skipped + " skipped: facts of an older schema.)" : "");
    var body = $("transitions").querySelector("tbody");
    clear(body);
    var changed = run.transitions.filter(function (t) { return t.from_route !== t.to_route; });
    if (!changed.length) {
      body.appendChild(gd.el("tr", {}, [gd.el("td", { colspan: "4", class: "muted", text: "No route would change." })]));
    }
    changed.forEach(function (t) {
      var examples = t.examples.map(function (e) { return e.turn_id + " (" + e.rule_id + ")"; }).join(", ");
      body.appendChild(gd.el("tr", { class: "transition" }, [
        gd.el("td", { text: t.from_route }), gd.el("td", { text: t.to_route }),
        gd.el("td", { class: "count", text: String(t.count) }), gd.el("td", { text: examples })]));
    });
  }

  $("preview-button").addEventListener("click", function () {
    var text = editor.value;
    var status = $("preview-status");
    status.textContent = "Replaying past turns…";
    status.className = "muted";
    $("preview-button").disabled = true;
    gd.post("/api/policies/preview", { text: text, since_days: parseInt($("since-days").value, 10) }).then(function (r) {
      $("preview-button").disabled = false;
      if (!r.ok) {
        preview = null;
        $("preview-body").hidden = true;
        if (r.body && r.body.problems) { showProblems(r.body.problems); }
        status.textContent = gd.errorText(r);
        status.className = "error";
        syncPublishButton();
        return;
      }
      preview = { sha256: r.body.sha256, baseVersion: r.body.live_version, text: text };
      showProblems([]);
      setValidation("Valid.", "ok");
      status.textContent = "Preview of the draft against " +
        (r.body.live_version ? "live version v" + r.body.live_version : "no live version") + ".";
      status.className = "ok";
      $("changes-summary").textContent = r.body.changes ? "Rules: " + r.body.changes.summary + "." : "";
      renderDiff(r.body.diff);
      renderDryRun(r.body.dry_run);
      $("publish-status").textContent = "";
      $("preview-body").hidden = false;
      syncPublishButton();
    }).catch(function () { $("preview-button").disabled = false; status.textContent = "Could not reach the server."; });
  });

  // -- live version and history ------------------------------------------------------------------------
  function renderState(state) {
    var live = state.live;
    var liveNode = $("live-version");
    liveNode.textContent = live ? "v" + live.version : "none published yet";
    liveNode.setAttribute("data-version", live ? String(live.version) : "");
    $("live-meta").textContent = live ? "by " + live.author + ", " + live.created + ": " + live.message : "";
    var rows = $("history-rows");
    clear(rows);
    var select = $("rollback-version");
    clear(select);
    state.history.forEach(function (p, i) {
      rows.appendChild(gd.el("tr", { "data-version": String(p.version), class: i === 0 ? "is-live" : "" }, [
        gd.el("td", {}, [document.createTextNode("v" + p.version + " "),
                         i === 0 ? gd.el("span", { class: "badge", text: "live" }) : null]),
        gd.el("td", { text: p.author }), gd.el("td", { text: p.message }),
        gd.el("td", { text: p.created.replace(" UTC", "") })]));
      if (i > 0) { select.appendChild(gd.el("option", { value: String(p.version), text: "v" + p.version })); }
    });
  }

  $("publish-button").addEventListener("click", function () {
    var status = $("publish-status");
    var message = $("publish-message").value.trim();
    if (!message) { status.textContent = "Write why you change the policy: it is kept in the history."; status.className = "error"; return; }
    if (!previewIsCurrent()) { syncPublishButton(); return; }
    $("publish-button").disabled = true;
    gd.post("/api/policies/publish", { text: preview.text, message: message, sha256: preview.sha256,
                                       base_version: preview.baseVersion }).then(function (r) {
      if (!r.ok) {
        if (r.body && r.body.problems) { showProblems(r.body.problems); }
        status.textContent = gd.errorText(r);
        status.className = "error";
        $("publish-button").disabled = false;
        return;
      }
      renderState(r.body);
      preview = null;
      $("publish-message").value = "";
      status.textContent = "Published as v" + r.body.published + ". It is live now.";
      status.className = "ok";
      $("preview-status").textContent = "Published. Edit and preview again for the next change.";
      $("preview-status").className = "muted";
    });
  });

  $("rollback-button").addEventListener("click", function () {
    var status = $("rollback-status");
    var version = parseInt($("rollback-version").value, 10);
    var message = $("rollback-message").value.trim();
    if (!version) { status.textContent = "There is no earlier version to roll back to."; status.className = "error"; return; }
    if (!message) { status.textContent = "Write why you roll back: it is kept in the history."; status.className = "error"; return; }
    $("rollback-button").disabled = true;
    gd.post("/api/policies/rollback", { version: version, message: message }).then(function (r) {
      $("rollback-button").disabled = false;
      if (!r.ok) { status.textContent = gd.errorText(r); status.className = "error"; return; }
      renderState(r.body);
      editor.value = r.body.live.text;
      preview = null;
      $("preview-body").hidden = true;
      $("preview-status").textContent = "Rolled back. The editor shows the live text again.";
      $("rollback-message").value = "";
      status.textContent = "v" + version + " is live again as v" + r.body.published + ".";
      status.className = "ok";
      renderGutter();
      validateNow();
    });
  });

  renderGutter();
  validateNow();
})();
