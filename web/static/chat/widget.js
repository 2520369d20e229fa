/* Glassdesk chat widget. Embed with one tag:  <script src="https://HOST/chat/widget.js" defer></script>
 *
 * Plain JavaScript, no build step, no inline scripts or styles (works under script-src 'self' and
 * style-src 'self'): it links /chat/widget.css from its own origin and builds its panel with DOM calls.
 * Every text from customers, agents or the AI is inserted with textContent, never as HTML.
 * Protocol: see channels/chat/frames.py. "Link my email or phone" sends verify_start / verify_code frames:
 * a one-time code goes to the address and only the code links it (typing an address alone links nothing).
 */
(function () {
  "use strict";
  if (window.GlassdeskChat) { return; }

  var script = document.currentScript;
  var base = new URL(script && script.src ? script.src : "/chat/widget.js", window.location.href);
  var WS_URL = (base.protocol === "https:" ? "wss://" : "ws://") + base.host + "/chat/ws";
  var CSS_URL = base.origin + "/chat/widget.css";
  var TOKEN_KEY = "glassdesk.chat.token";
  var PENDING_KEY = "glassdesk.chat.pending";
  var PING_MS = 25000;
  var MAX_TEXT = 4000;

  var LANG = String(navigator.language || "en").toLowerCase().indexOf("de") === 0 ? "de" : "en";
  var LABELS = {
    en: {
      launcher: "Chat with us", title: "Customer service", close: "Close chat",
      placeholder: "Write a message…", send: "Send", human: "Talk to a person",
      humanText: "I want to talk to a person", status: "Follow your request",
      badge: "AI", you: "You", ai: "Assistant", agent: "Team", system: "Info",
      sending: "Sending…", delivered: "Delivered",
      received: "Your message has arrived.", working: "We are working on your request…",
      replied: "Answered.", handedOff: "A person from our team will answer you here.",
      connecting: "Connecting…", offline: "Connection lost – reconnecting…",
      rateLimited: "You are sending very fast – your message follows in a moment.",
      unavailable: "Your message could not be saved yet – we will try again.",
      download: "Download",
      link: "Link my email or phone", linkAddress: "Email or mobile number (+49…)", sendCode: "Send code",
      linkCode: "6-digit code", confirm: "Confirm", cancel: "Cancel",
      codeSent: "We sent you a code. Enter it here.", verified: "Linked – thank you.",
      verifyErrors: {
        conversation_required: "Please send us a message first.",
        invalid_address: "Please enter an email address or a mobile number with country code (+49…).",
        invalid_code: "The code has 6 digits.",
        wrong_code: "That code is not right. Please check it.",
        code_locked: "Too many wrong codes. Please ask for a new code in 10 minutes.",
        no_code: "The code has expired. Please ask for a new one.",
        verify_limited: "Too many codes requested. Please wait a few minutes.",
        send_failed: "We could not send a code there. Please check the address."
      }
    },
    de: {
      launcher: "Chatten Sie mit uns", title: "Kundenservice", close: "Chat schließen",
      placeholder: "Nachricht schreiben…", send: "Senden", human: "Mit einem Menschen sprechen",
      humanText: "Ich möchte mit einem Menschen sprechen", status: "Status Ihrer Anfrage",
      badge: "KI", you: "Sie", ai: "Assistent", agent: "Team", system: "Info",
      sending: "Wird gesendet…", delivered: "Zugestellt",
      received: "Ihre Nachricht ist angekommen.", working: "Wir bearbeiten Ihre Anfrage…",
      replied: "Beantwortet.", handedOff: "Eine Person aus unserem Team wird Ihnen hier antworten.",
      connecting: "Verbindung wird aufgebaut…", offline: "Verbindung unterbrochen – neuer Versuch…",
      rateLimited: "Sie schreiben sehr schnell – Ihre Nachricht folgt gleich.",
      unavailable: "Ihre Nachricht konnte noch nicht gespeichert werden – neuer Versuch folgt.",
      download: "Herunterladen",
      link: "E-Mail oder Telefon verknüpfen", linkAddress: "E-Mail oder Handynummer (+49…)", sendCode: "Code senden",
      linkCode: "6-stelliger Code", confirm: "Bestätigen", cancel: "Abbrechen",
      codeSent: "Wir haben Ihnen einen Code gesendet. Bitte hier eingeben.", verified: "Verknüpft – danke.",
      verifyErrors: {
        conversation_required: "Bitte schreiben Sie uns zuerst eine Nachricht.",
        invalid_address: "Bitte eine E-Mail-Adresse oder eine Handynummer mit Ländervorwahl (+49…) eingeben.",
        invalid_code: "Der Code hat 6 Ziffern.",
        wrong_code: "Der Code stimmt nicht. Bitte prüfen Sie ihn.",
        code_locked: "Zu viele falsche Codes. Bitte fordern Sie in 10 Minuten einen neuen an.",
        no_code: "Der Code ist abgelaufen. Bitte fordern Sie einen neuen an.",
        verify_limited: "Zu viele Codes angefordert. Bitte warten Sie einige Minuten.",
        send_failed: "Dorthin konnten wir keinen Code senden. Bitte prüfen Sie die Angabe."
      }
    }
  };
  var T = LABELS[LANG];

  // -- storage (localStorage may be unavailable: private mode, blocked third-party storage) ----------
  function load(key, fallback) {
    try { var v = window.localStorage.getItem(key); return v === null ? fallback : JSON.parse(v); }
    catch (e) { return fallback; }
  }
  function save(key, value) {
    try { window.localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* keep in memory */ }
  }

  function uuid4() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") { return window.crypto.randomUUID(); }
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  // -- state --------------------------------------------------------------------------------------------
  var token = load(TOKEN_KEY, null);
  var pending = load(PENDING_KEY, []);  // [{id, text}] sent but not acknowledged: resent after reconnect
  if (!Array.isArray(pending)) { pending = []; }
  var ws = null;
  var ready = false;  // hello answered
  var attempts = 0;
  var reconnectTimer = null;
  var retryTimer = null;
  var pingTimer = null;
  var started = false;

  // -- DOM ------------------------------------------------------------------------------------------------
  var ui = {};
  function build() {
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = CSS_URL;
    document.head.appendChild(link);

    ui.root = el("div", "gd-chat-root");
    ui.root.setAttribute("lang", LANG);
    ui.panel = el("section", "gd-chat-panel");
    ui.panel.setAttribute("role", "dialog");
    ui.panel.setAttribute("aria-label", T.title);
    ui.panel.hidden = true;

    var header = el("header", "gd-chat-header");
    header.appendChild(el("span", "gd-chat-title", T.title));
    ui.close = el("button", "gd-chat-close", "×");
    ui.close.type = "button";
    ui.close.setAttribute("aria-label", T.close);
    header.appendChild(ui.close);

    ui.conn = el("div", "gd-chat-conn", T.connecting);
    ui.conn.setAttribute("role", "status");
    ui.log = el("ol", "gd-chat-log");
    ui.log.setAttribute("role", "log");
    ui.log.setAttribute("aria-live", "polite");
    ui.progress = el("div", "gd-chat-progress");
    ui.progress.setAttribute("aria-live", "polite");
    ui.progress.hidden = true;

    var links = el("div", "gd-chat-links");
    ui.status = el("a", "gd-chat-status", T.status);
    ui.status.target = "_blank";
    ui.status.rel = "noopener noreferrer";
    ui.status.hidden = true;
    ui.human = el("button", "gd-chat-human", T.human);
    ui.human.type = "button";
    ui.link = el("button", "gd-chat-link", T.link);
    ui.link.type = "button";
    ui.link.setAttribute("aria-expanded", "false");
    links.appendChild(ui.status);
    links.appendChild(ui.link);
    links.appendChild(ui.human);

    // "Link my email or phone": address first, then the code that was sent there.
    ui.verify = el("form", "gd-chat-verify");
    ui.verify.hidden = true;
    ui.verifyInput = el("input", "gd-chat-verify-input");
    ui.verifyInput.type = "text";
    ui.verifyInput.maxLength = 320;
    ui.verifyInput.autocomplete = "off";
    ui.verifySubmit = el("button", "gd-chat-verify-submit", T.sendCode);
    ui.verifySubmit.type = "submit";
    ui.verifyCancel = el("button", "gd-chat-verify-cancel", T.cancel);
    ui.verifyCancel.type = "button";
    ui.verifyNote = el("div", "gd-chat-verify-note");
    ui.verifyNote.setAttribute("role", "status");
    ui.verifyNote.hidden = true;
    ui.verify.appendChild(ui.verifyInput);
    ui.verify.appendChild(ui.verifySubmit);
    ui.verify.appendChild(ui.verifyCancel);

    ui.form = el("form", "gd-chat-form");
    ui.input = el("textarea", "gd-chat-input");
    ui.input.rows = 1;
    ui.input.maxLength = MAX_TEXT;
    ui.input.placeholder = T.placeholder;
    ui.input.setAttribute("aria-label", T.placeholder);
    ui.send = el("button", "gd-chat-send", T.send);
    ui.send.type = "submit";
    ui.form.appendChild(ui.input);
    ui.form.appendChild(ui.send);

    ui.panel.appendChild(header);
    ui.panel.appendChild(ui.conn);
    ui.panel.appendChild(ui.log);
    ui.panel.appendChild(ui.progress);
    ui.panel.appendChild(links);
    ui.panel.appendChild(ui.verify);
    ui.panel.appendChild(ui.verifyNote);
    ui.panel.appendChild(ui.form);

    ui.launcher = el("button", "gd-chat-launcher", T.launcher);
    ui.launcher.type = "button";
    ui.launcher.setAttribute("aria-expanded", "false");

    ui.root.appendChild(ui.panel);
    ui.root.appendChild(ui.launcher);
    document.body.appendChild(ui.root);

    ui.launcher.addEventListener("click", function () { if (ui.panel.hidden) { open(); } else { close(); } });
    ui.close.addEventListener("click", close);
    ui.human.addEventListener("click", function () { submit(T.humanText); });
    ui.link.addEventListener("click", function () { if (ui.verify.hidden) { openVerify(); } else { closeVerify(); } });
    ui.verifyCancel.addEventListener("click", closeVerify);
    ui.verify.addEventListener("submit", function (ev) {
      ev.preventDefault();
      submitVerify();
    });
    ui.form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (submit(ui.input.value)) { ui.input.value = ""; }
    });
    ui.input.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        if (submit(ui.input.value)) { ui.input.value = ""; }
      }
    });
  }

  function open() {
    ui.panel.hidden = false;
    ui.launcher.setAttribute("aria-expanded", "true");
    start();
    ui.input.focus();
  }

  function close() {
    ui.panel.hidden = true;
    ui.launcher.setAttribute("aria-expanded", "false");
  }

  function scrollDown() { ui.log.scrollTop = ui.log.scrollHeight; }

  function findMessage(attr, value) {
    var items = ui.log.children;
    for (var i = 0; i < items.length; i++) {
      if (items[i].getAttribute(attr) === value) { return items[i]; }
    }
    return null;
  }

  // One bubble. author: customer | ai | agent | system. Text goes in with textContent only.
  function bubble(author, text, opts) {
    opts = opts || {};
    var li = el("li", "gd-chat-msg gd-chat-msg--" + author);
    var meta = el("div", "gd-chat-meta");
    var who = { customer: T.you, ai: T.ai, agent: T.agent, system: T.system }[author] || T.system;
    if (author === "agent" && opts.name) { who = opts.name + " (" + T.agent + ")"; }
    meta.appendChild(el("span", "gd-chat-author", who));
    if (author === "ai") { meta.appendChild(el("span", "gd-chat-badge", T.badge)); }
    var at = opts.at ? new Date(opts.at) : new Date();
    if (!isNaN(at.getTime())) {
      var t = el("time", "gd-chat-time", at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }));
      t.setAttribute("datetime", at.toISOString());
      meta.appendChild(t);
    }
    li.appendChild(meta);
    li.appendChild(el("div", "gd-chat-text", text));
    if (author === "ai" && opts.disclosure) { li.appendChild(el("div", "gd-chat-disclosure", opts.disclosure)); }
    if (opts.messageId) { li.setAttribute("data-message-id", opts.messageId); }
    if (opts.clientId) { li.setAttribute("data-client-id", opts.clientId); }
    if (author === "customer") {
      li.appendChild(el("div", "gd-chat-state", opts.messageId ? T.delivered : T.sending));
    }
    ui.log.appendChild(li);
    scrollDown();
    return li;
  }

  function markDelivered(li, messageId) {
    li.setAttribute("data-message-id", messageId);
    var state = li.querySelector(".gd-chat-state");
    if (state) { state.textContent = T.delivered; }
  }

  function showProgress(text) {
    ui.progress.textContent = text;
    ui.progress.hidden = !text;
  }

  function setConn(text) {
    ui.conn.textContent = text || "";
    ui.conn.hidden = !text;
  }

  function safeUrl(url) {
    if (!url || typeof url !== "string") { return null; }
    try {
      var u = new URL(url, window.location.href);
      return (u.protocol === "http:" || u.protocol === "https:") ? u.href : null;
    } catch (e) { return null; }  // not a URL: no link
  }

  function setStatusUrl(url) {
    var href = safeUrl(url);
    if (href) {
      ui.status.href = href;
      ui.status.hidden = false;
    }
  }

  // -- linking an email address or phone number -------------------------------------------------
  var verifyStage = "address";  // address | code
  function setVerifyStage(stage) {
    verifyStage = stage;
    ui.verifyInput.value = "";
    if (stage === "code") {
      ui.verifyInput.placeholder = T.linkCode;
      ui.verifyInput.inputMode = "numeric";
      ui.verifyInput.autocomplete = "one-time-code";
      ui.verifyInput.maxLength = 12;
      ui.verifySubmit.textContent = T.confirm;
    } else {
      ui.verifyInput.placeholder = T.linkAddress;
      ui.verifyInput.inputMode = "email";
      ui.verifyInput.autocomplete = "off";
      ui.verifyInput.maxLength = 320;
      ui.verifySubmit.textContent = T.sendCode;
    }
    ui.verifyInput.setAttribute("aria-label", ui.verifyInput.placeholder);
  }
  function verifyNote(text) {
    ui.verifyNote.textContent = text || "";
    ui.verifyNote.hidden = !text;
  }
  function openVerify() {
    setVerifyStage("address");
    verifyNote("");
    ui.verify.hidden = false;
    ui.link.setAttribute("aria-expanded", "true");
    start();
    ui.verifyInput.focus();
  }
  function closeVerify() {
    ui.verify.hidden = true;
    ui.link.setAttribute("aria-expanded", "false");
  }
  function submitVerify() {
    var value = String(ui.verifyInput.value || "").trim();
    if (!value || !ws || !ready || ws.readyState !== WebSocket.OPEN) { return; }
    if (verifyStage === "code") {
      ws.send(JSON.stringify({ type: "verify_code", code: value }));
    } else {
      ws.send(JSON.stringify({ type: "verify_start", address: value }));
    }
  }

  // -- sending --------------------------------------------------------------------------------------
  function submit(raw) {
    var text = String(raw || "").trim();
    if (!text) { return false; }
    if (text.length > MAX_TEXT) { text = text.slice(0, MAX_TEXT); }
    var item = { id: uuid4(), text: text };
    pending.push(item);
    save(PENDING_KEY, pending);
    bubble("customer", text, { clientId: item.id });
    start();
    transmit(item);
    return true;
  }

  function transmit(item) {
    if (ws && ready && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ type: "message", id: item.id, text: item.text }));
    }
  }

  function flush() {
    for (var i = 0; i < pending.length; i++) { transmit(pending[i]); }
  }

  function retrySoon(ms) {
    if (retryTimer) { return; }
    retryTimer = window.setTimeout(function () { retryTimer = null; flush(); }, ms);
  }

  function dropPending(id) {
    pending = pending.filter(function (p) { return p.id !== id; });
    save(PENDING_KEY, pending);
  }

  // -- receiving ------------------------------------------------------------------------------------
  var handlers = {
    session: function (f) {
      token = f.token;
      save(TOKEN_KEY, token);
      setStatusUrl(f.status_url);
      ready = true;
      attempts = 0;
      setConn("");
    },
    history: function (f) {
      var items = Array.isArray(f.messages) ? f.messages : [];
      while (ui.log.firstChild) { ui.log.removeChild(ui.log.firstChild); }
      items.forEach(function (m) {
        bubble(m.author, m.text, { messageId: m.id, disclosure: m.ai_disclosure, at: m.at });
      });
      pending.forEach(function (p) { bubble("customer", p.text, { clientId: p.id }); });
      flush();
    },
    ack: function (f) {
      var li = findMessage("data-client-id", f.id);
      var stored = findMessage("data-message-id", f.message_id);
      if (li && stored && stored !== li) {
        li.parentNode.removeChild(li);  // already shown from the history: a resend of a stored message
      } else if (li) {
        markDelivered(li, f.message_id);
      }
      dropPending(f.id);
      showProgress(T.received);
    },
    progress: function (f) {
      var text = { received: T.received, working: T.working, replied: T.replied, handed_off: T.handedOff }[f.step];
      if (f.step === "handed_off" && f.notice) { text = f.notice; }
      if (text) { showProgress(text); }
    },
    reply: function (f) {
      if (findMessage("data-message-id", f.message_id)) { return; }
      var author = f.ai ? "ai" : (f.author === "agent" ? "agent" : "system");
      var li = bubble(author, f.text, { messageId: f.message_id, disclosure: f.disclosure, name: f.author_name,
                                        at: f.at });
      var href = safeUrl(f.status_url);
      if (href) {  // the status page of this request, as in email and SMS replies
        var a = el("a", "gd-chat-reply-status", T.status);
        a.href = href;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        li.appendChild(a);
        setStatusUrl(href);
      }
      if (author !== "system") { showProgress(T.replied); }  // a notice that a person takes over is no answer
    },
    verify: function (f) {
      if (f.state === "code_sent") {
        setVerifyStage("code");
        verifyNote(T.codeSent);
        ui.verifyInput.focus();
      } else if (f.state === "verified") {
        closeVerify();
        setVerifyStage("address");
        verifyNote(T.verified);
      }
    },
    error: function (f) {
      if (Object.prototype.hasOwnProperty.call(T.verifyErrors, f.code)) {
        verifyNote(T.verifyErrors[f.code]);
        if (f.code === "code_locked" || f.code === "no_code") { setVerifyStage("address"); }
        return;
      }
      if (f.code === "rate_limited") {
        showProgress(T.rateLimited);
        retrySoon(20000);
      } else if (f.code === "unavailable") {
        showProgress(T.unavailable);
        retrySoon(5000);
      } else if (f.code === "id_conflict" && f.id) {
        var li = findMessage("data-client-id", f.id);
        pending.forEach(function (p) {
          if (p.id === f.id) {
            p.id = uuid4();
            if (li) { li.setAttribute("data-client-id", p.id); }
            transmit(p);
          }
        });
        save(PENDING_KEY, pending);
      }
    },
    attachments: function (f) {  // download links for files on replies (signed for this session)
      (Array.isArray(f.items) ? f.items : []).forEach(function (a) {
        var li = findMessage("data-message-id", a.message_id);
        if (!li || li.querySelector('[data-attachment-id="' + String(a.id).replace(/[^A-Za-z0-9_]/g, "") + '"]')) { return; }
        var href = safeUrl(new URL(String(a.url || ""), base.origin).href);
        if (!href || new URL(href).origin !== base.origin) { return; }
        var link = el("a", "gd-chat-attachment", a.filename + " (" + a.size + ")");
        link.href = href;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        link.setAttribute("download", String(a.filename || ""));
        link.setAttribute("data-attachment-id", String(a.id));
        link.setAttribute("aria-label", T.download + ": " + a.filename);
        li.appendChild(link);
      });
    },
    pong: function () { }
  };

  function onFrame(ev) {
    var frame;
    try { frame = JSON.parse(ev.data); } catch (e) { return; }
    if (frame && typeof frame.type === "string" && Object.prototype.hasOwnProperty.call(handlers, frame.type)) {
      handlers[frame.type](frame);
    }
  }

  // -- connection -----------------------------------------------------------------------------------
  function start() {
    if (started) { return; }
    started = true;
    connect();
  }

  function connect() {
    reconnectTimer = null;
    ready = false;
    setConn(attempts === 0 ? T.connecting : T.offline);
    var socket;
    try { socket = new WebSocket(WS_URL); } catch (e) { scheduleReconnect(); return; }
    ws = socket;
    socket.addEventListener("open", function () {
      socket.send(JSON.stringify({ type: "hello", token: token, language: navigator.language || LANG }));
      pingTimer = window.setInterval(function () {
        if (socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify({ type: "ping" })); }
      }, PING_MS);
    });
    socket.addEventListener("message", onFrame);
    socket.addEventListener("close", function () {
      if (pingTimer) { window.clearInterval(pingTimer); pingTimer = null; }
      if (ws === socket) { ws = null; ready = false; scheduleReconnect(); }
    });
  }

  function scheduleReconnect() {
    if (reconnectTimer) { return; }
    setConn(T.offline);
    var delay = Math.min(15000, 500 * Math.pow(2, attempts)) * (0.5 + Math.random() / 2);
    attempts += 1;
    reconnectTimer = window.setTimeout(connect, delay);
  }

  function init() {
    build();
    if (token || pending.length) { start(); }  // a returning visitor sees replies that came meanwhile
  }

  window.GlassdeskChat = { open: function () { open(); }, close: function () { close(); } };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}());
