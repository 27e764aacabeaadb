// The dashboard page: plain JavaScript, no build step. It keeps a copy of the recent trace, draws
// the nodes, the blocks and a per-block message sequence diagram, and sends controls to /api.
// Everything it shows comes from the server: the page holds no protocol logic of its own.
"use strict";

const state = {
  status: null,        // the latest /api/status-shaped message
  events: [],          // recent trace events, events[k] has trace index eventsFirst + k
  eventsFirst: 0,
  index: 0,            // number of trace events so far
  live: true,          // false while time-travelling
  travel: null,        // {index, nodes, events, first} from /api/state when not live
  selectedBlock: null, // block number shown in the detail and the diagram
  blocks: new Map(),   // number -> block summary
};
const MAX_EVENTS = 4000;
const PHASES = ["PrePrepare", "Prepare", "Commit", "Checkpoint"];
const PHASE_COLOURS = { PrePrepare: "#2f6fde", Prepare: "#1f8a4c", Commit: "#c77700", Checkpoint: "#6b3fa0" };

const $ = (id) => document.getElementById(id);
const short = (hex) => (typeof hex === "string" && hex.length > 14 ? hex.slice(0, 10) + "…" + hex.slice(-4) : String(hex ?? "—"));

// --- talking to the server ------------------------------------------------------------------------

async function api(path, body) {
  const options = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const response = await fetch(path, options);
  const data = await response.json();
  if (!response.ok) {
    showError(data.error || response.statusText);
    throw new Error(data.error);
  }
  return data;
}

function control(action, body = {}) { return api("/api/control/" + action, body).catch(() => {}); }

function showError(message) {
  const badge = $("connection");
  badge.textContent = message;
  badge.className = "badge bad";
  setTimeout(() => setConnected(true), 3000);
}

function setConnected(ok) {
  const badge = $("connection");
  badge.textContent = ok ? "live" : "disconnected — retrying";
  badge.className = "badge " + (ok ? "ok" : "bad");
}

function connect() {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  ws.onopen = () => setConnected(true);
  ws.onmessage = (m) => receive(JSON.parse(m.data));
  ws.onclose = () => { setConnected(false); setTimeout(connect, 1000); };
}

function receive(message) {
  state.status = message;
  if (message.type === "tick" && message.events) appendEvents(message.first, message.events);
  state.index = message.index;
  if (message.type === "hello") { initControls(message); loadHistory(message.index); loadBlocks(); }
  render();
}

// A tab that connects mid-run fetches the recent past, so the newest blocks' diagrams are complete.
async function loadHistory(index) {
  state.events = [];
  state.eventsFirst = index;
  const start = Math.max(0, index - MAX_EVENTS);
  const data = await api(`/api/trace?start=${start}&end=${index}`);
  if (state.eventsFirst !== index) return;   // the window restarted meanwhile: keep what is newer
  state.events = data.events.concat(state.events);
  state.eventsFirst = start;
  render();
}

function appendEvents(first, events) {
  const have = state.eventsFirst + state.events.length;
  if (first > have) { state.events = []; state.eventsFirst = first; }   // we missed some: restart the window
  const skip = Math.max(0, have - first);
  for (const e of events.slice(skip)) state.events.push(e);
  if (state.events.length > MAX_EVENTS) {
    const cut = state.events.length - MAX_EVENTS;
    state.events.splice(0, cut);
    state.eventsFirst += cut;
  }
  for (const e of events.slice(skip)) {
    if (isCommit(e) && e.number !== undefined) state.blocksDirty = true;
  }
}

let blocksLoading = false;
async function loadBlocks() {
  if (blocksLoading) return;
  blocksLoading = true;
  try {
    const height = Math.max(0, ...currentNodes().map((n) => n.height ?? 0));
    const data = await api(`/api/blocks?start=${Math.max(0, height - 19)}&end=${height + 1}`);
    for (const b of data.blocks) state.blocks.set(b.number, b);
    state.blocksDirty = false;
    renderBlocks();
  } catch (e) { /* shown by api() */ } finally { blocksLoading = false; }
}

// --- reading trace events -----------------------------------------------------------------------
// A trace event (chain.sim.trace) is a flat JSON object: "t" (virtual ms), "ev" (what happened),
// "node", and for messages "from", "to", "type" (PRE_PREPARE…), "number", "view", "arrive".

const KIND_NAMES = { PRE_PREPARE: "PrePrepare", PREPARE: "Prepare", COMMIT: "Commit", CHECKPOINT: "Checkpoint",
  VIEW_CHANGE: "ViewChange", NEW_VIEW: "NewView" };
function isCommit(e) { return e.ev === "commit"; }
function isViewChange(kind) { return kind === "ViewChange" || kind === "NewView"; }
function messageOf(e) {
  const ev = e.ev;
  if (ev !== "send" && ev !== "drop") return null;
  const kind = KIND_NAMES[e.type];
  if (!kind || e.from === undefined || e.to === undefined) return null;   // tx gossip and sync are not drawn
  return { t: e.t, arrive: e.arrive ?? e.t + 15, from: e.from, to: e.to, kind, view: e.view, number: e.number,
    dropped: ev === "drop", reason: e.reason };
}
// The client load (submissions and transaction gossip) is most of a trace; it is hidden unless asked for.
function isClientLoad(e) { return e.type === "TX_GOSSIP" || e.ev === "submit"; }
// One trace line: messages as "PREPARE #14 v1  node 1 → node 2", anything else as its fields.
function describe(e) {
  const { t, ev, ...rest } = e;
  const head = `${String(t).padStart(7)} ms  ${String(ev).padEnd(11)} `;
  if (e.from !== undefined && e.to !== undefined) {
    const why = e.reason ? `  (${e.reason})` : "";
    return head + `${String(e.type).padEnd(12)} #${e.number} v${e.view}  node ${e.from} → node ${e.to}${why}`;
  }
  return head + Object.entries(rest).map(([k, v]) => `${k}=${v}`).join("  ");
}

// --- rendering ----------------------------------------------------------------------------------

function currentNodes() {
  if (!state.live && state.travel) return state.travel.nodes;
  return state.status ? state.status.nodes : [];
}

function nodeState(n) { return n.state || "ok"; }

function render() {
  if (!state.status) return;
  const s = state.status;
  $("chain-info").textContent = [s.suite && `suite ${s.suite}`, `${(s.nodes || []).length} nodes`, s.seed !== undefined && `seed ${s.seed}`, s.mode].filter(Boolean).join(" · ");
  $("clock").textContent = (!state.live && state.travel ? state.travel.now_ms : s.now_ms);
  $("event-index").textContent = state.live ? state.index : `${state.travel ? state.travel.index : "…"} / ${state.index}`;
  $("btn-pause").disabled = s.paused;
  $("btn-play").disabled = !s.paused;
  $("speed").value = String(s.speed);
  const scrub = $("scrub");
  scrub.max = String(state.index);
  if (state.live) { scrub.value = String(state.index); $("scrub-label").textContent = "live"; }
  renderNodes();
  renderEvents();
  if (state.blocksDirty && state.live) loadBlocks();
  renderDiagram();
}

function renderNodes() {
  const container = $("nodes");
  const nodes = currentNodes();
  const behaviours = (state.status && state.status.behaviours) || state.behaviours || [];
  // keep the partition ticks across redraws
  const ticked = new Set([...container.querySelectorAll("input.side:checked")].map((c) => Number(c.dataset.node)));
  container.innerHTML = "";
  nodes.forEach((n) => {
    const index = n.index;
    const st = nodeState(n);
    const card = document.createElement("div");
    card.className = "node " + (n.role || "") + (st === "crashed" ? " crashed" : "") + (st.startsWith("Byzantine") ? " byzantine" : "") + (st === "partitioned" ? " partitioned" : "");
    card.dataset.testid = "node";
    card.dataset.node = String(index);
    card.dataset.role = n.role || "";
    card.dataset.height = String(n.height ?? "");
    card.dataset.view = String(n.view ?? "");
    card.dataset.state = st;
    card.innerHTML = `
      <h3><span>node ${index}</span><span class="role ${n.role || ""}">${n.role || "?"}</span></h3>
      <dl>
        <dt>state</dt><dd class="${st === "ok" ? "state-ok" : "state-bad"}">${st}</dd>
        <dt>view</dt><dd class="view big">${n.view ?? "—"}</dd>
        <dt>height</dt><dd class="height big">${n.height ?? "—"}</dd>
        <dt>head</dt><dd class="mono" title="${n.head ?? ""}">${short(n.head)}</dd>
        ${n.phase ? `<dt>phase</dt><dd>${n.phase}</dd>` : ""}
        ${n.group ? `<dt>group</dt><dd>[${n.group.join(", ")}]</dd>` : ""}
        ${n.pending !== undefined && n.pending !== null ? `<dt>pool</dt><dd>${n.pending} tx</dd>` : ""}
      </dl>
      <div class="actions">
        ${st === "crashed" ? `<button class="restart">restore</button>` : `<button class="crash">crash</button>`}
        <select class="behaviour" title="Make this node Byzantine">
          <option value="">honest</option>
          ${behaviours.map((b) => `<option value="${b}" ${n.behaviour === b ? "selected" : ""}>${b}</option>`).join("")}
        </select>
        <label title="Put this node on one side of a partition"><input type="checkbox" class="side" data-node="${index}" ${ticked.has(index) ? "checked" : ""}> side</label>
      </div>`;
    if (!state.live) card.querySelectorAll("button, select").forEach((el) => { el.disabled = true; });
    const crash = card.querySelector("button.crash"), restore = card.querySelector("button.restart");
    if (crash) crash.onclick = () => control("crash", { node: index });
    if (restore) restore.onclick = () => control("restart", { node: index });
    card.querySelector("select.behaviour").onchange = (ev) => control("byzantine", { node: index, behaviour: ev.target.value || null });
    container.appendChild(card);
  });
}

// Newest first; the client load only when asked for.
function renderEvents() {
  const source = !state.live && state.travel ? state.travel.events : state.events;
  const shown = $("show-load").checked ? source : source.filter((e) => !isClientLoad(e));
  $("events").textContent = shown.slice(-200).map(describe).reverse().join("\n");
}

function renderBlocks() {
  const body = document.querySelector("#blocks tbody");
  const numbers = [...state.blocks.keys()].sort((a, b) => b - a).slice(0, 20);
  body.innerHTML = "";
  for (const number of numbers) {
    const b = state.blocks.get(number);
    const row = document.createElement("tr");
    row.dataset.number = String(number);
    if (number === state.selectedBlock) row.className = "selected";
    row.innerHTML = `<td>${number}</td><td class="mono">${short(b.hash)}</td><td>${b.transactions}</td><td>${b.sealer}</td><td>${(b.signatures || []).length}</td>`;
    row.onclick = () => { $("follow").checked = false; selectBlock(number); };
    body.appendChild(row);
  }
  // until a block is clicked, the detail and the diagram follow the newest committed block
  const follow = $("follow").checked || state.selectedBlock === null;
  if (follow && numbers.length && numbers[0] !== state.selectedBlock) selectBlock(numbers[0], true);
}

async function selectBlock(number, quiet) {
  state.selectedBlock = number;
  $("diagram-block").textContent = String(number);
  renderBlocks();
  renderDiagram();
  try {
    const b = await api("/api/blocks/" + number);
    const txs = (b.txs || []).map((tx, i) => {
      const receipt = (b.receipts || [])[i] || {};
      return `  ${short(tx.hash)}  from ${short(tx.from)}  → status ${receipt.status ?? "?"}, gas ${receipt.gasUsed ?? "?"}`;
    });
    $("block-detail").innerHTML = `<pre>block ${b.number}  hash ${b.hash}
parent  ${b.parentHash}
sealer  ${b.sealer}   timestamp ${b.timestamp}
state root ${b.stateRoot}
signatures (${(b.signatures || []).length}, checkpoint quorum):
${(b.signatures || []).map((s) => `  sealer ${s.index}: ${short(s.signature)}`).join("\n")}
transactions (${(b.txs || []).length}) and receipts:
${txs.slice(0, 50).join("\n")}${txs.length > 50 ? `\n  … ${txs.length - 50} more` : ""}</pre>`;
  } catch (e) { if (!quiet) throw e; }
}

// The per-block sequence diagram: one lifeline per node, one arrow per message (dashed and ✕ if
// dropped), time running downwards, sized to its panel so a projector shows it large.
const LABEL_WIDTH = 120;
function renderDiagram() {
  const holder = $("diagram");
  const number = state.selectedBlock;
  const source = !state.live && state.travel ? state.travel.events : state.events;
  const nodes = currentNodes();
  if (number === null || !nodes.length) { holder.innerHTML = ""; return; }
  const messages = source.map(messageOf).filter((m) => m && m.number === number && m.from !== m.to);
  if (!messages.length) { holder.innerHTML = `<p class="hint">No messages for block ${number} in the recent trace.</p>`; return; }
  const n = nodes.length;
  const width = Math.max(LABEL_WIDTH + 80 * n, holder.clientWidth - 4);
  const laneX = (i) => LABEL_WIDTH + 30 + (i * (width - LABEL_WIDTH - 60)) / Math.max(1, n - 1);
  const t0 = Math.min(...messages.map((m) => m.t)), t1 = Math.max(...messages.map((m) => m.arrive));
  const height = Math.min(900, Math.max(420, 80 + (t1 - t0) * 2));
  const y = (t) => 50 + ((t - t0) / Math.max(1, t1 - t0)) * (height - 70);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" data-testid="sequence">`,
    `<defs><marker id="arrow" markerWidth="9" markerHeight="9" refX="8" refY="3.5" orient="auto"><path d="M0,0 L8,3.5 L0,7 z" fill="#444"/></marker></defs>`];
  // the block's proposer(s): who sent its PrePrepare (two after a view change)
  const proposers = new Set(messages.filter((m) => m.kind === "PrePrepare").map((m) => m.from));
  for (let i = 0; i < n; i++) {
    parts.push(`<line x1="${laneX(i)}" y1="36" x2="${laneX(i)}" y2="${height - 8}" stroke="#aab4c4" stroke-width="3"/>`);
    parts.push(`<text class="lane" x="${laneX(i)}" y="22" text-anchor="middle">node ${i}${proposers.has(i) ? " ★" : ""}</text>`);
  }
  const labelled = new Set();
  let lastLabelY = -100;
  for (const m of messages.slice(0, 800)) {
    const vc = isViewChange(m.kind);
    const colour = vc ? "#b3261e" : PHASE_COLOURS[m.kind] || "#555";
    const x1 = laneX(m.from), x2 = laneX(m.to), ya = y(m.t), yb = m.dropped ? ya + 10 : y(m.arrive);
    const xb = m.dropped ? x1 + (x2 - x1) * 0.4 : x2;
    parts.push(`<line x1="${x1}" y1="${ya}" x2="${xb}" y2="${yb}" stroke="${colour}" stroke-width="${vc ? 3 : 1.8}" ${m.dropped ? 'stroke-dasharray="5 4"' : 'marker-end="url(#arrow)"'}><title>${m.kind} view ${m.view ?? ""}: node ${m.from} → node ${m.to}, sent ${m.t} ms${m.dropped ? ", dropped (" + m.reason + ")" : ", arrives " + m.arrive + " ms"}</title></line>`);
    if (m.dropped) parts.push(`<text x="${xb - 5}" y="${yb + 5}" fill="${colour}">✕</text>`);
    // each phase (of each view) named once in the margin, where its first message leaves
    const label = `${m.kind} v${m.view ?? 0}`;
    if (!labelled.has(label) && ya - lastLabelY > 16) {
      parts.push(`<text class="phase" x="4" y="${ya + 5}" fill="${colour}">${label}</text>`);
      labelled.add(label);
      lastLabelY = ya;
    }
  }
  parts.push("</svg>");
  holder.innerHTML = parts.join("");
}

// --- controls -----------------------------------------------------------------------------------

let controlsReady = false;
function initControls(hello) {
  state.behaviours = hello.behaviours || [];
  if (controlsReady) return;
  controlsReady = true;
  $("legend").innerHTML = [...PHASES.map((p) => [p, PHASE_COLOURS[p]]), ["ViewChange / NewView", "#b3261e"]]
    .map(([name, colour]) => `<span class="chip" style="border-color:${colour};color:${colour}">${name}</span>`).join("");
  $("show-load").onchange = () => renderEvents();
  $("follow").onchange = () => renderBlocks();
  const speed = $("speed");
  speed.innerHTML = (hello.speeds || [1]).map((s) => `<option value="${s}">${s}×</option>`).join("");
  speed.onchange = () => control("speed", { speed: Number(speed.value) });
  $("btn-pause").onclick = () => control("pause");
  $("btn-play").onclick = () => control("play");
  $("btn-step").onclick = () => control("step");
  $("btn-burst").onclick = () => control("burst", { count: 100 });
  $("btn-heal").onclick = () => control("heal");
  $("btn-partition").onclick = () => {
    const all = currentNodes().map((n) => n.index);
    const side = [...document.querySelectorAll("input.side:checked")].map((c) => Number(c.dataset.node));
    const rest = all.filter((i) => !side.includes(i));
    if (!side.length || !rest.length) { showError("tick the nodes of one side first"); return; }
    control("partition", { groups: [side, rest] });
  };
  $("live").onchange = (ev) => { state.live = ev.target.checked; document.body.classList.toggle("travelling", !state.live); if (!state.live) travel(Number($("scrub").value)); render(); };
  $("scrub").oninput = (ev) => {
    state.live = false;
    $("live").checked = false;
    document.body.classList.add("travelling");
    travel(Number(ev.target.value));
  };
}

let travelTimer = null;
function travel(index) {
  $("scrub-label").textContent = `event ${index}`;
  clearTimeout(travelTimer);
  travelTimer = setTimeout(async () => {
    state.travel = await api("/api/state?at=" + index);
    render();
  }, 60);
}

connect();
