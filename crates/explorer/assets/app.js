// The runs explorer: renders the page the URL names from the REST API, keeps it live from the
// event stream (/api/events/stream; a short poll of /ready when the stream is unavailable), and
// signs the market's actions with an EIP-1193 wallet
// (window.ethereum) when there is one. No dependencies, no build step; served with a strict CSP.

const STATES = ["DRAFT", "OPEN", "CLAIMED", "IN_PROGRESS", "SUBMITTED", "REVISION_REQUESTED",
  "APPROVED", "REJECTED", "DISPUTED", "RESOLVED", "CANCELLED", "EXPIRED"];
const POLL_MS = 1500;
const USDC_UNITS = 1000000n;

// The argument types the page encodes per call; checked against the contract's signatures from
// /explorer/config.json (generated from the bindings) before anything is encoded.
const SIGNATURES = {
  createAndFund: ["string", "uint256", "uint256", "uint256", "uint256", "uint256"],
  approve: ["uint256"],
  requestRevision: ["uint256", "string"],
  reject: ["uint256", "string"],
  submit: ["uint256", "string"],
  cancel: ["uint256"],
  agentIdOf: ["address"],
  usdcApprove: ["address", "uint256"],
};

const main = document.getElementById("main");
let config = null;
let indexedBlock = null;
let clock = null; // {chain: unix seconds of the indexed block, wall: Date.now() when read}
let current = null; // the page: {render(), key}
let rendering = null;

// ---- DOM and formatting -------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Replaces an element's children (arrays flattened, null and false skipped).
function fill(el, ...children) {
  el.replaceChildren();
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function usdc(units) {
  if (units === null || units === undefined) return "—";
  const n = BigInt(units);
  const frac = (n % USDC_UNITS).toString().padStart(6, "0").replace(/0+$/, "");
  return `${n / USDC_UNITS}${frac ? "." + frac : ""} USDC`;
}

function parseUsdc(text, what) {
  const match = /^\s*(\d+)(?:\.(\d{1,6}))?\s*$/.exec(text || "");
  if (!match) throw new Error(`${what}: "${text}" is not a USDC amount (e.g. 12.5, at most 6 decimals)`);
  return BigInt(match[1]) * USDC_UNITS + BigInt((match[2] || "").padEnd(6, "0"));
}

function short(address) {
  return address ? `${address.slice(0, 6)}…${address.slice(-4)}` : "—";
}

function chainNow() {
  return clock ? clock.chain + (Date.now() - clock.wall) / 1000 : Date.now() / 1000;
}

function duration(seconds) {
  const units = [[86400, "d"], [3600, "h"], [60, "m"], [1, "s"]];
  const parts = [];
  let rest = Math.floor(Math.abs(seconds));
  for (const [size, name] of units) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)}${name}`);
      rest %= size;
    }
  }
  return parts.length ? parts.join(" ") : "0s";
}

function relative(iso) {
  if (!iso) return "";
  const delta = Date.parse(iso) / 1000 - chainNow();
  return delta >= 0 ? `in ${duration(delta)}` : `${duration(delta)} ago`;
}

function time(iso) {
  if (!iso) return "—";
  return h("time", { datetime: iso, title: relative(iso) }, iso.replace("T", " ").replace("Z", " UTC"));
}

function badge(state) {
  return h("span", { class: `badge s-${state.toLowerCase()}` }, state);
}

function runLink(id) {
  return h("a", { href: `/runs/${id}` }, `#${id}`);
}

function agentLink(id) {
  return id === null || id === undefined ? "—" : h("a", { href: `/agents/${id}` }, `agent ${id}`);
}

function notice(message, kind) {
  const area = document.getElementById("notice");
  if (!area) return;
  fill(area);
  if (!message) return;
  area.append(h("div", { class: `notice ${kind || ""}`, role: kind === "error" ? "alert" : "status" }, message));
}

// ---- API ----------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(`${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

async function api(path, options) {
  const response = await fetch(path, options);
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, body?.error?.code || response.status, body?.error?.message || response.statusText);
  }
  return body;
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

// ---- Wallet (EIP-1193) --------------------------------------------------------------------

const wallet = { provider: window.ethereum || null, account: null };

class ChainError extends Error {
  constructor(message, hint) {
    super(message);
    this.hint = hint;
  }
}

function word(value) {
  return BigInt(value).toString(16).padStart(64, "0");
}

function encode(types, values) {
  const head = [];
  const tail = [];
  let offset = types.length * 32;
  types.forEach((type, i) => {
    const value = values[i];
    if (type === "string") {
      const bytes = new TextEncoder().encode(value);
      const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      const padded = hex.padEnd(Math.ceil(bytes.length / 32) * 64, "0");
      head.push(word(offset));
      tail.push(word(bytes.length) + padded);
      offset += 32 + padded.length / 2;
    } else if (type === "address") {
      if (!/^0x[0-9a-fA-F]{40}$/.test(value)) throw new Error(`not an address: ${value}`);
      head.push(value.slice(2).toLowerCase().padStart(64, "0"));
    } else {
      head.push(word(value));
    }
  });
  return head.join("") + tail.join("");
}

function calldata(name, ...args) {
  const call = config.calls[name];
  const types = SIGNATURES[name];
  const signature = call.signature;
  const declared = signature.slice(signature.indexOf("(") + 1, -1);
  if (declared !== types.join(",")) {
    throw new Error(`this page encodes ${name}(${types.join(",")}) but the contract has ${signature}`);
  }
  return call.selector + encode(types, args);
}

function revertData(err) {
  const candidates = [err?.data, err?.data?.data, err?.error?.data, err?.error?.data?.data, err?.info?.error?.data];
  for (const candidate of candidates) {
    if (typeof candidate === "string" && /^0x[0-9a-fA-F]{8,}$/.test(candidate)) return candidate;
  }
  const match = /0x[0-9a-fA-F]{8,}/.exec(err?.message || "");
  return match ? match[0] : null;
}

async function decodeError(err) {
  const data = revertData(err);
  if (!data) return new ChainError(err?.message || String(err), null);
  const decoded = await api("/explorer/revert", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ data }),
  });
  return new ChainError(decoded.error, decoded.hint);
}

async function request(method, params) {
  return wallet.provider.request({ method, params });
}

async function ethCall(to, data) {
  return request("eth_call", [{ from: wallet.account, to, data }, "latest"]);
}

// Simulates the call first (a revert is decoded before anything is signed), then sends it and
// waits for the receipt.
async function send(label, to, data) {
  const tx = { from: wallet.account, to, data };
  try {
    await request("eth_call", [tx, "latest"]);
  } catch (err) {
    throw await decodeError(err);
  }
  notice(`${label}: confirm in your wallet…`);
  let hash;
  try {
    hash = await request("eth_sendTransaction", [tx]);
  } catch (err) {
    throw await decodeError(err);
  }
  notice(`${label}: sent ${hash}, waiting for it to be mined…`);
  for (;;) {
    const receipt = await request("eth_getTransactionReceipt", [hash]);
    if (receipt) {
      if (receipt.status !== "0x1") throw new ChainError(`${label}: transaction ${hash} reverted`, null);
      return hash;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function act(label, steps) {
  try {
    let hash = null;
    for (const [stepLabel, to, data] of await steps()) hash = await send(stepLabel, to, data);
    notice(`${label}: done (transaction ${hash}). The page updates when the indexer has it.`, "ok");
  } catch (err) {
    const hint = err.hint ? ` Hint: ${err.hint}` : "";
    notice(`${label} failed: ${err.message}.${hint}`, "error");
  }
}

async function connect() {
  try {
    const accounts = await request("eth_requestAccounts", []);
    wallet.account = accounts[0] || null;
    const chainId = parseInt(await request("eth_chainId", []), 16);
    if (config && chainId !== config.chainId) {
      notice(`Your wallet is on chain ${chainId}; this explorer serves chain ${config.chainId}. Switch networks to act.`, "error");
    }
  } catch (err) {
    notice(`Could not connect the wallet: ${err.message}`, "error");
  }
  renderWallet();
  await render(true);
}

function renderWallet() {
  const area = document.getElementById("wallet");
  if (!wallet.provider) {
    fill(area, h("span", { class: "muted" }, "No wallet found: read-only"));
  } else if (!wallet.account) {
    fill(area, h("button", { type: "button", onclick: connect }, "Connect wallet"));
  } else {
    fill(area, h("span", { title: wallet.account }, `Wallet ${short(wallet.account)}`));
  }
}

function canAct() {
  return Boolean(wallet.provider && wallet.account && config?.contracts);
}

function same(a, b) {
  return Boolean(a && b && a.toLowerCase() === b.toLowerCase());
}

// ---- Pages --------------------------------------------------------------------------------

function runsTable(runs) {
  return h("table", {},
    h("thead", {}, h("tr", {}, ["Run", "State", "Reward", "Poster", "Agent", "Deadline", "Created"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, runs.map((run) => h("tr", { "data-run": run.bountyId },
      h("td", {}, runLink(run.bountyId)),
      h("td", {}, badge(run.state)),
      h("td", { class: "num" }, usdc(run.reward)),
      h("td", { title: run.posterAddress }, short(run.posterAddress)),
      h("td", {}, agentLink(run.claimedBy)),
      h("td", {}, time(run.deadline)),
      h("td", {}, time(run.createdAt))))));
}

function field(label, name, attrs) {
  return h("label", {}, label, h("input", { name, ...attrs }));
}

function runsPage(params) {
  const filters = ["state", "minReward", "maxReward", "poster", "claimedBy", "sort", "order", "limit"];
  const values = Object.fromEntries(filters.map((f) => [f, params.get(f) || ""]));
  const form = h("form", { method: "get", action: "/runs", class: "filters", "aria-label": "Filter runs" },
    h("label", {}, "State", h("select", { name: "state" }, h("option", { value: "" }, "any"),
      STATES.map((s) => h("option", { value: s, selected: values.state === s }, s)))),
    field("Min reward", "minReward", { value: values.minReward, inputmode: "decimal", size: 8 }),
    field("Max reward", "maxReward", { value: values.maxReward, inputmode: "decimal", size: 8 }),
    field("Poster", "poster", { value: values.poster, size: 14, placeholder: "0x…" }),
    field("Agent id", "claimedBy", { value: values.claimedBy, inputmode: "numeric", size: 5 }),
    h("label", {}, "Sort", h("select", { name: "sort" }, ["createdAt", "reward", "deadline"].map((s) => h("option", { value: s, selected: values.sort === s }, s)))),
    h("label", {}, "Order", h("select", { name: "order" }, ["desc", "asc"].map((o) => h("option", { value: o, selected: values.order === o }, o)))),
    h("label", {}, "Per page", h("select", { name: "limit" }, ["20", "10", "50", "100"].map((l) => h("option", { value: l, selected: values.limit === l }, l)))),
    h("button", { type: "submit" }, "Apply"));
  const live = h("section", { id: "live", "aria-live": "polite" });
  const create = h("section", { id: "create" });
  fill(main, h("h1", {}, "Runs"), form, h("div", { id: "notice" }), live, create);

  return {
    async render() {
      const search = { ...values, cursor: params.get("cursor") || "" };
      let list;
      try {
        list = await api(`/api/runs${query(search)}`);
      } catch (err) {
        fill(live, h("div", { class: "notice error", role: "alert" }, err.message));
        return;
      }
      const next = new URLSearchParams(params);
      const nav = h("nav", { class: "pager", "aria-label": "Pages" });
      if (params.get("cursor")) {
        const first = new URLSearchParams(params);
        first.delete("cursor");
        nav.append(h("a", { href: `/runs${first.toString() ? "?" + first : ""}`, rel: "first" }, "First page"));
      }
      if (list.nextCursor) {
        next.set("cursor", list.nextCursor);
        nav.append(h("a", { href: `/runs?${next}`, rel: "next" }, "Next page"));
      }
      fill(live,
        h("p", { class: "muted" }, `${list.pagination.total} runs match · indexed block ${list.indexedBlock}`),
        list.runs.length ? runsTable(list.runs) : h("p", {}, "No runs match these filters."),
        nav);
      renderCreate(create);
    },
  };
}

function renderCreate(section) {
  if (!canAct()) {
    fill(section);
    return;
  }
  if (section.childElementCount) return; // keep what the user typed
  const form = h("form", { class: "card", "aria-label": "Post a run" },
    h("h2", {}, "Post a run"),
    field("Spec URI", "spec", { required: true, placeholder: "ipfs://…" }),
    field("Reward (USDC)", "reward", { required: true, inputmode: "decimal", size: 8 }),
    field("Claimable for (days)", "days", { value: "7", inputmode: "numeric", size: 4 }),
    field("Max revisions", "revisions", { value: "3", inputmode: "numeric", size: 3 }),
    h("button", { type: "submit" }, "Create and fund"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    act("Create run", async () => {
      const reward = parseUsdc(data.get("reward"), "reward");
      const total = reward + (reward * BigInt(config.feeBps)) / 10000n;
      const deadline = BigInt(Math.floor(chainNow())) + BigInt(data.get("days") || "7") * 86400n;
      const c = config.contracts;
      return [
        ["Approve USDC", c.usdc, calldata("usdcApprove", c.runEscrow, total)],
        ["Create run", c.runEscrow, calldata("createAndFund", data.get("spec"), reward, deadline, BigInt(data.get("revisions") || "3"), 0n, 0n)],
      ];
    });
  });
  fill(section, form);
}

function nextStep(run) {
  const s = run.state;
  if (s === "OPEN") return [run.deadline, "Claimable until then; after it anyone may expire the run and refund the poster."];
  if (["CLAIMED", "IN_PROGRESS", "REVISION_REQUESTED"].includes(s)) {
    return [run.claimTimeoutEndsAt, "The agent must submit by then; after it the poster may slash (anyone, a review period later)."];
  }
  if (s === "SUBMITTED") return [run.reviewEndsAt, "The poster may approve, ask for a revision or reject until then; after it anyone may approve on timeout."];
  if (s === "REJECTED" && !run.settled && run.rejection) {
    return [run.rejection.windowEndsAt, "The agent may dispute or accept until then; after it anyone may make the rejection final."];
  }
  if (s === "DISPUTED" && run.dispute) {
    return [run.dispute.rulingDeadline, "The arbitrator rules until then; after it anyone may settle the default 50/50 split."];
  }
  return [null, "Settled: nothing more can happen to this run."];
}

function runPage(id) {
  const live = h("section", { id: "live", "aria-live": "polite" });
  const actions = h("section", { id: "actions" });
  fill(main, h("h1", {}, `Run #${id}`), h("div", { id: "notice" }), live, actions);
  let actionsKey = null;

  return {
    async render() {
      let run;
      try {
        run = await api(`/api/runs/${encodeURIComponent(id)}`);
      } catch (err) {
        fill(live, h("div", { class: "notice error", role: "alert" }, err.message));
        return;
      }
      const [deadline, who] = nextStep(run);
      const rows = [
        ["State", badge(run.state)], ["Settled", run.settled ? "yes" : "no"],
        ["Reward", usdc(run.reward)], ["Fee", usdc(run.fee)], ["Required stake", usdc(run.requiredStake)],
        ["Poster", h("span", { title: run.posterAddress }, run.posterAddress)],
        ["Agent", run.claimedBy ? h("span", {}, agentLink(run.claimedBy), ` (${short(run.claimedByWallet)})`) : "—"],
        ["Spec", run.ipfsHash], ["Deliverable", run.deliverableHash || "—"],
        ["Revisions", `${run.revisionCount} of ${run.maxRevisions}`],
        ["Deadline", time(run.deadline)], ["Claimed", time(run.claimedAt)], ["Submitted", time(run.submittedAt)],
        ["Arbitrator", run.arbitrator], ["Terms version", run.termsVersion],
        ["Claim timeout", duration(run.claimTimeout)], ["Review period", duration(run.reviewPeriod)],
        ["Dispute window", duration(run.disputeWindow)], ["Ruling period", duration(run.rulingPeriod)],
      ];
      if (run.rejection) rows.push(["Rejection", `${run.rejection.reasonURI} (bond ${usdc(run.rejection.bond)})`]);
      if (run.dispute) {
        const d = run.dispute;
        rows.push(["Dispute", d.resolvedAt ? `ruled ${d.agentShareBps / 100}% to the agent${d.byDefault ? " (default)" : ""}${d.strike ? ", strike" : ""}` : `${d.evidence.length} evidence, awaiting the ruling`]);
      }
      fill(live,
        h("div", { class: "card next" },
          h("h2", {}, "Next deadline"),
          deadline ? h("p", { class: "countdown", "data-deadline": deadline }, time(deadline), " — ", h("strong", {}, relative(deadline))) : null,
          h("p", {}, who)),
        h("dl", { class: "fields" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
        h("h2", {}, "Timeline"),
        h("ol", { class: "timeline" }, run.events.map((event) => h("li", {},
          h("strong", {}, event.type), " ", time(event.timestamp),
          h("span", { class: "muted" }, ` block ${event.blockNumber} · tx `),
          h("code", { title: event.txHash }, short(event.txHash))))));
      const key = `${run.state}|${run.settled}|${wallet.account}`;
      if (key !== actionsKey) {
        actionsKey = key;
        renderRunActions(actions, run);
      }
    },
  };
}

function renderRunActions(section, run) {
  fill(section);
  if (!canAct()) {
    if (!wallet.provider) section.append(h("p", { class: "muted" }, "Read-only: no EIP-1193 wallet in this browser."));
    return;
  }
  const c = config.contracts;
  const id = BigInt(run.bountyId);
  const buttons = [];
  const input = (name, label) => h("label", {}, label, h("input", { name, id: `input-${name}`, size: 30 }));
  const value = (name) => document.getElementById(`input-${name}`).value;
  const poster = same(wallet.account, run.posterAddress);
  const agent = same(wallet.account, run.claimedByWallet);
  if (run.state === "OPEN") {
    buttons.push(h("button", { type: "button", id: "claim", onclick: () => act("Claim", async () => {
      const agentId = BigInt(await ethCall(c.stakeVault, calldata("agentIdOf", wallet.account)));
      if (agentId === 0n) throw new ChainError("this wallet is not registered as an agent", "register and stake first (`runs agent register`, `runs agent stake 20`)");
      const answer = await api(`/api/runs/${run.bountyId}/claim`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ agentId: Number(agentId), walletAddress: wallet.account }),
      });
      return [["Claim", answer.transaction.to, answer.transaction.data]];
    }) }, "Claim this run"));
  }
  if (agent && ["CLAIMED", "IN_PROGRESS", "REVISION_REQUESTED"].includes(run.state)) {
    buttons.push(input("deliverable", "Deliverable URI"),
      h("button", { type: "button", id: "submit", onclick: () => act("Submit", async () => [["Submit", c.runEscrow, calldata("submit", id, value("deliverable"))]]) }, "Submit"));
  }
  if (poster && (run.state === "SUBMITTED" || run.state === "DISPUTED" || (run.state === "REJECTED" && !run.settled))) {
    buttons.push(h("button", { type: "button", id: "approve", onclick: () => act("Approve", async () => [["Approve", c.runEscrow, calldata("approve", id)]]) }, "Approve"));
  }
  if (poster && run.state === "SUBMITTED") {
    buttons.push(input("reason", "Reason"),
      h("button", { type: "button", id: "revise", onclick: () => act("Request revision", async () => [["Request revision", c.runEscrow, calldata("requestRevision", id, value("reason"))]]) }, "Request revision"),
      h("button", { type: "button", id: "reject", class: "danger", onclick: () => act("Reject", async () => [
        ["Approve the bond", c.usdc, calldata("usdcApprove", c.runEscrow, BigInt(run.requiredStake))],
        ["Reject", c.runEscrow, calldata("reject", id, value("reason"))],
      ]) }, "Reject (posts a bond)"));
  }
  if (poster && (run.state === "OPEN" || run.state === "DRAFT")) {
    buttons.push(h("button", { type: "button", id: "cancel", class: "danger", onclick: () => act("Cancel", async () => [["Cancel", c.runEscrow, calldata("cancel", id)]]) }, "Cancel run"));
  }
  if (buttons.length) section.append(h("div", { class: "card actions" }, h("h2", {}, "Act"), buttons));
}

function agentPage(id) {
  const live = h("section", { id: "live", "aria-live": "polite" });
  fill(main, h("h1", {}, `Agent ${id}`), live);
  return {
    async render() {
      let agent;
      let runs;
      try {
        agent = await api(`/api/agents/${encodeURIComponent(id)}`);
        runs = await api(`/api/runs${query({ claimedBy: id, limit: 100 })}`);
      } catch (err) {
        fill(live, h("div", { class: "notice error", role: "alert" }, err.message));
        return;
      }
      const r = agent.reputation;
      fill(live,
        h("dl", { class: "fields" }, [
          ["Status", badge(agent.status)], ["Wallet", agent.wallet], ["Stake", usdc(agent.stakedAmount)],
          ["Reserved", usdc(agent.reservedStake)], ["Free", usdc(agent.freeStake)],
          ["Pending unstake", `${usdc(agent.pendingUnstake)}${agent.unstakeReadyAt ? " (ready " + relative(agent.unstakeReadyAt) + ")" : ""}`],
          ["Strikes", agent.strikes], ["Active claims", agent.activeClaims],
          ["Reputation", `score ${r.score} · ${r.completions} completed of ${r.totalClaimed} claimed · ${usdc(r.totalVolume)} earned`],
          ["Staked since", time(agent.stakedAt)], ["Registered", time(agent.registeredAt)],
        ].map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
        h("h2", {}, "Runs it holds"),
        runs.runs.length ? runsTable(runs.runs) : h("p", {}, "None."),
        h("h2", {}, "Slash history"),
        agent.slashHistory.length
          ? h("table", {}, h("thead", {}, h("tr", {}, ["Run", "Outcome", "Amount", "Stake after", "When"].map((c) => h("th", { scope: "col" }, c)))),
            h("tbody", {}, agent.slashHistory.map((s) => h("tr", {}, h("td", {}, runLink(s.runId)), h("td", {}, s.outcome),
              h("td", { class: "num" }, usdc(s.amount)), h("td", { class: "num" }, usdc(s.stakeAfter)), h("td", {}, time(s.timestamp))))))
          : h("p", {}, "No slashes."));
    },
  };
}

// How many runs the market page reads for its chart (the newest); said on the page when capped.
const MARKET_PAGES = 20;

async function allRuns(params) {
  const runs = [];
  let cursor = "";
  for (let page = 0; page < MARKET_PAGES; page += 1) {
    const list = await api(`/api/runs${query({ ...params, limit: 100, cursor })}`);
    runs.push(...list.runs);
    if (!list.nextCursor) return { runs, complete: true };
    cursor = list.nextCursor;
  }
  return { runs, complete: false };
}

// Every day from the first to the last of `days` (ISO dates), so gaps show as empty bars; only
// the days themselves when they span more than a year.
function dayRange(days) {
  const sorted = [...new Set(days)].sort();
  if (sorted.length < 2) return sorted;
  const first = Date.parse(sorted[0]);
  const last = Date.parse(sorted[sorted.length - 1]);
  if ((last - first) / 86400000 > 366) return sorted;
  const all = [];
  for (let t = first; t <= last; t += 86400000) all.push(new Date(t).toISOString().slice(0, 10));
  return all;
}

function barChart(title, series, format) {
  const width = 640;
  const height = 160;
  const max = series.reduce((m, [, v]) => (v > m ? v : m), 0) || 1;
  const bar = series.length ? width / series.length : width;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height + 20}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${title}: ${series.map(([d, v]) => `${d} ${format(v)}`).join(", ")}`);
  series.forEach(([day, value], i) => {
    const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    const barHeight = Math.max(1, (Number(value) / Number(max)) * height);
    rect.setAttribute("x", String(i * bar + 2));
    rect.setAttribute("y", String(height - barHeight));
    rect.setAttribute("width", String(Math.max(1, bar - 4)));
    rect.setAttribute("height", String(barHeight));
    rect.setAttribute("class", "bar");
    const tip = document.createElementNS("http://www.w3.org/2000/svg", "title");
    tip.textContent = `${day}: ${format(value)}`;
    rect.append(tip);
    svg.append(rect);
  });
  if (series.length) {
    for (const [i, anchor] of [[0, "start"], [series.length - 1, "end"]]) {
      const label = document.createElementNS("http://www.w3.org/2000/svg", "text");
      label.setAttribute("x", String(anchor === "start" ? 0 : width));
      label.setAttribute("y", String(height + 16));
      label.setAttribute("text-anchor", anchor);
      label.textContent = series[i][0];
      svg.append(label);
    }
  }
  return h("figure", {}, h("figcaption", {}, title), svg);
}

function marketPage() {
  const live = h("section", { id: "live", "aria-live": "polite" });
  fill(main, h("h1", {}, "Market"), live);
  return {
    async render() {
      try {
        const counts = await Promise.all(STATES.map(async (state) => [state, (await api(`/api/runs${query({ state, limit: 1 })}`)).pagination.total]));
        const open = await allRuns({ state: "OPEN" });
        const openVolume = open.runs.reduce((sum, run) => sum + BigInt(run.reward), 0n);
        const recent = await allRuns({});
        const created = new Map();
        const paid = new Map();
        for (const run of recent.runs) {
          const day = run.createdAt.slice(0, 10);
          created.set(day, (created.get(day) || 0) + 1);
          if (run.state === "APPROVED") {
            const paidDay = run.updatedAt.slice(0, 10);
            paid.set(paidDay, (paid.get(paidDay) || 0n) + BigInt(run.reward));
          }
        }
        const days = dayRange([...created.keys(), ...paid.keys()]);
        const agents = await api("/api/agents?limit=100");
        const top = [...agents.agents].sort((a, b) => {
          const diff = BigInt(b.reputation.totalVolume) - BigInt(a.reputation.totalVolume);
          return diff > 0n ? 1 : diff < 0n ? -1 : a.id - b.id;
        }).slice(0, 5);
        const total = counts.reduce((sum, [, n]) => sum + n, 0);
        fill(live,
          h("div", { class: "stats" },
            h("div", { class: "stat" }, h("span", {}, "Runs"), h("strong", {}, total)),
            h("div", { class: "stat" }, h("span", {}, "Open"), h("strong", {}, counts.find(([s]) => s === "OPEN")[1])),
            h("div", { class: "stat" }, h("span", {}, "Open reward volume"), h("strong", { id: "open-volume" }, usdc(openVolume)))),
          h("h2", {}, "Runs per state"),
          h("table", { class: "counts" }, h("tbody", {}, counts.map(([state, n]) => h("tr", {},
            h("th", { scope: "row" }, h("a", { href: `/runs?state=${state}` }, badge(state))), h("td", { class: "num", "data-state": state }, n))))),
          barChart("Runs created per day", days.map((d) => [d, created.get(d) || 0]), (v) => `${v} runs`),
          barChart("Paid to agents per day (approved runs)", days.map((d) => [d, paid.get(d) || 0n]), usdc),
          recent.complete ? null : h("p", { class: "muted" }, `Charts from the newest ${recent.runs.length} runs.`),
          h("h2", {}, "Top agents by earnings"),
          h("ol", {}, top.map((a) => h("li", {}, agentLink(a.id), ` ${a.status} · ${usdc(a.reputation.totalVolume)} · ${a.reputation.completions} completed`))));
      } catch (err) {
        fill(live, h("div", { class: "notice error", role: "alert" }, err.message));
      }
    },
  };
}

function notFound() {
  fill(main, h("h1", {}, "Not found"), h("p", {}, h("a", { href: "/" }, "See the runs")));
  return { async render() {} };
}

// ---- Routing and live updates -------------------------------------------------------------

function route() {
  const path = location.pathname.replace(/\/+$/, "") || "/";
  const params = new URLSearchParams(location.search);
  let match;
  if (path === "/" || path === "/runs") return runsPage(params);
  if ((match = /^\/runs\/(\d+)$/.exec(path))) return runPage(match[1]);
  if ((match = /^\/agents\/(\d+)$/.exec(path))) return agentPage(match[1]);
  if (path === "/market") return marketPage();
  return notFound();
}

// Renders the page; a request while a render is in flight renders once more after it, so a
// change that arrives mid-render is never lost.
let dirty = false;
async function render() {
  if (rendering) {
    dirty = true;
    return rendering;
  }
  rendering = current.render().finally(() => {
    rendering = null;
    if (dirty) {
      dirty = false;
      render();
    }
  });
  return rendering;
}

// Live updates: the event stream when it is open (any new or retracted event re-renders the
// page), else a short poll of /ready's indexed block. /ready is polled either way for the
// chain's clock and the freshness line.
let streaming = false;

async function subscribe() {
  if (!window.EventSource || !config?.eventTypes) return;
  let head;
  try {
    head = (await api("/api/events?limit=1")).headSeq;
  } catch {
    return;
  }
  const source = new EventSource(`/api/events/stream?after=${head}`);
  let timer = null;
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(render, 100);
  };
  for (const type of config.eventTypes) source.addEventListener(type, changed);
  // Dropped for reading too slowly: start over from the head (the page re-renders anyway).
  source.addEventListener("lagged", () => {
    source.close();
    streaming = false;
    changed();
    subscribe();
  });
  source.addEventListener("open", () => {
    streaming = true;
  });
  // The browser reconnects by itself (with Last-Event-ID); the poll covers the gap, and takes
  // over if the server refused the stream.
  source.addEventListener("error", () => {
    streaming = source.readyState === EventSource.OPEN;
  });
}

async function poll() {
  try {
    // 503 while the indexer lags still answers the indexed block.
    const status = await (await fetch("/ready")).json();
    if (status.indexedBlockTime) clock = { chain: Date.parse(status.indexedBlockTime) / 1000, wall: Date.now() };
    const fresh = document.getElementById("freshness");
    const how = streaming ? "live" : "live (polling)";
    fresh.textContent = `Indexed block ${status.indexedBlock}${status.ready ? "" : ` (${status.reason})`} · ${how}`;
    if (!streaming && indexedBlock !== null && status.indexedBlock !== indexedBlock) await render();
    indexedBlock = status.indexedBlock;
  } catch {
    document.getElementById("freshness").textContent = "API unreachable; retrying";
  }
  setTimeout(poll, POLL_MS);
}

async function start() {
  config = await api("/explorer/config.json").catch(() => null);
  if (wallet.provider) {
    try {
      const accounts = await request("eth_accounts", []);
      wallet.account = accounts[0] || null;
    } catch {
      wallet.account = null;
    }
  }
  renderWallet();
  current = route();
  setInterval(() => {
    for (const el of document.querySelectorAll(".countdown")) {
      el.querySelector("strong").textContent = relative(el.dataset.deadline);
    }
  }, 1000);
  await poll();
  await render();
  subscribe();
}

start();
