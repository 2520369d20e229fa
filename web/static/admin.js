// The admin policy page: validate while typing (debounced), preview (diff + dry run), publish, roll back,
// and, with four-eyes publishing, the requests another admin approves or rejects.
// Text only: every value from the server goes through textContent (glassdesk.el).
(function () {
  "use strict";
  var gd = window.glassdesk;
  var $ = function (id) { return document.getElementById(id); };
  var editor = $("policy-text"), gutter = $("gutter");
  var DEBOUNCE_MS = 400;
  var timer = null, validateSeq = 0;
  var preview = null; // {sha256, baseVersion, text}
  var fourEyes = $("policy-page").getAttribute("data-four-eyes") === "true";

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
        gd.el("td", { text: p.author + (p.approved_by ? " (approved by " + p.approved_by + ")" : "") }),
        gd.el("td", { text: p.message }),
        gd.el("td", { text: p.created.replace(" UTC", "") })]));
      if (i > 0) { select.appendChild(gd.el("option", { value: String(p.version), text: "v" + p.version })); }
    });
    if (state.requests) { renderRequests(state.requests); }
  }

  // -- requests waiting for a second admin ---------------------------------------------------------------
  function changeLabel(r) {
    return r.kind === "rollback" ? "roll back to v" + r.target_version : "publish";
  }

  function decide(r, action, note, status) {
    status.textContent = action === "approve" ? "Approving…" : "Saving…";
    status.className = "muted";
    var url = "/api/policies/requests/" + encodeURIComponent(r.id) + "/" + action;
    return gd.post(url, { note: note }).then(function (res) {
      if (!res.ok) { status.textContent = gd.errorText(res); status.className = "error"; return; }
      renderState(res.body);
      var done = $("requests-status");
      if (action === "approve") {
        done.textContent = r.id + " approved: v" + res.body.published + " is live now.";
        preview = null; // the live version moved: preview again before the next change
        syncPublishButton();
      } else {
        done.textContent = r.id + " " + res.body.status + ": nothing changed.";
      }
      done.className = "ok";
    }).catch(function () { status.textContent = "Could not reach the server."; status.className = "error"; });
  }

  function requestItem(r) {
    var status = gd.el("p", { class: "request-status", role: "status", "aria-live": "polite" });
    var note = gd.el("input", { type: "text", maxlength: "400", autocomplete: "off",
                                "aria-label": "Note for " + r.id, placeholder: r.mine ? "Why withdraw (optional)" : "Why reject (optional)" });
    var approve = gd.el("button", { type: "button", class: "primary approve", text: "Approve and publish",
                                    "data-request": r.id });
    if (r.mine || r.stale) { approve.disabled = true; }
    var reject = gd.el("button", { type: "button", class: "danger reject", text: r.mine ? "Withdraw" : "Reject",
                                   "data-request": r.id });
    approve.addEventListener("click", function () { decide(r, "approve", "", status); });
    reject.addEventListener("click", function () { decide(r, "reject", note.value.trim(), status); });
    var why = r.mine ? "You asked for this change: another admin approves it."
      : (r.stale ? "" : "Check the diff, then approve it or reject it.");
    var diff = gd.el("pre", { class: "diff" });
    (r.diff || "(no live version yet: this text becomes the first one)").split("\n").forEach(function (line) {
      var cls = "diff-line";
      if (line.indexOf("+++") === 0 || line.indexOf("---") === 0) { cls += " diff-file"; }
      else if (line.charAt(0) === "+") { cls += " diff-add"; }
      else if (line.charAt(0) === "-") { cls += " diff-del"; }
      else if (line.indexOf("@@") === 0) { cls += " diff-hunk"; }
      diff.appendChild(gd.el("span", { class: cls, text: line + "\n" }));
    });
    return gd.el("li", { class: "request" + (r.stale ? " stale" : ""), "data-request": r.id }, [
      gd.el("p", { class: "request-head", text: r.id + ": " + changeLabel(r) + ", asked by " + r.requested_by +
                   " on v" + (r.base_version || "-") + ", " + r.requested }),
      gd.el("p", { text: r.message }),
      r.stale ? gd.el("p", { class: "stale-note", text: "Another version went live since this request: it can no " +
                             "longer be approved. Reject it and ask again on top of the live version." }) : null,
      why ? gd.el("p", { class: "muted", text: why }) : null,
      gd.el("details", {}, [gd.el("summary", { text: "Diff against the live version" }), diff]),
      gd.el("div", { class: "request-actions" }, [note, approve, reject]),
      status]);
  }

  function renderRequests(requests) {
    var list = $("pending-requests");
    clear(list);
    if (!requests.pending.length) {
      list.appendChild(gd.el("li", { class: "muted", text: fourEyes
        ? "Nothing waits for approval." : "Nothing waits for approval (four-eyes publishing is off)." }));
    }
    requests.pending.forEach(function (r) { list.appendChild(requestItem(r)); });
    var recent = $("recent-requests");
    clear(recent);
    requests.recent.forEach(function (r) {
      var outcome = r.status + (r.published_version ? " as v" + r.published_version : "") +
        (r.decision_note ? ": " + r.decision_note : "");
      recent.appendChild(gd.el("tr", { "data-request": r.id }, [
        gd.el("td", { text: r.id }), gd.el("td", { text: changeLabel(r) + ": " + r.message }),
        gd.el("td", { text: r.requested_by + ", " + r.requested }), gd.el("td", { text: outcome }),
        gd.el("td", { text: r.decided_by ? r.decided_by + ", " + r.decided : "" })]));
    });
  }

  function requested(r, status) {
    status.textContent = "Requested " + r.body.requested + ": it goes live once another admin approves it.";
    status.className = "ok";
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
      if (r.status === 202) {
        requested(r, status);
        $("preview-status").textContent = "Requested. It waits below until another admin approves it.";
      } else {
        status.textContent = "Published as v" + r.body.published + ". It is live now.";
        status.className = "ok";
        $("preview-status").textContent = "Published. Edit and preview again for the next change.";
      }
      $("preview-status").className = "muted";
    }).catch(function () {
      $("publish-button").disabled = false;
      status.textContent = "Could not reach the server.";
      status.className = "error";
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
      $("rollback-message").value = "";
      if (r.status === 202) { requested(r, status); return; }
      editor.value = r.body.live.text;
      preview = null;
      $("preview-body").hidden = true;
      $("preview-status").textContent = "Rolled back. The editor shows the live text again.";
      status.textContent = "v" + version + " is live again as v" + r.body.published + ".";
      status.className = "ok";
      renderGutter();
      validateNow();
    }).catch(function () {
      $("rollback-button").disabled = false;
      status.textContent = "Could not reach the server.";
      status.className = "error";
    });
  });

  renderGutter();
  validateNow();
  gd.getJSON("/api/policies").then(function (state) { renderRequests(state.requests); }).catch(function () {
    $("requests-status").textContent = "Could not load the requests.";
    $("requests-status").className = "error";
  });
})();
