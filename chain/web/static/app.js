// The dashboard page: plain JavaScript, no build step. It draws the nodes, the blocks and the
// message sequence diagram of one height, and sends controls to /api. Everything it shows comes
// from the server (the diagram too: /api/diagram and the diagram in every tick); the page holds
// no protocol logic of its own.
"use strict";

const state = {
  status: null,        // the latest /api/status-shaped message
  events: [],          // recent trace events, events[k] has trace index eventsFirst + k
  eventsFirst: 0,
  index: 0,            // number of trace events so far
  live: true,          // false while time-travelling
  travel: null,        // {index, nodes, events, first, top, now_height, diagram} from /api/state when not live
  pinned: null,        // block number whose diagram is pinned (null: follow the height being decided)
  pinnedDiagram: null, // its diagram, as last fetched
  nowDiagram: null,    // the diagram of the height being decided, from the latest tick
  nowHeight: null,
  blocks: new Map(),   // number -> block summary
  lastStep: null,      // {text, end, number, node, until} of the last step
  caps: new Set(),     // what this chain can do (real processes: no pause, step, partitions, diagram)
};
const MAX_EVENTS = 4000;
const PHASES = ["PrePrepare", "Prepare", "Commit", "Checkpoint"];
const PHASE_COLOURS = { PrePrepare: "#2f6fde", Prepare: "#1f8a4c", Commit: "#c77700", Checkpoint: "#6b3fa0",
  ViewChange: "#b3261e", NewView: "#b3261e" };
const TWIN_COLOURS = ["#d6189a", "#008b8b", "#7a5c00"];   // digests other than a view's first: equivocation
const SHORT_PHASE = { Prepare: "P", Commit: "C", Checkpoint: "K", ViewChange: "VC" };
const REASON_HINTS = { "old height": "already decided: a late message", "old view": "a view it left",
  "voted for two proposals": "double voting", "signature does not verify": "forged or altered" };

const $ = (id) => document.getElementById(id);
const short = (hex) => (typeof hex === "string" && hex.length > 14 ? hex.slice(0, 10) + "…" + hex.slice(-4) : String(hex ?? "—"));
const shorter = (hex) => (typeof hex === "string" && hex.length > 10 ? hex.slice(2, 8) + "…" : String(hex ?? "—"));
const esc = (text) => String(text ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
const hint = (reason) => { const k = Object.keys(REASON_HINTS).find((key) => String(reason).includes(key)); return k ? REASON_HINTS[k] : ""; };

// --- talking to the server ------------------------------------------------------------------------

// Several groups on one network: the page shows the group ?group=NAME names (the server's first by
// default), and every request says which.
const GROUP = new URLSearchParams(location.search).get("group");
const withGroup = (path) => (GROUP ? path + (path.includes("?") ? "&" : "?") + "group=" + encodeURIComponent(GROUP) : path);

async function api(path, body) {
  const options = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const response = await fetch(withGroup(path), options);
  const data = await response.json();
  if (!response.ok) {
    showError(data.error || response.statusText);
    throw new Error(data.error);
  }
  return data;
}

let textbookPending = false;  // a textbook toggle sent and not yet answered
function control(action, body = {}) { return api("/api/control/" + action, body).catch(() => null); }

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
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + withGroup("/ws"));
  ws.onopen = () => setConnected(true);
  ws.onmessage = (m) => receive(JSON.parse(m.data));
  ws.onclose = () => { setConnected(false); setTimeout(connect, 1000); };
}

function receive(message) {
  state.status = message;
  if (message.type === "tick" && message.events) appendEvents(message.first, message.events);
  state.index = message.index;
  if (message.diagram !== undefined) state.nowDiagram = message.diagram;
  if (message.now_height !== undefined) state.nowHeight = message.now_height;
  if (message.last_step !== undefined) state.lastStep = message.last_step;
  if (message.type === "hello") { initControls(message); loadHistory(message.index); loadBlocks(); refreshNow(); }
  if (state.pinned !== null && state.live) refreshPinned();
  if (state.live && topBlock() > blocksTop) loadBlocks();
  maybeRefreshDmc();
  scheduleRender();
}

// Ticks come ten times a second; a big diagram is redrawn at most four times a second.
let renderPending = false, lastRender = 0;
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  setTimeout(() => requestAnimationFrame(() => { renderPending = false; lastRender = Date.now(); render(); }),
    Math.max(0, 250 - (Date.now() - lastRender)));
}

// A tab that connects mid-run fetches the recent past for its trace panel.
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

async function refreshNow() {
  if (!state.caps.has("diagram")) return;
  const d = await api("/api/diagram").catch(() => null);
  if (d && !state.nowDiagram) { state.nowDiagram = d; state.nowHeight = d.number; render(); }
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
}

// The table follows the head: whenever the top committed block rises, the newest 20 are fetched.
let blocksLoading = false, blocksTop = -1;
async function loadBlocks() {
  if (blocksLoading) return;
  blocksLoading = true;
  try {
    const top = topBlock();
    const data = await api(`/api/blocks?start=${Math.max(0, top - 19)}&end=${top + 1}`);
    for (const b of data.blocks) state.blocks.set(b.number, b);
    blocksTop = Math.max(blocksTop, ...data.blocks.map((b) => b.number));
    renderBlocks();
  } catch (e) { /* shown by api() */ } finally { blocksLoading = false; }
}
function topBlock() {
  const s = state.status || {};
  return Math.max(s.top ?? 0, ...((s.nodes || []).map((n) => n.height ?? 0)));
}

// --- reading trace events -----------------------------------------------------------------------

function isClientLoad(e) { return e.type === "TX_GOSSIP" || e.ev === "submit"; }
// One trace line: messages as "PREPARE #14 v1  node 1 → node 2", anything else as its (non-empty) fields.
function describe(e) {
  const { t, ev, ...rest } = e;
  const head = `${String(t).padStart(7)} ms  ${String(ev).padEnd(11)} `;
  if (e.from !== undefined && e.to !== undefined) {
    const why = e.reason ? `  (${e.reason})` : "";
    const digest = e.digest ? `  digest ${e.digest}` : "";
    return head + `${String(e.type).padEnd(12)} #${e.number} v${e.view}  node ${e.from} → node ${e.to}${digest}${why}`;
  }
  const fields = Object.entries(rest).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k}=${v}`).join("  ");
  const why = ev === "reject" && hint(e.reason) ? `  — ${hint(e.reason)}` : "";
  return head + fields + why;
}

// --- rendering ----------------------------------------------------------------------------------

function currentNodes() {
  if (!state.live && state.travel) return state.travel.nodes;
  return state.status ? state.status.nodes : [];
}
function nowMs() { return !state.live && state.travel ? state.travel.now_ms : (state.status ? state.status.now_ms : 0); }
function nodeState(n) { return n.state || "ok"; }

function render() {
  if (!state.status) return;
  const s = state.status;
  $("chain-info").textContent = [s.suite && `suite ${s.suite}`, `${(s.nodes || []).length} nodes`, s.seed !== undefined && `seed ${s.seed}`, s.mode].filter(Boolean).join(" · ");
  $("clock").textContent = nowMs();
  $("event-index").textContent = state.live ? state.index : `${state.travel ? state.travel.index : "…"} / ${state.index}`;
  $("btn-pause").disabled = s.paused;
  // while the user's own change is on its way to the server, a status sent before it must not undo the tick
  if (!textbookPending) $("textbook").checked = !!s.textbook;
  document.body.classList.toggle("textbook", !!s.textbook);
  $("btn-play").disabled = !s.paused;
  $("speed").value = String(s.speed);
  const scrub = $("scrub");
  scrub.max = String(state.index);
  if (state.live) { scrub.value = String(state.index); $("scrub-label").textContent = "live"; }
  renderScenario();
  renderProposals();
  renderNodes();
  renderEvents();
  renderBlocks();
  renderExplanation();
  renderDiagram();
}

function renderScenario() {
  const sc = state.status.scenario;
  const panel = $("scenario");
  if (!sc) { panel.hidden = true; return; }
  panel.hidden = false;
  const checks = (sc.expect || []).map((x) => `<li class="${x.ok === true ? "pass" : x.ok === false ? "fail" : "pending"}" data-testid="expectation">` +
    `${x.ok === true ? (sc.finished ? "✔ pass" : "✔ holds so far") : x.ok === false ? "✘ FAIL" : "… not yet"} — ${esc(x.name)}${x.detail ? ": " + esc(x.detail) : ""}</li>`).join("");
  panel.innerHTML = `<b>scenario ${esc(sc.name)}</b> — ${esc(sc.title || "")} <span class="hint" data-testid="scenario-state">${sc.finished ? `finished at ${sc.duration_ms} ms: virtual time stopped` : `runs until ${sc.duration_ms} ms`}</span>
    ${(sc.applied || []).length ? `<span class="hint"> · done: ${esc(sc.applied.join("; "))}</span>` : ""}
    <p>${esc(sc.summary || "")}</p>${sc.watch ? `<p><b>Watch:</b> ${esc(sc.watch)}</p>` : ""}<ul>${checks}</ul>`;
}

// An auth chain's committee: the newest proposals, their votes and status (chain.scenarios.world.proposals_view).
function renderProposals() {
  const rows = state.status.proposals;
  $("proposals-panel").hidden = !rows || !rows.length;
  if (!rows || !rows.length) return;
  $("proposals").tBodies[0].innerHTML = rows.map((p) => `<tr class="${p.open ? "pending" : p.status === "finished" ? "pass" : "fail"}">` +
    `<td>${p.id}</td><td>${esc(p.type)}</td><td>${esc(p.status)}</td><td>${p.deadline}</td><td>${esc(p.proposer)}</td>` +
    `<td>${esc(p.agree.join(", "))}</td><td>${esc(p.against.join(", "))}</td></tr>`).join("");
}

function timerText(n) {
  if (n.timer_deadline === null || n.timer_deadline === undefined) return "off";
  const left = Math.max(0, n.timer_deadline - nowMs());
  return `${(left / 1000).toFixed(1)} s`;
}

// Cards are built once and then updated in place: rebuilding them on every tick detached the
// button, menu or box a student was clicking (a behaviour menu closed while it was open).
function renderNodes() {
  const container = $("nodes");
  const nodes = currentNodes();
  // when a partition ends (heal, from here or from a scenario), its boxes are unticked
  const anyGroup = nodes.some((n) => n.group);
  const healed = state.live && state.partitioned && !anyGroup;
  if (state.live) state.partitioned = anyGroup;
  while (container.children.length > nodes.length) container.lastChild.remove();
  nodes.forEach((n, k) => {
    let card = container.children[k];
    if (!card || card.dataset.node !== String(n.index)) {
      card = makeCard(n.index);
      container.insertBefore(card, container.children[k] || null);
    }
    updateCard(card, n);
    if (healed) card.querySelector("input.side").checked = false;
  });
  applyCapabilities(container);
}

function makeCard(index) {
  const card = document.createElement("div");
  card.dataset.testid = "node";
  card.dataset.node = String(index);
  card.innerHTML = `<div class="info"></div>
      <div class="actions">
        <button class="crash">crash</button>
        <select class="behaviour sim-only" data-cap="byzantine" title="Make this node Byzantine"></select>
        <label class="sim-only" data-cap="partition" title="Put this node on one side of a partition"><input type="checkbox" class="side" data-node="${index}"> side</label>
      </div>`;
  const button = card.querySelector("button");
  button.onclick = () => control(card.dataset.state === "crashed" ? "restart" : "crash", { node: index });
  card.querySelector("select.behaviour").onchange = (ev) => control("byzantine", { node: index, behaviour: ev.target.value || null });
  return card;
}

function updateCard(card, n) {
  const index = n.index;
  const st = nodeState(n);
  card.className = "node " + (n.role || "") + (st === "crashed" ? " crashed" : "") + (st.startsWith("Byzantine") ? " byzantine" : "") + (st === "partitioned" ? " partitioned" : "");
  Object.assign(card.dataset, { role: n.role || "", height: String(n.height ?? ""), view: String(n.view ?? ""),
    toView: String(n.to_view ?? ""), state: st, leader: String(n.leader ?? "") });
  const viewText = n.view === null || n.view === undefined ? "—" : (n.to_view !== undefined && n.to_view !== null && n.to_view > n.view ? `${n.view} → ${n.to_view}` : String(n.view));
  // in protocol order (a snapshot from time travel has its keys sorted)
  const counts = ["Prepare", "Commit", "Checkpoint", "ViewChange"].filter((p) => (n.counts || {})[p]).map((phase) => [phase, n.counts[phase]]).map(([phase, [have, need]]) =>
    `<span class="count ${have >= need ? "full" : ""}" data-phase="${phase}" title="${phase}s held / needed for a quorum">${SHORT_PHASE[phase] || phase} ${have}/${need}</span>`).join("");
  const marks = ["pre-prepared", "prepared", "committed", "executed"].map((m) =>
    `<span class="mark ${(n.marks || []).includes(m) ? "on" : ""}" data-mark="${m}" title="${m}">${m.replace("pre-prepared", "pre-prep.")}</span>`).join("");
  const position = n.sealer_position !== undefined && n.sealer_position !== null && n.sealer_position !== index ? ` <span class="hint" title="position in the sealer list">(sealer #${n.sealer_position})</span>` : "";
  const leaderLine = n.leader !== undefined && n.leader !== null
    ? `<div class="leader-line" title="the node that proposes this height in this node's view">leader: node ${n.leader}${n.leader_crashed ? " <b class=state-bad>(crashed)</b>" : ""}</div>` : "";
  card.querySelector(".info").innerHTML = `
      <h3><span>node ${index}${position}${n.host !== undefined ? ` <span class="hint" title="the machine this node runs on (a host may be in several groups)">· host ${n.host}</span>` : ""}</span><span class="role ${n.role || ""}">${n.role || "?"}</span></h3>
      <div class="state ${st === "ok" ? "state-ok" : "state-bad"}" title="${esc(st)}">${esc(st)}${n.phase ? ` · <span class="phase">${esc(n.phase)}</span>` : ""}</div>
      <div class="figures"><span title="view (→ the view it asks for)">v <b class="view">${viewText}</b></span><span title="height: its newest committed block"># <b class="height">${n.height ?? "—"}</b></span></div>
      ${leaderLine}
      ${n.channel ? `<div class="channel" data-testid="channel" title="SDKs connected to this node's channel port (port ${n.channel.port}) and the AMOP topics they listen on">SDKs <b class="sdks">${n.channel.sdks}</b>${n.channel.topics.length ? " · topics " + n.channel.topics.map((t) => `<span class="mono">${esc(t)}</span>`).join(", ") : ""}</div>` : ""}
      ${n.timer_deadline !== undefined ? `<div class="timer" title="the view timer: when it runs out, this node asks for the next view">timer <b data-testid="timer">${timerText(n)}</b>${n.digest ? ` · <span class="mono digest" title="digest of the proposal it accepted">${n.digest}</span>` : ""}</div>` : ""}
      ${counts ? `<div class="counts">${counts}</div>` : ""}
      ${n.marks ? `<div class="marks">${marks}</div>` : ""}`;
  const button = card.querySelector("button");
  button.textContent = st === "crashed" ? "restore" : "crash";
  button.className = st === "crashed" ? "restart" : "crash";
  const select = card.querySelector("select.behaviour");
  const behaviours = (state.status && state.status.behaviours) || state.behaviours || [];
  if (select.options.length !== behaviours.length + 1) {
    select.innerHTML = `<option value="">honest</option>` + behaviours.map((b) => `<option value="${b}">${b}</option>`).join("");
  }
  if (document.activeElement !== select) select.value = n.behaviour || "";
  card.querySelectorAll("button, select").forEach((el) => { el.disabled = !state.live; });
}

// Newest first; the client load only when asked for.
function renderEvents() {
  const source = !state.live && state.travel ? state.travel.events : state.events;
  const shown = $("show-load").checked ? source : source.filter((e) => !isClientLoad(e));
  $("events").textContent = shown.slice(-200).map(describe).reverse().join("\n");
}

function renderBlocks() {
  const body = document.querySelector("#blocks tbody");
  // while time-travelling, the table stops at the top block of that moment
  const limit = !state.live && state.travel ? state.travel.top : Infinity;
  const numbers = [...state.blocks.keys()].filter((k) => k <= limit).sort((a, b) => b - a).slice(0, 12);
  body.innerHTML = "";
  for (const number of numbers) {
    const b = state.blocks.get(number);
    const row = document.createElement("tr");
    row.dataset.number = String(number);
    if (number === state.pinned) row.className = "selected";
    const proposer = number === 0 ? "genesis" : b.sealer_node !== null && b.sealer_node !== undefined ? `node ${b.sealer_node}` : `sealer #${b.sealer}`;
    const signers = (b.signatures || []).map((s) => (s.node ?? `#${s.index}`)).join(",");
    row.innerHTML = `<td>${number}</td><td class="mono" title="${b.hash}">${shorter(b.hash)}</td><td>${b.transactions}</td>` +
      `<td title="sealer-list position ${b.sealer}">${proposer}</td><td title="signed by nodes ${signers}">${(b.signatures || []).length}</td>`;
    row.onclick = () => pin(number);
    body.appendChild(row);
  }
}

async function pin(number) {
  state.pinned = number;
  state.pinnedDiagram = null;
  $("follow").checked = false;
  renderBlocks();
  refreshPinned(true);
  showDmcBlock(number);
  try {
    const b = await api("/api/blocks/" + number);
    const txs = (b.txs || []).map((tx, i) => {
      const receipt = (b.receipts || [])[i] || {};
      return `  ${short(tx.hash)}  from ${short(tx.from)}  → status ${receipt.status ?? "?"}, gas ${receipt.gasUsed ?? "?"}`;
    });
    $("block-detail").innerHTML = `<pre>block ${b.number}  hash ${b.hash}
parent  ${b.parentHash}
proposer node ${b.sealer_node ?? "?"} (sealer-list position ${b.sealer})   timestamp ${b.timestamp}
state root ${b.stateRoot}
signatures (${(b.signatures || []).length}, checkpoint quorum):
${(b.signatures || []).map((s) => `  node ${s.node ?? "?"} (sealer #${s.index}): ${short(s.signature)}`).join("\n")}
transactions (${(b.txs || []).length}) and receipts:
${txs.slice(0, 50).join("\n")}${txs.length > 50 ? `\n  … ${txs.length - 50} more` : ""}</pre>`;
  } catch (e) { $("block-detail").innerHTML = `<p class="hint">block ${number} is not committed (yet): its messages are drawn as far as they went.</p>`; }
}

function unpin() {
  state.pinned = null;
  state.pinnedDiagram = null;
  $("follow").checked = true;
  renderBlocks();
  render();
}

let pinnedFetch = 0;
async function refreshPinned(now) {
  const t = Date.now();
  if (!now && t - pinnedFetch < 500) return;
  pinnedFetch = t;
  const number = state.pinned;
  const at = !state.live && state.travel ? `&at=${state.travel.index}` : "";
  const d = await api(`/api/diagram?number=${number}${at}`).catch(() => null);
  if (d && state.pinned === number) { state.pinnedDiagram = d; renderDiagram(); }
}

function renderExplanation() {
  const box = $("explanation");
  const step = state.lastStep;
  box.textContent = step && step.text ? `step (${step.until}): ${step.text}` : "Step through the run: pause, then next message / phase / block.";
  box.classList.toggle("fresh", !!(step && step.text));
}

// --- the sequence diagram -------------------------------------------------------------------------
// One lifeline per node, one arrow per message, time downwards on a compressed axis: gaps longer
// than GAP_CAP_MS (a view timer running out, a stall) are drawn short, with their real length
// written in the margin, so one late message cannot squash the rest.
const LABEL_WIDTH = 96;
const REPLY_MS = 20;   // drawn length of a reply (the client reads its receipt; not a consensus message)
const GAP_CAP_MS = 120;

function shownDiagram() {
  if (state.pinned !== null) return state.pinnedDiagram;
  // paused and stepping: the height of the message just delivered (a late vote may be for the block before)
  if (state.stepDiagram && state.live && state.status && state.status.paused) return state.stepDiagram;
  if (!state.live && state.travel) return state.travel.diagram;
  return state.nowDiagram;
}

function timeAxis(times, top, bottom, cap = GAP_CAP_MS) {
  const sorted = [...new Set(times)].sort((a, b) => a - b);
  const u = new Map();
  const breaks = [];
  let acc = 0;
  sorted.forEach((t, k) => {
    if (k > 0) {
      const gap = t - sorted[k - 1];
      if (gap > cap * 2) breaks.push({ after: acc, gap });
      acc += Math.min(gap, cap);
    }
    u.set(t, acc);
  });
  const scale = (bottom - top) / Math.max(1, acc);
  const y = (t) => {
    if (u.has(t)) return top + u.get(t) * scale;
    // a time between two known ones (an in-flight message's position now)
    let k = sorted.findIndex((s) => s > t);
    if (k <= 0) return k === 0 ? top : bottom;
    const a = sorted[k - 1], b = sorted[k];
    return top + (u.get(a) + (u.get(b) - u.get(a)) * (t - a) / (b - a)) * scale;
  };
  return { y, breaks: breaks.map((b) => ({ y: top + (b.after + cap / 2) * scale, gap: b.gap })) };
}

function renderDiagram() {
  const holder = $("diagram");
  const nodes = currentNodes();
  const d = shownDiagram();
  const number = state.pinned !== null ? state.pinned : (d ? d.number : state.nowHeight);
  $("diagram-block").textContent = number ?? "—";
  $("diagram-mode").textContent = state.pinned !== null ? "pinned" : d && d === state.stepDiagram ? "the block of the message just stepped"
    : d && d.just_decided ? `just decided; block ${d.number + 1} has no messages yet`
    : (state.live ? "being decided now" : "being decided at that moment");
  $("btn-now").hidden = state.pinned === null;
  if (!nodes.length) { holder.innerHTML = ""; return; }
  if (!d) { holder.innerHTML = `<p class="hint">Loading the messages of block ${number ?? "…"}…</p>`; return; }
  const arrows = d.arrows.filter((a) => a.from !== a.to);
  // textbook mode adds the client's lifeline (lane -1): its request, and the reply each commit gives it
  const textbook = !!(state.status && state.status.textbook);
  const live = state.live && state.pinned === null;
  const now = nowMs();
  if (!arrows.length && !d.marks.some((m) => m.ev !== "submit" || textbook)) {
    const stalled = nodes.find((x) => x.leader_crashed && nodeState(x) !== "crashed");
    const why = stalled ? `: its leader, node ${stalled.leader}, is crashed — nobody proposes; the others wait for their view timers (timer ${timerText(stalled)})`
      : ": the leader waits for transactions (or its seal time)";
    holder.innerHTML = `<p class="hint big-hint" data-testid="diagram-empty">No messages for block ${d.number} yet${why}.</p>`;
    return;
  }
  const client = textbook ? d.marks.filter((m) => m.ev === "submit") : [];
  const replies = textbook ? d.marks.filter((m) => m.ev === "commit" && m.via === "consensus") : [];
  const lanes = nodes.length + (textbook ? 1 : 0), first = textbook ? -1 : 0;
  const n = nodes.length;
  const width = Math.max(LABEL_WIDTH + 70 * lanes + 40, holder.clientWidth - 4);
  const laneX = (i) => LABEL_WIDTH + 20 + ((i - first) * (width - LABEL_WIDTH - 60)) / Math.max(1, lanes - 1);
  const times = [];
  for (const a of arrows) { times.push(a.t); times.push(a.state === "in-flight" ? Math.max(a.t, Math.min(a.arrive, now)) : a.arrive); if (a.state === "in-flight") times.push(a.arrive); }
  for (const m of d.marks) if (m.ev !== "submit" || textbook) times.push(m.t);
  for (const m of replies) times.push(m.t + REPLY_MS);
  if (live) times.push(now);
  const height = Math.max(260, Math.min(560, holder.clientHeight || 420));
  const axis = timeAxis(times, 44, height - 14, textbook ? 30 : GAP_CAP_MS);   // textbook: idle time squeezed harder
  const y = axis.y;
  // equivocation: a view with two proposals (PrePrepares of different digests) draws each proposal
  // in its own colour, and labels every Prepare and Commit of that view with the colour of the digest it votes for
  const proposalsOf = new Map();
  for (const a of arrows) if (a.kind === "PrePrepare" && a.digest) {
    if (!proposalsOf.has(a.view)) proposalsOf.set(a.view, []);
    if (!proposalsOf.get(a.view).includes(a.digest)) proposalsOf.get(a.view).push(a.digest);
  }
  const twinIndex = new Map();
  for (const digests of proposalsOf.values()) if (digests.length > 1) digests.forEach((x, k) => twinIndex.set(x, k));
  const twinOf = (a) => (a.digest && a.kind !== "Checkpoint" && twinIndex.has(a.digest) ? twinIndex.get(a.digest) : null);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" data-testid="sequence" data-number="${d.number}">`,
    `<defs>${[...Object.entries(PHASE_COLOURS), ...TWIN_COLOURS.map((c, i) => ["twin" + i, c]), ["hl", "#000"]].map(([k, c]) =>
      `<marker id="arrow-${k}" markerWidth="8" markerHeight="8" refX="7" refY="3.5" orient="auto"><path d="M0,0 L7,3.5 L0,7 z" fill="${c}"/></marker>`).join("")}</defs>`];
  const proposers = new Map();   // node -> the digests it proposed (two: it equivocated)
  for (const a of arrows) if (a.kind === "PrePrepare" || a.kind === "NewView") {
    if (!proposers.has(a.from)) proposers.set(a.from, []);
    if (a.digest && a.kind === "PrePrepare" && !proposers.get(a.from).includes(a.digest)) proposers.get(a.from).push(a.digest);
  }
  if (textbook) {
    parts.push(`<line x1="${laneX(-1)}" y1="34" x2="${laneX(-1)}" y2="${height - 6}" stroke="#555" stroke-width="3"/>`);
    parts.push(`<text class="lane" x="${laneX(-1)}" y="16" text-anchor="middle">client</text>`);
  }
  for (let i = 0; i < n; i++) {
    const crashed = nodeState(nodes[i] || {}) === "crashed";
    parts.push(`<line x1="${laneX(i)}" y1="34" x2="${laneX(i)}" y2="${height - 6}" stroke="${crashed ? "#e0a8a4" : "#aab4c4"}" stroke-width="3" ${crashed ? 'stroke-dasharray="6 5"' : ""}/>`);
    const star = proposers.has(i) ? " ★" : "";
    parts.push(`<text class="lane" x="${laneX(i)}" y="16" text-anchor="middle">node ${i}${star}</text>`);
    const proposed = proposers.get(i) || [];
    if (proposed.length) parts.push(`<text class="digest" x="${laneX(i)}" y="30" text-anchor="middle">${proposed.map((x) =>
      `<tspan fill="${twinIndex.has(x) ? TWIN_COLOURS[twinIndex.get(x) % TWIN_COLOURS.length] : "#334"}">${x}</tspan>`).join(" ≠ ")}</text>`);
  }
  for (const b of axis.breaks) {
    parts.push(`<line x1="${LABEL_WIDTH}" y1="${b.y}" x2="${width - 10}" y2="${b.y}" stroke="#ccc" stroke-dasharray="2 6"/>`);
    parts.push(`<text class="gap" x="${LABEL_WIDTH - 4}" y="${b.y + 4}" text-anchor="end">⋯ ${(b.gap / 1000).toFixed(1)} s</text>`);
  }
  if (live) {
    parts.push(`<line x1="${LABEL_WIDTH}" y1="${y(now)}" x2="${width - 10}" y2="${y(now)}" stroke="#1d2330" stroke-width="1" stroke-dasharray="8 4"/>`);
    parts.push(`<text class="now" x="${width - 12}" y="${y(now) - 4}" text-anchor="end">now ${now} ms</text>`);
  }
  const highlight = state.lastStep && state.lastStep.end !== undefined ? state.lastStep.end : null;
  const labelled = new Set();
  let lastLabelY = -100;
  for (const a of arrows) {
    const vc = a.kind === "ViewChange" || a.kind === "NewView";
    const twin = twinOf(a);
    const twinColour = twin !== null ? TWIN_COLOURS[twin % TWIN_COLOURS.length] : null;
    const colour = twin !== null && a.kind === "PrePrepare" ? twinColour : PHASE_COLOURS[a.kind] || "#555";
    const markerKey = twin !== null && a.kind === "PrePrepare" ? "twin" + (twin % TWIN_COLOURS.length) : a.kind;
    const x1 = laneX(a.from), x2 = laneX(a.to), ya = y(a.t);
    const hl = highlight !== null && a.end === highlight;
    let title = `${a.kind} v${a.view} of block ${d.number}${a.digest ? " digest " + a.digest : ""}: node ${a.from} → node ${a.to}, sent ${a.t} ms`;
    const attrs = `data-kind="${a.kind}" data-state="${a.state}" data-from="${a.from}" data-to="${a.to}"${a.digest ? ` data-digest="${a.digest}"` : ""}${hl ? ' data-highlight="1"' : ""}${twin !== null ? ' data-twin="1"' : ""}`;
    if (a.state === "in-flight") {
      const yb = y(a.arrive), t = Math.max(0, Math.min(1, (now - a.t) / Math.max(1, a.arrive - a.t)));
      title += `, arrives ${a.arrive} ms (in flight)`;
      parts.push(`<g class="arrow" ${attrs}><line x1="${x1}" y1="${ya}" x2="${x2}" y2="${yb}" stroke="${colour}" stroke-width="1.6" stroke-dasharray="3 4" opacity="0.7"><title>${esc(title)}</title></line>` +
        `<circle cx="${x1 + (x2 - x1) * t}" cy="${ya + (yb - ya) * t}" r="4.5" fill="${colour}"><title>${esc(title)}</title></circle></g>`);
    } else if (a.state === "dropped") {
      // a lost message: dashed all the way to the receiver's lifeline, where it never arrived (✕)
      const yb = a.arrive > a.t ? y(a.arrive) : ya + 14;
      title += `, lost (${a.reason})`;
      parts.push(`<g class="arrow" ${attrs}><line x1="${x1}" y1="${ya}" x2="${x2}" y2="${yb}" stroke="${colour}" stroke-width="1.5" stroke-dasharray="5 4" opacity="0.8"><title>${esc(title)}</title></line>` +
        `<text class="cross" x="${x2}" y="${yb + 5}" text-anchor="middle" fill="${colour}">✕<title>${esc(title)}</title></text></g>`);
    } else {
      const yb = y(a.arrive);
      const refused = a.state === "refused";
      if (refused) title += `, refused: ${a.reason}`;
      else title += `, delivered ${a.arrive} ms`;
      parts.push(`<g class="arrow" ${attrs}><line x1="${x1}" y1="${ya}" x2="${x2}" y2="${yb}" stroke="${hl ? "#000" : colour}" stroke-width="${hl ? 4 : vc ? 2.6 : 1.6}" marker-end="url(#arrow-${hl ? "hl" : markerKey})"${hl ? ' class="highlight"' : ""}><title>${esc(title)}</title></line>`);
      if (refused) {
        const h = hint(a.reason);
        parts.push(`<text class="refused" x="${x2 + (x2 > x1 ? -4 : 4)}" y="${yb - 4}" text-anchor="${x2 > x1 ? "end" : "start"}">⊘${h && h.startsWith("already") ? "" : " " + esc(String(a.reason).slice(0, 28))}<title>${esc(a.reason)}${h ? " — " + esc(h) : ""}</title></text>`);
      }
      parts.push("</g>");
    }
    if ((a.kind === "PrePrepare" || (twin !== null && a.kind === "Prepare")) && a.digest && a.state !== "in-flight") {
      const fx = a.kind === "PrePrepare" ? 0.5 : 0.75;   // vote labels nearer the receiver, apart from the proposal's
      parts.push(`<text class="digest${twin !== null ? " twin" : ""}" x="${x1 + (x2 - x1) * fx}" y="${ya + (y(a.arrive) - ya) * fx - 3}" style="fill:${twinColour || colour}" text-anchor="middle">${a.digest}</text>`);
    }
    // each phase (of each view) named once in the margin, where its first message leaves
    const label = a.kind === "Checkpoint" ? a.kind : `${a.kind} v${a.view ?? 0}`;
    if (!labelled.has(label) && ya - lastLabelY > 14) {
      parts.push(`<text class="phase" x="4" y="${ya + 4}" fill="${PHASE_COLOURS[a.kind] || "#555"}">${label}</text>`);
      labelled.add(label);
      lastLabelY = ya;
    }
  }
  for (const m of client) {
    const ym = y(m.t);
    parts.push(`<g class="arrow" data-kind="Request"><line x1="${laneX(-1)}" y1="${ym}" x2="${laneX(m.node)}" y2="${ym + 8}" stroke="#333" stroke-width="2" marker-end="url(#arrow-hl)"><title>the client sends ${m.count} transaction(s) to node ${m.node}</title></line>` +
      `<text class="phase" x="4" y="${ym + 4}" fill="#333">Request</text></g>`);
  }
  for (const m of replies) {
    const ya = y(m.t), yb = y(m.t + REPLY_MS);
    parts.push(`<g class="arrow" data-kind="Reply"><line x1="${laneX(m.node)}" y1="${ya}" x2="${laneX(-1)}" y2="${yb}" stroke="#333" stroke-width="1.4" stroke-dasharray="6 3" marker-end="url(#arrow-hl)"><title>node ${m.node} committed the block: the client can read its receipt (the reply)</title></line></g>`);
  }
  if (replies.length) parts.push(`<text class="phase" x="4" y="${y(replies[0].t) + 4}" fill="#333">Reply</text>`);
  // what the nodes did at this height: asked for a view (◆), entered one (■), committed (✔)
  for (const m of d.marks.filter((x) => x.ev !== "submit")) {
    const x = laneX(m.node), ym = y(m.t);
    const [symbol, colour, text] = m.ev === "view_change" ? ["◆", "#b3261e", `asks v${m.view}`]
      : m.ev === "new_view" ? ["■", "#b3261e", `enters v${m.view}`] : ["✔", "#1f8a4c", m.via === "sync" ? "synced" : "committed"];
    parts.push(`<g class="mark" data-ev="${m.ev}"><text x="${x}" y="${ym + 5}" text-anchor="middle" fill="${colour}" class="markglyph">${symbol}</text>` +
      // beside the lifeline, on its left for the rightmost lane so the label is never clipped
      (m.node === n - 1 ? `<text x="${x - 9}" y="${ym + 4}" text-anchor="end" class="marktext" fill="${colour}">${text}</text></g>`
        : `<text x="${x + 9}" y="${ym + 4}" class="marktext" fill="${colour}">${text}</text></g>`));
  }
  if (d.truncated) parts.push(`<text class="gap" x="4" y="${height - 4}">(${d.truncated} older messages not drawn)</text>`);
  parts.push("</svg>");
  holder.innerHTML = parts.join("");
}

// --- the DMC Gantt chart ------------------------------------------------------------------------
// Shown only when the chain runs the DMC executor (/api/dmc answers {dmc: false} otherwise). One lane
// per executor, one column per round, a dashed sync point between rounds; each frame a chip saying
// why it ran (starts, a call arrives, its callee's result is back, its row is free) and how it stopped;
// arrows follow a transaction across the sync points (its call, the result, a lock wait).
const DMC_CONTRACT_COLOURS = ["#2f6fde", "#1f8a4c", "#c77700", "#6b3fa0", "#b3261e", "#008b8b", "#7a5c00", "#d6189a"];
const DMC_LINKS = { call: ["#2f6fde", "a call"], "return": ["#1f8a4c", "its result back"], lock: ["#c77700", "waits for a row"] };
const DMC_REPLY = { finished: ["done ✔", "#1f8a4c"], failed: ["failed ✘", "#b3261e"], call_out: ["paused: calls", "#2f6fde"], key_lock: ["waits for", "#c77700"] };
const DMC_LANE_LABEL = 118, DMC_TOP = 34, DMC_BOTTOM = 40, DMC_CHIP = 30, DMC_HEADER = 20;
state.dmc = { enabled: false, follow: true, data: null, fetched: 0, loading: false };

function dmcColour(contract) {
  const k = /^C(\d+)$/.exec(contract || "");
  return k ? DMC_CONTRACT_COLOURS[(Number(k[1]) - 1) % DMC_CONTRACT_COLOURS.length] : "#556";
}

async function loadDmc(number) {
  if (state.dmc.loading && number === undefined) return;
  state.dmc.loading = true;
  state.dmc.fetched = Date.now();
  try {
    const response = await fetch(withGroup("/api/dmc" + (number !== undefined && number !== null ? `?number=${number}` : "")));
    const d = await response.json();
    state.dmc.enabled = response.ok && !!d.dmc;
    $("dmc-panel").hidden = !state.dmc.enabled;
    document.body.classList.toggle("with-dmc", state.dmc.enabled);
    // a "newest" answer that lands after the student picked a block must not replace it
    if (state.dmc.enabled && (number === undefined ? state.dmc.follow : !state.dmc.follow)) { state.dmc.data = d; renderDmc(); }
  } catch (e) { /* the next tick tries again */ } finally { state.dmc.loading = false; }
}

// following: a new block on top fetches its rounds, at most once a second
function maybeRefreshDmc() {
  const d = state.dmc.data;
  if (!state.dmc.enabled || !state.dmc.follow || Date.now() - state.dmc.fetched < 1000) return;
  if (!d || d.number === null || topBlock() > d.number) loadDmc();
}

function showDmcBlock(number) {
  if (!state.dmc.enabled) return;
  state.dmc.follow = false;
  $("dmc-follow").checked = false;
  loadDmc(number);
}

// [who, why it ran now, how it stopped, the longer story for the tooltip]; short enough for a narrow column
function dmcChipText(step, callerOf, round, contract) {
  const who = step.seq > 0 ? `tx ${step.tx} · its call` : `tx ${step.tx}`;
  // a transaction of the block starting after round 0: its contract had a paused frame until now
  const late = step.why === "start" && step.seq === 0 && round > 0;
  const why = { start: step.seq > 0 ? `from ${callerOf(step) || "?"}` : late ? "starts late" : "starts",
    call: `from ${callerOf(step) || "?"}`, resume: "result back", granted: "row free", deadlock: "deadlock: reverts" }[step.why] || step.why;
  const [said] = DMC_REPLY[step.reply] || [step.reply];
  const end = step.reply === "call_out" ? `${said} ${step.callee}` : step.reply === "key_lock" ? `${said} ${step.row.replace("storage ", "")}` : said;
  const story = {
    start: late ? `${contract} runs its next own transaction only when none of its frames is paused; until the round before, one was`
      : step.seq > 0 ? "a call another contract made, run here" : "the transaction starts on the contract it calls",
    call: "a call another contract made, run here on the callee's executor",
    resume: "the frame that had paused at its call gets the call's result and carries on",
    granted: "the row this frame waited for was released at the sync point (the transaction holding it ended)",
    deadlock: "two transactions waited for each other's rows: the scheduler reverted this frame's row access",
  }[step.why] || "";
  return [who, why, end, story];
}

function renderDmc() {
  const d = state.dmc.data;
  if (!d) return;
  const select = $("dmc-block");
  const options = (d.heights || []).slice().reverse();
  if (d.number !== null && !options.includes(d.number)) options.unshift(d.number);
  select.innerHTML = options.map((h) => `<option value="${h}"${h === d.number ? " selected" : ""}>${h}</option>`).join("");
  const holder = $("dmc-gantt");
  const s = d.summary;
  $("dmc-summary").textContent = s ? `${s.rounds} round${s.rounds === 1 ? "" : "s"}, ${s.sync_points} sync point${s.sync_points === 1 ? "" : "s"} · up to ${s.most_at_once} of ${d.executors} executors at once · ` +
    `${s.paused_calls} paused call${s.paused_calls === 1 ? "" : "s"}, ${s.lock_waits} lock wait${s.lock_waits === 1 ? "" : "s"}${s.deadlocks ? `, ${s.deadlocks} deadlock${s.deadlocks === 1 ? "" : "s"} broken` : ""}` : "";
  if (!d.rounds) {
    holder.innerHTML = `<p class="hint big-hint" data-testid="dmc-empty">${d.number === null ? "No block executed yet: the client deploys its contracts first."
      : `Block ${d.number} is not among the blocks whose rounds are kept (the newest ${(d.heights || []).length}).`}</p>`;
    $("dmc-txs").innerHTML = "";
    return;
  }
  const rounds = d.rounds, lanes = d.executors;
  const contractOf = new Map();   // step id -> the contract it ran on
  for (const r of rounds) for (const run of r.runs) for (const st of run.steps) contractOf.set(st.id, run.contract);
  const sourceOf = new Map(d.links.map((l) => [l.to, l]));
  const callerOf = (step) => { const l = sourceOf.get(step.id); return l && l.kind === "call" ? contractOf.get(l.from) : null; };
  // lane heights: enough for the busiest round of that executor
  const cells = new Map();   // "round/executor" -> runs
  for (const r of rounds) for (const run of r.runs) {
    const key = `${r.round}/${run.executor}`;
    if (!cells.has(key)) cells.set(key, []);
    cells.get(key).push(run);
  }
  // a frame paused at a call or waiting for a row holds its contract on its executor until it runs again:
  // said in each round in between ("idle" alone would hide why the contract's own transactions wait)
  const notes = new Map();   // "round/executor" -> sentences
  rounds.forEach((r, k) => r.runs.forEach((run) => run.steps.forEach((st) => {
    if (st.reply !== "call_out" && st.reply !== "key_lock") return;
    const again = rounds.findIndex((later, m) => m > k && later.runs.some((x) => x.steps.some((y) => y.tx === st.tx && y.seq === st.seq)));
    const who = st.seq > 0 ? `tx ${st.tx} · its call` : `tx ${st.tx}`;
    for (let m = k + 1; m < (again < 0 ? rounds.length : again); m++) {
      const key = `${rounds[m].round}/${run.executor}`;
      if (!notes.has(key)) notes.set(key, []);
      notes.get(key).push(st.reply === "call_out" ? `${who} paused (${run.contract})` : `${who} waits (${run.contract})`);
    }
  })));
  const laneHeight = [];
  for (let e = 0; e < lanes; e++) {
    let most = 1;
    for (const r of rounds) {
      const runs = cells.get(`${r.round}/${e}`) || [];
      most = Math.max(most, runs.reduce((acc, run) => acc + DMC_HEADER + run.steps.length * (DMC_CHIP + 4) + 6, 0)
        + (notes.get(`${r.round}/${e}`) || []).length * 15);
    }
    laneHeight.push(Math.max(46, most + 8));
  }
  const laneTop = [DMC_TOP];
  for (let e = 0; e < lanes; e++) laneTop.push(laneTop[e] + laneHeight[e]);
  const height = laneTop[lanes] + DMC_BOTTOM;
  const colWidth = Math.max(175, Math.floor((holder.clientWidth - DMC_LANE_LABEL - 24) / rounds.length));
  const width = DMC_LANE_LABEL + colWidth * rounds.length + 20;
  const colX = (k) => DMC_LANE_LABEL + k * colWidth;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" data-testid="dmc-svg" data-number="${d.number}">`,
    `<defs>${Object.entries(DMC_LINKS).map(([k, [c]]) => `<marker id="dmc-${k}" markerWidth="8" markerHeight="8" refX="7" refY="3.5" orient="auto"><path d="M0,0 L7,3.5 L0,7 z" fill="${c}"/></marker>`).join("")}</defs>`];
  // lanes: one per executor, named with the contracts it ran in this block
  for (let e = 0; e < lanes; e++) {
    const owned = [...new Set(rounds.flatMap((r) => r.runs.filter((run) => run.executor === e).map((run) => run.contract)))];
    parts.push(`<rect x="0" y="${laneTop[e]}" width="${width}" height="${laneHeight[e]}" fill="${e % 2 ? "#f6f7f9" : "#fff"}"/>`);
    parts.push(`<text class="lane" x="6" y="${laneTop[e] + 18}">executor ${e}</text>`);
    parts.push(`<text class="hint" x="6" y="${laneTop[e] + 34}" font-size="11" fill="#667">${owned.length ? "runs " + owned.map((c) => `<tspan fill="${dmcColour(c)}" font-weight="bold">${esc(c)}</tspan>`).join(", ") : "nothing this block"}</text>`);
  }
  // rounds and the sync points between them (with what the scheduler decided there)
  const chipAt = new Map();   // step id -> {x1, x2, y}
  rounds.forEach((r, k) => {
    parts.push(`<text class="dmc-round" x="${colX(k) + colWidth / 2}" y="16" text-anchor="middle">round ${r.round}</text>`);
    for (let e = 0; e < lanes; e++) {
      const runs = cells.get(`${r.round}/${e}`) || [];
      let y = laneTop[e] + 6;
      const held = notes.get(`${r.round}/${e}`) || [];
      if (!runs.length && !held.length) parts.push(`<text class="dmc-idle" x="${colX(k) + colWidth / 2}" y="${laneTop[e] + laneHeight[e] / 2 + 4}" text-anchor="middle">idle</text>`);
      for (const run of runs) {
        const colour = dmcColour(run.contract);
        const boxHeight = DMC_HEADER + run.steps.length * (DMC_CHIP + 4);
        parts.push(`<g class="dmc-run" data-contract="${esc(run.contract)}" data-executor="${e}" data-round="${r.round}">` +
          `<rect x="${colX(k) + 8}" y="${y}" width="${colWidth - 22}" height="${boxHeight}" rx="5" fill="${colour}" fill-opacity="0.08" stroke="${colour}" stroke-width="1.5"><title>contract ${esc(run.contract)} (0x${esc(run.address)}) on executor ${e}, round ${r.round}</title></rect>` +
          `<text class="dmc-contract" x="${colX(k) + 14}" y="${y + 14}" fill="${colour}">${esc(run.contract)}</text>`);
        run.steps.forEach((st, i) => {
          const cy = y + DMC_HEADER + i * (DMC_CHIP + 4);
          const [, replyColour] = DMC_REPLY[st.reply] || ["", "#556"];
          const [who, why, end, story] = dmcChipText(st, callerOf, r.round, run.contract);
          const x1 = colX(k) + 14, x2 = colX(k) + colWidth - 20;
          chipAt.set(st.id, { x1, x2, y: cy + DMC_CHIP / 2 });
          parts.push(`<g class="dmc-step" data-tx="${st.tx}" data-seq="${st.seq}" data-why="${st.why}" data-reply="${st.reply}">` +
            `<rect x="${x1}" y="${cy}" width="${x2 - x1}" height="${DMC_CHIP}" rx="3" fill="#fff" stroke="${replyColour}" stroke-width="${st.reply === "finished" ? 1 : 2}"${st.reply === "key_lock" ? ' stroke-dasharray="4 2"' : ""}/>` +
            `<text class="dmc-chip" x="${x1 + 4}" y="${cy + 12}"><tspan class="tx">${esc(who)}</tspan> ${esc(why)}</text>` +
            `<text class="dmc-chip" x="${x1 + 4}" y="${cy + 25}" fill="${replyColour}">→ ${esc(end)}</text>` +
            `<title>${esc(`${who} (frame seq ${st.seq}), round ${r.round}: ${story}; then ${end}`)}</title></g>`);
        });
        parts.push("</g>");
        y += boxHeight + 6;
      }
      held.forEach((text, j) => parts.push(`<text class="dmc-held" x="${colX(k) + 14}" y="${y + 11 + j * 15}">⋯ ${esc(text)}` +
        `<title>a frame of this executor's contract is paused: the contract starts none of its own transactions until it has run again</title></text>`));
    }
    if (k > 0) {   // the sync point before this round
      const x = colX(k);
      parts.push(`<line class="dmc-sync-line" x1="${x}" y1="22" x2="${x}" y2="${height - DMC_BOTTOM + 6}" stroke="#1d2330" stroke-width="1.5" stroke-dasharray="6 4"/>`);
      parts.push(`<text class="dmc-sync" x="${x}" y="30" text-anchor="middle">sync ${k}</text>`);
      const before = rounds[k - 1];
      const said = [];
      if (before.granted.length) said.push([`row free: tx ${before.granted.join(", ")}`, "#c77700"]);
      if (r.deadlock_victim !== null) said.push([`deadlock: tx ${r.deadlock_victim} reverts`, "#b3261e"]);
      said.forEach(([text, colour], j) => parts.push(`<text class="dmc-decision" x="${x}" y="${height - DMC_BOTTOM + 20 + j * 13}" text-anchor="middle" fill="${colour}">${esc(text)}</text>`));
    }
  });
  parts.push(`<text class="dmc-sync" x="${colX(rounds.length) - 4}" y="30" text-anchor="end">block done</text>`);
  // a transaction's path from round to round
  for (const l of d.links) {
    const a = chipAt.get(l.from), b = chipAt.get(l.to);
    if (!a || !b) continue;
    const [colour, word] = DMC_LINKS[l.kind] || ["#556", l.kind];
    const mid = (a.x2 + b.x1) / 2;
    parts.push(`<path class="dmc-link" data-kind="${l.kind}" d="M${a.x2},${a.y} C${mid},${a.y} ${mid},${b.y} ${b.x1 - 2},${b.y}" fill="none" stroke="${colour}" stroke-width="2"${l.kind === "lock" ? ' stroke-dasharray="5 3"' : ""} marker-end="url(#dmc-${l.kind})"><title>${esc(word)}</title></path>`);
  }
  parts.push("</svg>");
  holder.innerHTML = parts.join("");
  $("dmc-txs").innerHTML = `<b>block ${d.number}:</b> ` + (d.transactions || []).map((t) => {
    const target = (/ on (C\d+)$/.exec(t.does) || /^deploy (C\d+)$/.exec(t.does) || [])[1];
    return `<span class="${t.status ? "failed" : ""}" title="receipt status ${t.status}"><b>tx ${t.tx}</b> <span style="color:${dmcColour(target)}">${esc(t.does)}</span>${t.status ? " ✘" : ""}</span>`;
  }).join("");
}

function initDmc() {
  const arrow = (kind) => { const [c, word] = DMC_LINKS[kind]; return `<span class="dmc-key"><svg width="30" height="10"><line x1="1" y1="5" x2="24" y2="5" stroke="${c}" stroke-width="2"${kind === "lock" ? ' stroke-dasharray="5 3"' : ""}/><path d="M22,1 L29,5 L22,9 z" fill="${c}"/></svg> ${word}</span>`; };
  const frame = (reply, word) => { const c = DMC_REPLY[reply][1]; return `<span class="dmc-key"><svg width="18" height="12"><rect x="1" y="1" width="16" height="10" rx="2" fill="#fff" stroke="${c}" stroke-width="2"${reply === "key_lock" ? ' stroke-dasharray="4 2"' : ""}/></svg> ${word}</span>`; };
  $("dmc-legend").innerHTML = `<span class="hint">arrows:</span>${arrow("call")}${arrow("return")}${arrow("lock")}` +
    `<span class="hint">· frames (tx 5 · its call = the call transaction 5 made to another contract) that end:</span>` +
    frame("finished", "done") + frame("failed", "failed") + frame("call_out", "paused at a call") + frame("key_lock", "waiting for a row");
  $("dmc-block").onchange = (ev) => showDmcBlock(Number(ev.target.value));
  $("dmc-follow").onchange = (ev) => { state.dmc.follow = ev.target.checked; if (state.dmc.follow) loadDmc(); };
  window.addEventListener("resize", () => { if (state.dmc.enabled) renderDmc(); });
  const linked = /dmc=(\d+)/.exec(location.hash);   // a link to one block's rounds: …/#dmc=12
  if (linked) { state.dmc.follow = false; $("dmc-follow").checked = false; }
  loadDmc(linked ? Number(linked[1]) : undefined);
}

// --- controls -----------------------------------------------------------------------------------

function applyCapabilities(root) {
  root.querySelectorAll("[data-cap]").forEach((el) => { el.hidden = !state.caps.has(el.dataset.cap); });
}

let controlsReady = false;
// The group selector: shown when the chain has several groups; picking one opens its page.
function initGroups(hello) {
  const names = hello.groups || [];
  $("group-pick").hidden = names.length < 2;
  if (names.length < 2) return;
  const pick = $("group");
  pick.innerHTML = names.map((n) => `<option value="${esc(n)}">${esc(n)}</option>`).join("");
  pick.value = hello.group;
  $("group-hosts").textContent = `hosts ${(hello.hosts || []).join(", ")}`;
  pick.onchange = () => {
    const query = new URLSearchParams(location.search);
    query.set("group", pick.value);
    location.search = query.toString();
  };
}

function initControls(hello) {
  initGroups(hello);
  state.behaviours = hello.behaviours || [];
  state.caps = new Set(hello.capabilities || []);
  document.body.classList.toggle("no-diagram", !state.caps.has("diagram"));
  applyCapabilities(document);
  if (controlsReady) return;
  controlsReady = true;
  initDmc();
  $("legend").innerHTML = [...PHASES.map((p) => [p, PHASE_COLOURS[p]]), ["ViewChange / NewView", "#b3261e"], ["2 proposals", TWIN_COLOURS[0]]]
    .map(([name, colour]) => `<span class="chip" style="border-color:${colour};color:${colour}">${name}</span>`).join("") +
    `<span class="hint">- - in flight · ✕ lost · ⊘ refused · ◆ asks view · ■ enters view · ✔ committed · ★ proposer</span>`;
  $("show-load").onchange = () => renderEvents();
  $("follow").onchange = (ev) => { if (ev.target.checked) unpin(); };
  $("btn-now").onclick = () => unpin();
  $("open-block").onchange = (ev) => { const k = Number(ev.target.value); if (Number.isInteger(k) && k >= 0) pin(k); };
  const speed = $("speed");
  speed.innerHTML = (hello.speeds || [1]).map((s) => `<option value="${s}">${s}×</option>`).join("");
  speed.onchange = () => control("speed", { speed: Number(speed.value) });
  $("btn-pause").onclick = () => control("pause");
  $("btn-play").onclick = () => control("play");
  for (const until of ["event", "message", "phase", "block"]) {
    $("step-" + until).onclick = async () => {
      const answer = await control("step", { until });
      if (answer && answer.step) {
        state.lastStep = answer.step;
        const now = state.nowDiagram ? state.nowDiagram.number : null;
        state.stepDiagram = answer.step.number !== undefined && answer.step.number !== now
          ? await api(`/api/diagram?number=${answer.step.number}`).catch(() => null) : null;
        render();
      }
    };
  }
  $("btn-burst").onclick = () => control("burst", { count: 100 });
  $("btn-request").onclick = () => control("burst", { count: 1 });
  $("textbook").onchange = (ev) => {
    textbookPending = true;
    control("textbook", { on: ev.target.checked }).finally(() => { textbookPending = false; });
  };
  $("btn-heal").onclick = () => { document.querySelectorAll("input.side").forEach((c) => { c.checked = false; }); control("heal"); };
  $("btn-partition").onclick = () => {
    const all = currentNodes().map((n) => n.index);
    const side = [...document.querySelectorAll("input.side:checked")].map((c) => Number(c.dataset.node));
    const rest = all.filter((i) => !side.includes(i));
    if (!side.length || !rest.length) { showError("tick the nodes of one side first"); return; }
    control("partition", { groups: [side, rest] });
  };
  $("live").onchange = (ev) => { state.live = ev.target.checked; document.body.classList.toggle("travelling", !state.live); if (!state.live) travel(Number($("scrub").value)); else { state.travel = null; if (state.pinned !== null) refreshPinned(true); } render(); };
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
    if (state.pinned !== null) await refreshPinned(true);
    render();
  }, 60);
}

connect();
