// The live ops dashboard: one snapshot on load, then server-sent snapshots (pushed when anything
// happens, at most once a second, and every few seconds anyway). Text only, via glassdesk.el.
(function () {
  "use strict";
  var gd = window.glassdesk;
  var $ = function (id) { return document.getElementById(id); };
  var lastAt = null;

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function set(id, value) { var n = $(id); if (n) { n.textContent = value; } }
  function num(v) { return v === null || v === undefined ? "–" : String(v); }
  function pct(v) { return v === null || v === undefined ? "–" : (v * 100).toFixed(1) + " %"; }
  function secs(v) {
    if (v === null || v === undefined) { return "–"; }
    if (v < 60) { return v.toFixed(v < 10 ? 1 : 0) + " s"; }
    if (v < 3600) { return (v / 60).toFixed(1) + " min"; }
    return (v / 3600).toFixed(1) + " h";
  }
  // times come formatted by the server in the operator's zone (GLASSDESK_TIMEZONE), never browser time
  var localTimes = {};
  function time(iso) { return (iso && localTimes[iso]) || "–"; }
  function rows(tableId, items, cells, empty) {
    var body = $(tableId).querySelector("tbody");
    clear(body);
    if (!items.length) {
      var cols = $(tableId).querySelectorAll("thead th").length;
      body.appendChild(gd.el("tr", {}, [gd.el("td", { colspan: String(cols), class: "muted", text: empty })]));
      return;
    }
    items.forEach(function (item) {
      body.appendChild(gd.el("tr", {}, cells(item).map(function (c) {
        return typeof c === "string" ? gd.el("td", { text: c }) : gd.el("td", {}, [c]);
      })));
    });
  }
  function spark(series) {
    var box = $("m-tpm-series");
    clear(box);
    var max = Math.max.apply(null, series.concat([1]));
    series.forEach(function (n) {
      var bar = gd.el("span", { class: "bar", title: n + " per minute" });
      bar.style.height = Math.round((n / max) * 100) + "%"; // CSSOM: allowed under the strict CSP
      box.appendChild(bar);
    });
  }

  function avg(v) { return v === null || v === undefined ? "–" : v.toFixed(2); }
  // the day's outcomes (since local midnight in GLASSDESK_TIMEZONE), all from stored data
  function outcomes(o) {
    set("o-since", time(o.since_at));
    set("o-frt", secs(o.first_response.median_s));
    set("o-frt-mean", secs(o.first_response.mean_s));
    set("o-frt-count", num(o.first_response.count));
    set("o-conversations", num(o.conversations));
    set("o-unanswered", num(o.unanswered));
    set("o-resolution", secs(o.resolution.median_s));
    set("o-resolution-mean", secs(o.resolution.mean_s));
    set("o-resolved", num(o.resolved));
    set("o-automation", pct(o.automation_rate));
    set("o-automated", num(o.automated_confirmed));
    set("o-confirmed", num(o.confirmed));
    set("o-csat", pct(o.csat.csat));
    set("o-csat-avg", avg(o.csat.average));
    set("o-ratings", num(o.csat.ratings));
    set("o-answered", num(o.surveys_answered));
    set("o-asked", num(o.surveys_asked));
    set("o-not-solved", num(o.csat.not_solved));
    function csatCells(key, r) {
      return [key, pct(r.csat), avg(r.average), String(r.ratings), String(r.confirmed), String(r.not_solved)];
    }
    rows("csat-queues", o.by_queue, function (q) {
      return csatCells(q.queue, q).concat([secs(q.first_response_median_s), secs(q.resolution_median_s)]);
    }, "Nothing resolved today.");
    rows("csat-agents", o.by_agent, function (a) { return csatCells(a.agent, a); }, "Nothing resolved today.");
    rows("handoff-reasons", o.handoff_reasons, function (h) { return [h.label, String(h.count)]; },
      "No handoff today.");
    var kinds = ["first_response", "update", "resolution"];
    rows("sla-breaches", o.sla_breaches || [], function (q) {
      return [q.queue].concat(kinds.map(function (k) { return String(q.today[k]); }),
        kinds.map(function (k) { return String(q.open_now[k]); }));
    }, "No SLA breached today.");
  }

  function render(m) {
    localTimes = m.local_times || {};
    lastAt = localTimes[m.generated_at] || null;
    set("m-queue-waiting", num(m.turn_queue.waiting) + (m.turn_queue.waiting_capped ? "+" : ""));
    set("m-queue-in-progress", num(m.turn_queue.in_progress));
    set("m-dead", num(m.turn_queue.dead_lettered));
    set("m-inbound-hour", num(m.inbound.last_hour));
    set("m-inbound-day", num(m.inbound.last_day));
    set("m-tpm", num(m.turns_per_minute.current));
    set("m-tpm-avg", num(m.turns_per_minute.average_60m));
    spark(m.turns_per_minute.series);
    set("m-automation", pct(m.automation_rate));
    set("m-handoff", pct(m.handoff_rate));
    set("m-decided", num(m.routes_last_day.decided));
    set("m-p50-hour", secs(m.latency.last_hour.p50_s));
    set("m-p95-hour", secs(m.latency.last_hour.p95_s));
    set("m-p50-day", secs(m.latency.last_day.p50_s));
    set("m-p95-day", secs(m.latency.last_day.p95_s));
    set("m-latency-count", num(m.latency.last_day.count));
    set("m-sla", num(m.sla.breached));
    $("tile-sla").classList.toggle("alert", m.sla.breached > 0);
    set("m-failed", num(m.failures.failed_turns_last_day));
    set("m-failed-deliveries", num(m.failures.failed_deliveries));
    set("m-ambiguous", num(m.failures.ambiguous_deliveries));
    $("tile-failures").classList.toggle("alert",
      m.failures.failed_turns_last_day + m.failures.failed_deliveries + m.failures.ambiguous_deliveries + m.failures.dead_lettered > 0);
    set("m-quarantine", num(m.quarantine.open));
    var l = m.ledger.counts;
    set("m-unaccounted", num(l.unaccounted));
    set("m-replied", num(l.replied));
    set("m-person", num(l.person));
    set("m-alarm", num(l.alarm));
    set("m-in-progress", num(l.in_progress));
    $("tile-ledger").classList.toggle("alert", l.unaccounted > 0 || m.processes.crash_loop.length > 0);
    set("m-processes", m.processes.crash_loop.length ? "crash loop: " + m.processes.crash_loop.join(", ")
                                                     : (m.processes.supervised ? "all processes running" : ""));
    rows("unaccounted", m.ledger.unaccounted, function (u) {
      return [u.message_id, gd.el("a", { href: "/inbox/c/" + encodeURIComponent(u.conversation_id), text: u.conversation_id }),
              time(u.received_at)];
    }, "None: every message has a reply, a person or an alarm.");
    var flowRuns = $("prefect-flow-runs");
    if (flowRuns && m.prefect.flow_runs_url) { flowRuns.setAttribute("href", m.prefect.flow_runs_url); }

    rows("queues", m.queues, function (q) {
      return [q.queue, String(q.awaiting_agent), String(q.handed_off), String(q.breached)];
    }, "No conversation is waiting for a person.");
    var routes = ["auto_reply", "draft_for_approval", "handoff", "ask_clarification"].map(function (r) {
      return { route: r, n: m.routes_last_day[r] || 0 };
    });
    rows("routes", routes, function (r) { return [r.route, String(r.n)]; }, "");
    rows("sla", m.sla.oldest, function (b) {
      return [b.conversation_id, b.queue, b.priority, b.overdue_min + " min"];
    }, "No breach.");
    rows("dead-letters", m.failures.dead_letters, function (d) {
      var link = d.task_runs_url ? gd.el("a", { href: d.task_runs_url, target: "_blank", rel: "noopener noreferrer",
                                               text: "task runs" }) : "–";
      return [d.message_id, String(d.deliveries), time(d.at), link];
    }, "Nothing dead-lettered.");
    rows("quarantine", m.quarantine.newest, function (q) {
      return [q.id, q.channel, q.reason, time(q.created_at)];
    }, "Nothing quarantined.");
    var counters = Object.keys(m.webhooks).map(function (k) { return { name: k, n: m.webhooks[k] }; });
    rows("webhooks", counters, function (c) { return [c.name, String(c.n)]; }, "No webhook refused or retried.");
    outcomes(m.outcomes);
    set("live-status", "Live · updated " + time(m.generated_at));
    $("live-status").className = "live-status ok";
  }

  gd.getJSON("/api/ops/metrics").then(render).catch(function () {
    set("live-status", "Could not load the figures; retrying over the live stream…");
  });
  var source = gd.live("/api/ops/events", render);
  source.onerror = function () {
    $("live-status").className = "live-status error";
    set("live-status", "Reconnecting… (last update " + (lastAt || "never") + ")");
  };
})();
