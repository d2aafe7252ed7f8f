// The agent desk (web/templates/agent.html): the browser softphone (JsSIP), the agent's status,
// and the case that rings, from the live feed /agent/events. The API is called with a
// short-lived bearer token from POST /agent/token (session cookie + CSRF token).
// Element ids and data-testid attributes are listed in docs/WEB.md.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
  const CSRF = meta("siaga-csrf");
  const TOKEN_REFRESH_MS = 5 * 60 * 1000; // tokens last 10 minutes
  const siaga = (window.siaga = { ua: null, session: null, ticket: null, events: [] });

  // ---- the API ------------------------------------------------------------
  let token = null;

  async function refreshToken() {
    const answer = await fetch("/agent/token", { method: "POST", headers: { "X-CSRF-Token": CSRF } });
    if (answer.redirected || answer.status === 401 || answer.status === 303) {
      location.assign("/login?next=/agent");
      return;
    }
    if (answer.ok) token = (await answer.json()).access_token;
  }

  function detailOf(body, status) {
    const detail = body && body.detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) return detail.map((d) => d.msg || JSON.stringify(d)).join("; ");
    return `the server answered ${status}`;
  }

  // {ok, status, body, detail}; never throws.
  async function api(method, path, body) {
    if (!token) await refreshToken();
    const send = () =>
      fetch(path, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    try {
      let answer = await send();
      if (answer.status === 401) {
        await refreshToken();
        answer = await send();
      }
      const parsed = await answer.json().catch(() => null);
      return { ok: answer.ok, status: answer.status, body: parsed, detail: answer.ok ? "" : detailOf(parsed, answer.status) };
    } catch (error) {
      return { ok: false, status: 0, body: null, detail: `no answer from the web app (${error})` };
    }
  }

  function show(id, text) {
    const el = $(id);
    el.textContent = text || "";
    el.hidden = !text;
  }

  // ---- the softphone --------------------------------------------------------
  function phoneState(state, text) {
    const el = $("phone-state");
    el.dataset.state = state;
    el.textContent = text || state;
  }

  function callState(state, text) {
    const el = $("call-state");
    el.dataset.state = state;
    el.textContent = text || state;
    $("hangup").hidden = !["ringing", "answering", "in-call"].includes(state);
    $("incoming").hidden = state !== "ringing";
  }

  function attachAudio(pc) {
    pc.addEventListener("track", (event) => {
      $("remote-audio").srcObject = event.streams[0] || new MediaStream([event.track]);
    });
  }

  function onSession(event) {
    const session = event.session;
    if (event.originator !== "remote") return;
    if (siaga.session) {
      session.terminate({ status_code: 486, reason_phrase: "Busy Here" });
      return;
    }
    siaga.session = session;
    const from = session.remote_identity;
    $("incoming-from").textContent = `Incoming call from ${from.display_name || ""} <${from.uri.user}>`;
    callState("ringing", "ringing");
    session.on("peerconnection", (e) => attachAudio(e.peerconnection));
    session.on("accepted", () => callState("in-call", "in call"));
    session.on("confirmed", () => callState("in-call", "in call"));
    const ended = (e) => {
      siaga.session = null;
      callState("idle", `call ended (${e.cause})`);
    };
    session.on("ended", ended);
    session.on("failed", ended);
  }

  async function startPhone() {
    if (typeof JsSIP !== "object") {
      phoneState("failed", "no softphone library");
      return;
    }
    const answer = await api("GET", "/api/agents/me/phone");
    if (!answer.ok) {
      phoneState("failed", `no browser phone: ${answer.detail}`);
      return;
    }
    const account = answer.body;
    const ua = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(account.ws_uri)],
      uri: account.sip_uri,
      authorization_user: account.authorization_user,
      password: account.password,
      display_name: account.display_name,
      register: true,
      register_expires: 120,
      session_timers: false,
      // JsSIP retries the WebSocket by itself, between these bounds (seconds).
      connection_recovery_min_interval: 2,
      connection_recovery_max_interval: 10,
    });
    siaga.ua = ua;
    ua.on("connecting", () => phoneState("connecting", "connecting…"));
    ua.on("connected", () => phoneState("connected", "connected, registering…"));
    ua.on("disconnected", () => phoneState("offline", "phone offline, reconnecting…"));
    ua.on("registered", () => phoneState("registered", "registered"));
    ua.on("unregistered", () => phoneState("offline", "phone offline (unregistered)"));
    ua.on("registrationFailed", (e) => phoneState("failed", `registration failed (${e.cause})`));
    ua.on("newRTCSession", onSession);
    ua.start();
  }

  $("answer").addEventListener("click", () => {
    if (!siaga.session) return;
    callState("answering", "answering…");
    siaga.session.answer({
      mediaConstraints: { audio: true, video: false },
      pcConfig: { iceServers: [] }, // a command center may have no internet: host candidates only
    });
  });

  $("hangup").addEventListener("click", () => {
    if (siaga.session) siaga.session.terminate();
  });

  // ---- the agent's status -----------------------------------------------------
  // Badung time for people, as everywhere in Siaga (the browser's own zone may be anything).
  function wita(iso) {
    const time = new Date(iso).toLocaleTimeString("en-GB", { timeZone: "Asia/Makassar" });
    return `${time} WITA`;
  }

  function showStatus(status, since) {
    const el = $("agent-status");
    el.dataset.status = status;
    el.textContent = status;
    $("agent-status-since").textContent = since ? `since ${wita(since)}` : "";
    for (const button of document.querySelectorAll("button[data-status]")) {
      button.setAttribute("aria-pressed", String(button.dataset.status === status));
    }
  }

  for (const button of document.querySelectorAll("button[data-status]")) {
    button.addEventListener("click", async () => {
      show("status-error", "");
      const answer = await api("PUT", "/api/agents/me/status", { status: button.dataset.status });
      if (!answer.ok) show("status-error", answer.detail);
      else if (answer.body && answer.body.status) showStatus(answer.body.status, answer.body.since);
    });
  }

  // ---- the case panel -----------------------------------------------------------
  let receivedAt = null;
  const caseError = (text) => show("case-error", text);

  function tick() {
    if (!receivedAt) return;
    const seconds = Math.max(0, Math.round((Date.now() - receivedAt) / 1000));
    $("case-age").textContent = `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  }
  setInterval(tick, 1000);

  function caseState(text) {
    $("case-state").textContent = text;
  }

  async function showHistory(ticket) {
    const answer = await api("GET", `/api/cases/${encodeURIComponent(ticket)}`);
    if (siaga.ticket !== ticket) return;
    const history = answer.ok && answer.body ? answer.body.history : null;
    if (!history) {
      $("case-history").textContent = answer.ok ? "not known" : `not available: ${answer.detail}`;
      return;
    }
    const last = history.last_classification ? `, last classified ${history.last_classification}` : "";
    $("case-history").textContent = `${history.calls ?? 0} earlier call(s)${last}`;
    show("case-prank", history.flagged ? "Warning: this number is flagged for prank calls." : "");
  }

  async function loadClassifications() {
    const select = $("classification");
    if (select.options.length) return;
    const answer = await api("GET", "/api/settings/classifications");
    let items = answer.ok ? answer.body : [];
    if (items && !Array.isArray(items)) items = items.classifications || items.items || [];
    for (const item of items || []) {
      const value = typeof item === "string" ? item : item.name || item.id || item.value;
      const label = typeof item === "string" ? item : item.label || value;
      if (value) select.add(new Option(label, value));
    }
    if (!answer.ok) caseError(`classifications: ${answer.detail}`);
  }

  async function loadSuggestions(ticket, offer) {
    const body = $("suggestions");
    // The offer's category and district: the case row may not hold them yet when the phone rings.
    const query = new URLSearchParams();
    if (offer && offer.category) query.set("category", offer.category);
    if (offer && offer.district) query.set("district", offer.district);
    const answer = await api("GET", `/api/cases/${encodeURIComponent(ticket)}/suggestions?${query}`);
    body.replaceChildren();
    if (siaga.ticket !== ticket) return;
    if (!answer.ok) {
      caseError(`suggestions: ${answer.detail}`);
      return;
    }
    for (const unit of answer.body || []) {
      const row = body.insertRow();
      row.dataset.unit = unit.unit;
      row.dataset.testid = `suggestion-${unit.unit}`;
      row.insertCell().textContent = unit.name || unit.unit;
      row.insertCell().textContent = unit.agency || "";
      row.insertCell().textContent = unit.distance_km == null ? "" : `${Number(unit.distance_km).toFixed(1)} km`;
      const cell = row.insertCell();
      for (const mode of ["conference", "transfer"]) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = mode === "conference" ? "Conference" : "Transfer";
        button.dataset.testid = `dispatch-${mode}-${unit.unit}`;
        button.addEventListener("click", () => dispatch(unit.unit, mode));
        cell.append(button);
      }
    }
  }

  async function caseAction(path, body, done) {
    caseError("");
    if (!siaga.ticket) return null;
    const answer = await api("POST", `/api/cases/${encodeURIComponent(siaga.ticket)}/${path}`, body);
    if (!answer.ok) caseError(answer.detail);
    else if (done) $("case-done").textContent = done;
    return answer;
  }

  async function dispatch(unit, mode) {
    $("dispatch-state").textContent = `${unit} (${mode}): asking…`;
    const answer = await caseAction("dispatch", { unit, mode });
    if (answer && !answer.ok) $("dispatch-state").textContent = `${unit} (${mode}): refused`;
  }

  function openCase(offer) {
    siaga.ticket = offer.ticket;
    receivedAt = offer.received_at ? Date.parse(offer.received_at) : Date.now();
    $("case-ticket").textContent = offer.ticket;
    $("case-caller").textContent = offer.caller_number || "unknown";
    $("case-line").textContent = offer.line || "";
    $("case-language").textContent = offer.language || "";
    $("case-category").textContent = offer.category || "";
    $("case-district").textContent = offer.district || "";
    $("case-history").textContent = "…";
    $("dispatch-state").textContent = "";
    $("case-done").textContent = "";
    caseState(offer.silent ? "ringing · silent caller" : "ringing");
    show("case-prank", "");
    caseError("");
    tick();
    $("case-panel").hidden = false;
    $("no-case").hidden = true;
    showHistory(offer.ticket);
    loadClassifications();
    loadSuggestions(offer.ticket, offer);
  }

  function closeCase(text) {
    siaga.ticket = null;
    receivedAt = null;
    $("case-panel").hidden = true;
    const none = $("no-case");
    none.hidden = false;
    none.textContent = text || "No case on the desk.";
  }

  $("classify-form").addEventListener("submit", (e) => {
    e.preventDefault();
    caseAction("classification", { classification: $("classification").value }, "Classified.");
  });
  $("note-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const answer = await caseAction("notes", { text: $("note-text").value }, "Note added.");
    if (answer && answer.ok) $("note-text").value = "";
  });
  $("correct-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = {};
    if ($("correct-category").value) body.category = $("correct-category").value;
    if ($("correct-district").value) body.district = $("correct-district").value;
    const answer = await caseAction("corrections", body, "Corrected.");
    if (answer && answer.ok) loadSuggestions(siaga.ticket);  // the corrected category or district routes anew
  });
  $("close-case").addEventListener("click", async () => {
    const answer = await caseAction("close", undefined);
    if (answer && answer.ok) closeCase("Case closed.");
  });

  // ---- the live feed -------------------------------------------------------------
  function onService(message) {
    const problems = [];
    if (message.up === false) problems.push("The call service is down: calls go to the fallback group.");
    if (message.live === false) problems.push("Live updates are unavailable (Redis is down).");
    show("service-banner", problems.join(" "));
  }

  const handlers = {
    service: onService,
    "agent.status": (m) => showStatus(m.status, m.since),
    offer: openCase,
    "offer.withdrawn": (m) => m.ticket === siaga.ticket && closeCase(`Offer ${m.ticket} withdrawn: ${m.reason || ""}`),
    taken: (m) => m.ticket === siaga.ticket && caseState("taken"),
    dispatch: (m) => {
      if (m.ticket === siaga.ticket) $("dispatch-state").textContent = `${m.unit} (${m.mode}): ${m.state}`;
    },
    "call.ended": (m) =>
      m.ticket === siaga.ticket &&
      caseState(m.call_goes_on ? "you left; the caller stays with the unit" : "call ended: wrap up and close"),
  };

  function listen() {
    const source = new EventSource("/agent/events");
    source.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      siaga.events.push(message);
      const handle = handlers[message.type];
      if (handle) handle(message);
    };
    // EventSource reconnects by itself (the feed asks for 2 s); say so meanwhile.
    source.onerror = () => show("service-banner", "Lost the live feed from the web app; reconnecting…");
  }

  refreshToken().then(startPhone);
  setInterval(refreshToken, TOKEN_REFRESH_MS);
  listen();
})();
