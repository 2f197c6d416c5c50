/*
 * supportdesk chat widget: plain JavaScript, no build step, no third party.
 *
 * Embed on any page whose origin is in the desk's CHAT_ALLOWED_ORIGINS:
 *   <script src="https://desk.example/static/tickets/widget.js"
 *           data-desk="https://desk.example" defer></script>
 * data-mode="page" fills the page instead of showing a launcher button.
 *
 * Nothing is lost across reloads or drops: the session token and every
 * unacknowledged outgoing message (with its client id) live in localStorage.
 * A page load fetches the whole conversation; a reconnect asks only for what
 * came after the last message id shown, and resends what was not
 * acknowledged, which the desk stores only once.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script) return;
  var desk = (script.getAttribute("data-desk") || new URL(script.src).origin)
    .replace(/\/+$/, "");
  if (!desk) desk = window.location.origin;
  var mode = script.getAttribute("data-mode") || "launcher";
  var storeKey = "supportdesk.chat:" + desk;

  var STATUS_TEXT = {
    idle: "Ask us anything. A person is always one click away.",
    reading: "Reading your message\u2026",
    answered: "Answered by our assistant. Not solved? Talk to a person.",
    waiting: "Waiting for a person.",
    no_agents:
      "No one is online right now. Leave your email and we\u2019ll reply by email.",
    reply_by_email: "No one is online right now \u2014 we\u2019ll reply by email.",
    with_agent: "You are chatting with a person.",
    resolved: "This conversation is resolved. Write again any time.",
  };
  var AUTHOR = { customer: "You", ai: "Assistant (AI)", agent: "Support", system: "Desk" };

  // --- state kept across reloads -------------------------------------------
  var state = load();
  function load() {
    try {
      var saved = JSON.parse(localStorage.getItem(storeKey) || "{}");
      return {
        token: saved.token || null,
        maxChars: saved.maxChars || 0,
        lastId: 0, // the last message shown by this page view
        pending: Array.isArray(saved.pending) ? saved.pending : [],
        open: !!saved.open,
      };
    } catch (e) {
      return { token: null, maxChars: 0, lastId: 0, pending: [], open: false };
    }
  }
  function save() {
    try {
      localStorage.setItem(storeKey, JSON.stringify({
        token: state.token, maxChars: state.maxChars,
        pending: state.pending, open: state.open,
      }));
    } catch (e) {
      /* private mode: the conversation still works for this page view */
    }
  }

  // --- DOM, inside a shadow root so the host page's CSS cannot leak in -----
  var host = document.createElement("div");
  host.className = "supportdesk-chat";
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = desk + "/static/tickets/widget.css";
  root.appendChild(css);

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  var launcher = el("button", "sd-launcher", "Chat with us");
  launcher.type = "button";
  launcher.setAttribute("aria-label", "Open support chat");
  var panel = el("section", "sd-panel" + (mode === "page" ? " sd-page" : ""));
  panel.setAttribute("aria-label", "Support chat");
  var header = el("header", "sd-header");
  var title = el("div", "sd-title", "Support");
  var human = el("button", "sd-human", "Talk to a person");
  human.type = "button";
  var close = el("button", "sd-close", "\u00d7");
  close.type = "button";
  close.setAttribute("aria-label", "Close chat");
  header.appendChild(title);
  header.appendChild(human);
  if (mode !== "page") header.appendChild(close);
  var statusLine = el("div", "sd-status", STATUS_TEXT.idle);
  statusLine.setAttribute("role", "status");
  var contactRow = el("form", "sd-contact");
  var emailInput = el("input", "sd-email");
  emailInput.type = "email";
  emailInput.placeholder = "Your email (optional)";
  emailInput.setAttribute("aria-label", "Your email");
  var emailSave = el("button", "sd-email-save", "Save");
  emailSave.type = "submit";
  contactRow.appendChild(emailInput);
  contactRow.appendChild(emailSave);
  var log = el("ol", "sd-log");
  log.setAttribute("aria-live", "polite");
  var typing = el("div", "sd-typing", "");
  var errorLine = el("div", "sd-error", "");
  errorLine.setAttribute("role", "alert");
  var form = el("form", "sd-form");
  var input = el("textarea", "sd-input");
  input.rows = 2;
  input.placeholder = "Write a message\u2026";
  input.setAttribute("aria-label", "Message");
  var send = el("button", "sd-send", "Send");
  send.type = "submit";
  form.appendChild(input);
  form.appendChild(send);
  [header, statusLine, contactRow, log, typing, errorLine, form].forEach(function (n) {
    panel.appendChild(n);
  });
  root.appendChild(panel);
  if (mode !== "page") root.appendChild(launcher);

  function mount() {
    document.body.appendChild(host);
    setOpen(mode === "page" || state.open);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  function setOpen(open) {
    state.open = open;
    save();
    panel.hidden = !open;
    launcher.hidden = open;
    if (open) start();
  }
  launcher.addEventListener("click", function () { setOpen(true); });
  close.addEventListener("click", function () { setOpen(false); });

  // --- rendering ------------------------------------------------------------
  var shown = {}; // message id -> <li>
  var pendingNodes = {}; // client id -> <li>

  function bubble(author, text, note) {
    var item = el("li", "sd-msg sd-" + author);
    item.appendChild(el("div", "sd-who", AUTHOR[author] || author));
    item.appendChild(el("div", "sd-text", text));
    if (note) item.appendChild(el("div", "sd-note", note));
    return item;
  }

  function showMessage(message) {
    if (shown[message.id]) return;
    var item = bubble(message.author_kind, message.text);
    item.setAttribute("data-id", message.id);
    shown[message.id] = item;
    // Keep the log in id order even when a resync interleaves with live events.
    var after = null;
    var items = log.querySelectorAll("li[data-id]");
    for (var i = 0; i < items.length; i++) {
      if (Number(items[i].getAttribute("data-id")) > message.id) {
        after = items[i];
        break;
      }
    }
    log.insertBefore(item, after || firstPending());
    if (message.id > state.lastId) state.lastId = message.id;
    if (message.author_kind !== "customer") typing.textContent = "";
    scroll();
  }

  function firstPending() {
    return log.querySelector("li.sd-pending");
  }

  function showPending(entry) {
    if (pendingNodes[entry.client_msg_id]) return;
    var item = bubble("customer", entry.text, "sending\u2026");
    item.classList.add("sd-pending");
    pendingNodes[entry.client_msg_id] = item;
    log.appendChild(item);
    scroll();
  }

  function scroll() {
    log.scrollTop = log.scrollHeight;
  }

  function showStatus(status) {
    var text = STATUS_TEXT[status.state] || "";
    if (status.state === "waiting") {
      text = "Waiting for a person \u2014 you are number " + status.queue_position +
        " in line.";
      if (status.expected_wait_seconds != null) {
        text += " Usually about " +
          Math.max(1, Math.round(status.expected_wait_seconds / 60)) + " min.";
      }
    }
    var queued = { waiting: 1, no_agents: 1, reply_by_email: 1 };
    if (status.wants_human && queued[status.state]) {
      text = "You asked for a person. " + text;
    }
    statusLine.textContent = text;
    statusLine.setAttribute("data-state", status.state);
    contactRow.hidden = !!status.email && status.state !== "no_agents";
    if (status.email) emailInput.placeholder = "Email saved \u2014 change it?";
    human.classList.toggle("sd-asked", !!status.wants_human);
  }

  function showError(text) {
    errorLine.textContent = text || "";
  }

  // --- transport: websocket first, HTTP when it is down -----------------------
  var socket = null;
  var socketUp = false;
  var retry = 0;
  var starting = null;
  var pollTimer = null;
  var pingTimer = null;
  var statusTimer = null;

  function api(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (state.token) headers["X-Chat-Token"] = state.token;
    return fetch(desk + "/chat/api/" + path, {
      method: method,
      headers: headers,
      body: body ? JSON.stringify(body) : undefined,
      credentials: "omit",
    }).then(function (response) {
      return response.json().then(function (data) {
        if (response.status === 403 && data.code === "bad_token") resetSession();
        if (!response.ok) {
          var error = new Error(data.error || "request failed");
          error.data = data;
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }

  function start() {
    if (starting) return starting;
    starting = (state.token ? Promise.resolve() : api("POST", "sessions", {
      language: (navigator.language || "").slice(0, 2),
    }).then(function (data) {
      state.token = data.token;
      state.maxChars = data.max_message_chars;
      save();
    })).then(function () {
      // The desk refuses longer messages anyway; this stops them being typed.
      if (state.maxChars) input.maxLength = state.maxChars;
      state.pending.forEach(showPending);
      connect();
    }).catch(function (error) {
      starting = null;
      showError("Could not reach support: " + error.message);
      setTimeout(start, 5000);
    });
    return starting;
  }

  function resetSession() {
    state.token = null;
    state.lastId = 0;
    save();
    starting = null;
  }

  function connect() {
    if (!state.token) return;
    var url = desk.replace(/^http/, "ws") + "/ws/chat/" + encodeURIComponent(state.token) + "/";
    try {
      socket = new WebSocket(url);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    socket.onopen = function () {
      socketUp = true;
      retry = 0;
      stopPolling();
      showError("");
      frame({ type: "sync", after: state.lastId });
      state.pending.forEach(transmit);
      clearInterval(pingTimer);
      pingTimer = setInterval(function () { frame({ type: "ping" }); }, 25000);
    };
    socket.onmessage = function (event) {
      var data;
      try {
        data = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      handle(data);
    };
    var opened = false;
    socket.addEventListener("open", function () { opened = true; });
    socket.onclose = function () {
      socketUp = false;
      clearInterval(pingTimer);
      startPolling();
      if (opened) {
        scheduleReconnect();
        return;
      }
      // Refused at the handshake: an expired or unknown token gets a new
      // session; anything else (desk down) is retried.
      api("GET", "status").then(function (status) {
        showStatus(status);
        scheduleReconnect();
      }, function (error) {
        if (error.status === 403) start();
        else scheduleReconnect();
      });
    };
  }

  function scheduleReconnect() {
    retry = Math.min(retry + 1, 5);
    var delay = Math.pow(2, retry - 1) * 1000 + Math.random() * 500;
    setTimeout(connect, delay);
  }

  function frame(data) {
    if (socketUp && socket.readyState === 1) {
      socket.send(JSON.stringify(data));
      return true;
    }
    return false;
  }

  function handle(data) {
    switch (data.type) {
      case "chat.history":
        data.messages.forEach(showMessage);
        break;
      case "chat.message":
        showMessage(data.message);
        break;
      case "message.ack":
        acknowledge(data);
        break;
      case "chat.ticket":
        frame({ type: "sync", after: state.lastId });
        break;
      case "chat.status":
        showStatus(data);
        break;
      case "chat.typing":
        if (data.who !== "customer") {
          typing.textContent = data.typing ? "Support is typing\u2026" : "";
        }
        break;
      case "error":
        if (data.ref) failPending(data.ref, data);
        else showError(data.error);
        break;
    }
  }

  // --- sending ----------------------------------------------------------------
  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function transmit(entry) {
    if (frame({ type: "message.send", client_msg_id: entry.client_msg_id, text: entry.text })) {
      return;
    }
    api("POST", "messages", entry).then(acknowledge, function (error) {
      if (error.status) failPending(entry.client_msg_id, error.data || {});
      // No status: the network is down; the entry stays pending and is resent.
    });
  }

  function acknowledge(ack) {
    state.pending = state.pending.filter(function (p) {
      return p.client_msg_id !== ack.client_msg_id;
    });
    save();
    var node = pendingNodes[ack.client_msg_id];
    delete pendingNodes[ack.client_msg_id];
    if (node) node.remove();
    showMessage(ack.message);
  }

  function failPending(clientId, error) {
    var node = pendingNodes[clientId];
    var retryable = error.code === "rate_limited";
    if (!retryable) {
      // Refused for good (too long, empty): drop it so it is not resent forever.
      state.pending = state.pending.filter(function (p) { return p.client_msg_id !== clientId; });
      save();
      delete pendingNodes[clientId];
    }
    if (node) {
      var note = node.querySelector(".sd-note");
      if (note) note.textContent = "Not sent: " + (error.error || "error");
      node.classList.add("sd-failed");
    } else {
      showError(error.error);
    }
    if (retryable) {
      setTimeout(function () {
        state.pending.forEach(function (p) { if (p.client_msg_id === clientId) transmit(p); });
      }, (error.retry_after || 5) * 1000);
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    var entry = { client_msg_id: newClientId(), text: text };
    state.pending.push(entry);
    save();
    input.value = "";
    showPending(entry);
    showError("");
    frame({ type: "typing", typing: false });
    start().then(function () { transmit(entry); });
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
    }
  });

  var typingSentAt = 0;
  var typingStop = null;
  input.addEventListener("input", function () {
    var now = Date.now();
    if (now - typingSentAt > 3000) {
      typingSentAt = now;
      frame({ type: "typing", typing: true });
    }
    clearTimeout(typingStop);
    typingStop = setTimeout(function () {
      typingSentAt = 0;
      frame({ type: "typing", typing: false });
    }, 4000);
  });

  human.addEventListener("click", function () {
    human.classList.add("sd-asked");
    start().then(function () {
      if (!frame({ type: "escalate" })) api("POST", "escalate", {}).then(showStatus, failAction);
    });
  });

  contactRow.addEventListener("submit", function (event) {
    event.preventDefault();
    var email = emailInput.value.trim();
    if (!email) return;
    start().then(function () {
      if (!frame({ type: "contact", email: email })) {
        api("POST", "contact", { email: email }).then(showStatus, failAction);
      }
      emailInput.value = "";
    });
  });

  function failAction(error) {
    showError(error.message);
  }

  // --- while the socket is down, poll so replies still arrive ---------------
  function startPolling() {
    if (pollTimer) return;
    pollTimer = setInterval(function () {
      if (!state.token) return;
      api("GET", "messages?after=" + state.lastId).then(function (data) {
        data.messages.forEach(showMessage);
        showStatus(data.status);
        state.pending.forEach(transmit);
      }, function () {});
    }, 5000);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }

  // Queue position moves when other tickets are taken; ask now and then.
  statusTimer = setInterval(function () {
    var current = statusLine.getAttribute("data-state");
    if (current === "waiting" || current === "no_agents" || current === "reply_by_email") {
      frame({ type: "status" });
    }
  }, 20000);
})();
