/*
 * PoreGuide chat widget. One tag embeds it on any page:
 *   <script src="https://your-poreguide-host/chat/widget.js" defer></script>
 * It loads its stylesheet and the socket.io client from the same server, talks to the Rasa
 * socket.io channel (events user_uttered / bot_uttered, session_request / session_confirm) and
 * keeps the session id and the conversation in localStorage, so a reload continues it.
 * Every message is shown with textContent: nothing the bot or a user writes is parsed as HTML.
 */
(function () {
  "use strict";
  if (window.PoreGuideWidget) { return; }

  var script = document.currentScript || document.querySelector('script[src*="/chat/widget.js"]');
  var assetBase = new URL(".", script.src).href;            // https://host/chat/
  var serverOrigin = new URL(script.src).origin;            // https://host
  var title = script.getAttribute("data-title") || "PoreGuide";
  var MAX_LENGTH = 2000;
  var MAX_HISTORY = 200;
  var REPLY_TIMEOUT_MS = 45000;
  var KEYS = { session: "poreguide.session", history: "poreguide.history", open: "poreguide.open" };

  // ------------------------------------------------------------------ storage (may be disabled)
  function load(store, key, fallback) {
    try { var value = store.getItem(key); return value === null ? fallback : JSON.parse(value); }
    catch (e) { return fallback; }
  }
  function save(store, key, value) {
    try { store.setItem(key, JSON.stringify(value)); } catch (e) { /* storage full or disabled */ }
  }
  function newSessionId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  var state = {
    sessionId: load(localStorage, KEYS.session, null) || newSessionId(),
    history: load(localStorage, KEYS.history, []),
    socket: null,
    waiting: null
  };
  if (!Array.isArray(state.history)) { state.history = []; }
  save(localStorage, KEYS.session, state.sessionId);

  // ------------------------------------------------------------------ DOM helpers (no innerHTML)
  function el(tag, className, attributes, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function icon(pathData, className) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    if (className) { svg.setAttribute("class", className); }
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", pathData);
    svg.appendChild(path);
    return svg;
  }
  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z",
    close: "M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z",
    restart: "M12 5V2L7 6l5 4V7a5 5 0 1 1-5 5H5a7 7 0 1 0 7-7z",
    send: "M3 20.5 21 12 3 3.5v6.6l12 1.9-12 1.9z"
  };

  function loadStylesheet(done) {
    var link = el("link", null, { rel: "stylesheet", href: assetBase + "widget.css" });
    link.addEventListener("load", done);
    link.addEventListener("error", done);
    document.head.appendChild(link);
  }

  // ------------------------------------------------------------------ the widget's elements
  var root = el("div", "pg-widget", { id: "poreguide-widget" });
  var launcher = el("button", "pg-launcher", {
    type: "button", "aria-label": "Open chat with " + title, "aria-expanded": "false", "aria-controls": "pg-panel"
  });
  launcher.appendChild(icon(ICONS.chat, "pg-when-closed"));
  launcher.appendChild(icon(ICONS.close, "pg-when-open"));
  var panel = el("section", "pg-panel", { id: "pg-panel", role: "dialog", "aria-label": title + " chat" });
  panel.hidden = true;

  var header = el("div", "pg-header");
  var heading = el("div", "pg-heading");
  heading.appendChild(el("p", "pg-title", {}, title));
  heading.appendChild(el("p", "pg-subtitle", {}, "Enlarged pores & treatments"));
  var restartButton = el("button", "pg-icon-button", { type: "button", "aria-label": "Start a new conversation",
                                                       title: "New conversation" });
  restartButton.appendChild(icon(ICONS.restart));
  var closeButton = el("button", "pg-icon-button", { type: "button", "aria-label": "Close chat", title: "Close" });
  closeButton.appendChild(icon(ICONS.close));
  header.appendChild(heading);
  header.appendChild(restartButton);
  header.appendChild(closeButton);

  var body = el("div", "pg-body");
  var log = el("div", "pg-log", { role: "log", "aria-live": "polite", "aria-label": "Conversation" });
  var typing = el("div", "pg-typing", { "aria-hidden": "true" });
  typing.appendChild(el("span", "pg-dot"));
  typing.appendChild(el("span", "pg-dot"));
  typing.appendChild(el("span", "pg-dot"));
  typing.hidden = true;
  body.appendChild(log);
  body.appendChild(typing);

  var status = el("p", "pg-status", { role: "status" });
  var form = el("form", "pg-form", { autocomplete: "off" });
  var inputId = "pg-input";
  var label = el("label", "pg-sr-only", { "for": inputId }, "Your message");
  var input = el("input", "pg-input", {
    id: inputId, type: "text", maxlength: String(MAX_LENGTH), placeholder: "Type your question…",
    "aria-label": "Your message", enterkeyhint: "send"
  });
  var sendButton = el("button", "pg-send", { type: "submit", "aria-label": "Send message" });
  sendButton.appendChild(icon(ICONS.send));
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(sendButton);
  var disclaimer = el("p", "pg-disclaimer", {}, "General information, not medical advice.");

  panel.appendChild(header);
  panel.appendChild(body);
  panel.appendChild(status);
  panel.appendChild(form);
  panel.appendChild(disclaimer);
  root.appendChild(panel);
  root.appendChild(launcher);

  // ------------------------------------------------------------------ messages
  function scrollToEnd() { body.scrollTop = body.scrollHeight; }

  function removeQuickReplies() {
    Array.prototype.forEach.call(log.querySelectorAll(".pg-quick"), function (node) { node.remove(); });
  }

  function renderQuickReplies(buttons) {
    var group = el("div", "pg-quick", { role: "group", "aria-label": "Suggested answers" });
    buttons.forEach(function (button) {
      var choice = el("button", "pg-quick-button", { type: "button" }, button.title);
      choice.addEventListener("click", function () { send(button.payload, button.title); });
      group.appendChild(choice);
    });
    log.appendChild(group);
  }

  function render(entry, isLatest) {
    var bubble = el("div", "pg-msg pg-" + entry.who);
    bubble.appendChild(el("span", "pg-sr-only", {}, entry.who === "user" ? "You: " : title + ": "));
    bubble.appendChild(el("span", "pg-text", {}, entry.text));
    log.appendChild(bubble);
    if (isLatest && entry.quick && entry.quick.length) { renderQuickReplies(entry.quick); }
    scrollToEnd();
  }

  function remember(entry) {
    state.history.forEach(function (old) { delete old.quick; });   // only the newest buttons stay usable
    state.history.push(entry);
    state.history = state.history.slice(-MAX_HISTORY);
    save(localStorage, KEYS.history, state.history);
  }

  function addMessage(entry) {
    removeQuickReplies();
    remember(entry);
    render(entry, true);
  }

  function quickReplies(message) {
    var buttons = message.quick_replies || message.buttons || [];
    return buttons.filter(function (b) { return b && typeof b.title === "string" && typeof b.payload === "string"; })
      .map(function (b) { return { title: b.title, payload: b.payload }; });
  }

  function onBotMessage(message) {
    if (!message || typeof message.text !== "string" || !message.text.trim()) { return; }
    setWaiting(false);
    addMessage({ who: "bot", text: message.text, quick: quickReplies(message) });
  }

  // ------------------------------------------------------------------ waiting for a reply
  function setWaiting(on) {
    clearTimeout(state.waiting);
    state.waiting = null;
    typing.hidden = !on;
    if (on) {
      state.waiting = setTimeout(function () {
        typing.hidden = true;
        setStatus("No answer yet. Please try again in a moment.");
      }, REPLY_TIMEOUT_MS);
      scrollToEnd();
    }
  }

  function setStatus(text) {
    status.textContent = text;
    status.hidden = !text;
  }

  // ------------------------------------------------------------------ connection
  function emit(event, data) { if (state.socket) { state.socket.emit(event, data); } }

  function send(text, shownAs) {
    connect();
    addMessage({ who: "user", text: shownAs });
    emit("user_uttered", { message: text, session_id: state.sessionId });
    setWaiting(true);
  }

  function withSocketIoClient(callback) {
    var previous = window.io;
    var tag = el("script", null, { src: assetBase + "socket.io.min.js", async: "" });
    tag.addEventListener("load", function () {
      var client = window.io;
      if (previous !== undefined) { window.io = previous; }   // leave the host page's own copy alone
      callback(client);
    });
    tag.addEventListener("error", function () { setStatus("The chat could not load. Please try again later."); });
    document.head.appendChild(tag);
  }

  function connect() {
    if (state.socket || state.connecting) { return; }
    state.connecting = true;
    setStatus("Connecting…");
    withSocketIoClient(function (io) {
      var socket = io(serverOrigin, { path: "/socket.io" });
      socket.on("connect", function () {
        setStatus("");
        socket.emit("session_request", { session_id: state.sessionId });
      });
      socket.on("session_confirm", function (sessionId) {
        if (typeof sessionId === "string" && sessionId) {
          state.sessionId = sessionId;
          save(localStorage, KEYS.session, sessionId);
        }
      });
      socket.on("bot_uttered", onBotMessage);
      socket.on("disconnect", function () { setStatus("Connection lost. Reconnecting…"); });
      socket.on("connect_error", function () { setStatus("Can't reach the assistant. Retrying…"); });
      state.socket = socket;
      if (!state.history.length) { socket.emit("user_uttered", { message: "/greet", session_id: state.sessionId }); }
    });
  }

  // ------------------------------------------------------------------ open, close, restart
  function setOpen(open) {
    panel.hidden = !open;
    root.classList.toggle("pg-open", open);
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", (open ? "Close chat with " : "Open chat with ") + title);
    save(sessionStorage, KEYS.open, open);
    if (open) {
      connect();
      scrollToEnd();
      input.focus();
    }
  }

  function restart() {
    state.history = [];
    save(localStorage, KEYS.history, []);
    state.sessionId = newSessionId();
    save(localStorage, KEYS.session, state.sessionId);
    while (log.firstChild) { log.removeChild(log.firstChild); }
    setWaiting(false);
    if (state.socket) {
      state.socket.emit("session_request", { session_id: state.sessionId });
      state.socket.emit("user_uttered", { message: "/greet", session_id: state.sessionId });
    }
    input.focus();
  }

  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  closeButton.addEventListener("click", function () { setOpen(false); launcher.focus(); });
  restartButton.addEventListener("click", restart);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { setOpen(false); launcher.focus(); }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { input.focus(); return; }
    input.value = "";
    send(text.slice(0, MAX_LENGTH), text.slice(0, MAX_LENGTH));
  });

  function mount() {
    root.hidden = true;   // shown once styled, so the page never flashes an unstyled widget
    setStatus("");
    document.body.appendChild(root);
    state.history.forEach(function (entry, index) { render(entry, index === state.history.length - 1); });
    loadStylesheet(function () {
      root.hidden = false;
      if (load(sessionStorage, KEYS.open, false)) { setOpen(true); }
    });
  }

  window.PoreGuideWidget = { open: function () { setOpen(true); }, close: function () { setOpen(false); } };
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
