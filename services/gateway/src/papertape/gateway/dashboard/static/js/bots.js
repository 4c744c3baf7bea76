// Bot sessions (start with a strategy, its parameters and a mode; pause, resume, stop; compare)
// and the signal feed (decision, confidence level, reasoning, key factors).

import { get, post, refusal, seg } from "./api.js";
import { byId, el, fillTable, say, shown } from "./dom.js";

export class Bots {
  constructor(context, onSignals) {
    this.context = context;
    this.onSignals = onSignals;
    this.strategies = new Map();
    this.sessions = [];
    this.form = byId("session-form");
    this.result = byId("session-result");
    this.form.strategy.addEventListener("change", () => this.showParameters());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.start();
    });
    byId("compare-sessions").addEventListener("click", () => this.compare());
  }

  async loadStrategies() {
    const strategies = await get("/strategies");
    this.strategies = new Map(strategies.map((s) => [s.name, s]));
    byId("strategy-select").replaceChildren(
      ...strategies.map((s) => el("option", { value: s.name, title: s.description }, s.name)),
    );
    this.showParameters();
  }

  /** One input per parameter of the strategy's JSON Schema, holding its default and bounds. */
  showParameters() {
    const strategy = this.strategies.get(this.form.strategy.value);
    const properties = resolved(strategy?.parameters_schema ?? {}).properties ?? {};
    const inputs = Object.entries(properties).map(([name, schema]) => {
      const value = strategy.defaults[name] ?? schema.default;
      const kind = schema.type ?? "string";
      const input = kind === "boolean"
        ? el("input", { type: "checkbox", name: `param:${name}`, checked: value === true, dataset: { kind } })
        : el("input", {
          name: `param:${name}`, value: shown(value), dataset: { kind },
          type: kind === "integer" || kind === "number" ? "number" : "text",
          step: kind === "integer" ? "1" : "any", min: schema.minimum, max: schema.maximum,
        });
      return el("label", { title: schema.description ?? "", class: kind === "boolean" ? "check" : undefined }, name, input);
    });
    byId("strategy-parameters").replaceChildren(el("legend", {}, "Parameters"), ...inputs);
  }

  parameters() {
    const parameters = {};
    for (const input of byId("strategy-parameters").querySelectorAll("input")) {
      const name = input.name.slice("param:".length);
      const kind = input.dataset.kind;
      if (kind === "boolean") {
        parameters[name] = input.checked;
        continue;
      }
      const text = input.value.trim();
      if (!text) continue;
      parameters[name] = kind === "integer" ? Number.parseInt(text, 10) : kind === "number" ? Number(text) : text;
    }
    return parameters;
  }

  async start() {
    const form = new FormData(this.form);
    const body = {
      session_id: String(form.get("session_id")).trim(),
      account_id: this.context.account(),
      strategy: form.get("strategy"),
      mode: form.get("mode"),
      timeframe: form.get("timeframe"),
      symbols: String(form.get("symbols")).split(",").map((s) => s.trim()).filter(Boolean),
      parameters: this.parameters(),
    };
    try {
      const view = await post("/sessions", body);
      say(this.result, `started ${view.session_id}: ${view.status}`, true);
    } catch (error) {
      say(this.result, refusal(error), false);
    }
    await this.load();
  }

  async command(session, verb) {
    try {
      const body = verb === "resume" ? undefined : { reason: `${verb} from the dashboard` };
      const view = await post(`/sessions/${seg(session)}/${verb}`, body);
      say(this.result, `${view.session_id}: ${view.status}`, true);
    } catch (error) {
      say(this.result, refusal(error), false);
    }
    await this.load();
  }

  /** The ids ticked for comparison (kept when the table is drawn again). */
  ticked() {
    return new Set([...byId("sessions").querySelectorAll("input[name=compare]:checked")].map((i) => i.value));
  }

  async load() {
    this.sessions = await get("/sessions", { account_id: this.context.account() });
    const ticked = this.ticked();
    const controls = (s) => {
      const ended = !["RUNNING", "PAUSED"].includes(s.status);
      return el("span", {},
        el("button", { type: "button", disabled: ended || s.status === "PAUSED", onclick: () => this.command(s.session_id, "pause") }, "Pause"),
        el("button", { type: "button", disabled: s.status !== "PAUSED", onclick: () => this.command(s.session_id, "resume") }, "Resume"),
        el("button", { type: "button", disabled: ended, onclick: () => this.command(s.session_id, "stop") }, "Stop"));
    };
    fillTable(byId("sessions"), [
      { label: "", value: (s) => el("input", { type: "checkbox", name: "compare", value: s.session_id, checked: ticked.has(s.session_id) }) },
      { label: "Session", value: (s) => s.session_id },
      { label: "Strategy", value: (s) => s.strategy },
      { label: "Mode", value: (s) => s.mode },
      { label: "Symbols", value: (s) => s.symbols.join(", ") },
      { label: "Status", value: (s) => (s.reason ? `${s.status} (${s.reason})` : s.status) },
      { label: "Signals", value: (s) => Object.entries(s.signals).map(([d, n]) => `${d} ${n}`).join(", "), num: true },
      { label: "Orders", value: (s) => `${s.orders_placed} placed, ${s.orders_refused} refused`, num: true },
      { label: "Fills", value: (s) => s.fills, num: true },
      { label: "P&L", value: (s) => s.realized_pnl, num: true, signed: true },
      { label: "", value: controls },
    ], this.sessions, (s) => ({ dataset: { session: s.session_id, status: s.status } }));
    await this.loadSignals();
  }

  async compare() {
    const chosen = [...this.ticked()];
    if (!chosen.length) return;
    try {
      const views = await get("/sessions/compare", { session_ids: chosen });
      fillTable(byId("comparison"), [
        { label: "Session", value: (s) => s.session_id },
        { label: "Strategy", value: (s) => `${s.strategy} (${s.params_hash})` },
        { label: "Trades", value: (s) => s.trades, num: true },
        { label: "Win rate", value: (s) => s.win_rate, num: true },
        { label: "Realised P&L", value: (s) => s.realized_pnl, num: true, signed: true },
        { label: "Fees", value: (s) => s.fees, num: true },
        { label: "Max drawdown", value: (s) => s.max_drawdown, num: true },
        { label: "Running (s)", value: (s) => s.running_s, num: true },
      ], views);
    } catch (error) {
      say(this.result, refusal(error), false);
    }
  }

  /** The newest signals of the account's sessions (an account's key names its sessions). */
  async loadSignals() {
    const pages = await Promise.all(
      this.sessions.map((s) => get("/signals", { session_id: s.session_id, limit: 100 })),
    );
    const signals = pages.flatMap((p) => p.signals).sort((a, b) => b.ts.localeCompare(a.ts));
    this.renderSignals(signals);
    this.onSignals(signals);
  }

  renderSignals(signals) {
    fillTable(byId("signals"), [
      { label: "Time", value: (s) => s.ts },
      { label: "Session", value: (s) => s.session_id },
      { label: "Symbol", value: (s) => s.symbol },
      { label: "Decision", value: (s) => s.decision },
      { label: "Confidence", value: (s) => `${s.confidence} (${s.level})`, num: true },
      { label: "Reasoning", value: (s) => s.reasoning },
      { label: "Key factors", value: (s) => s.factors.map(factorText).join("; ") },
    ], signals.slice(0, 100), (s) => ({
      class: "clickable", dataset: { signal: s.signal_id },
      onclick: () => showSignal(byId("signal-detail"), s),
    }));
  }
}

/** The schema itself, or the definition its ``$ref`` names (msgspec puts structs in $defs). */
export function resolved(schema) {
  const ref = schema.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#/$defs/")) return schema;
  return schema.$defs?.[ref.slice("#/$defs/".length)] ?? {};
}

export function factorText(factor) {
  if (typeof factor === "string") return factor;
  return Object.values(factor).map(shown).join(" ");
}

/** The reasoning of a signal, as text, in the panel under the chart. */
export function showSignal(node, signal) {
  node.hidden = false;
  node.replaceChildren(
    el("strong", {}, `${signal.decision} ${signal.symbol} · confidence ${signal.confidence} (${signal.level})`),
    el("div", {}, `entry ${shown(signal.entry)} · stop ${shown(signal.stop)} · targets ${signal.targets.map(shown).join(", ") || "—"}`),
    el("p", {}, signal.reasoning),
    el("ul", {}, signal.factors.map((f) => el("li", {}, factorText(f)))),
  );
}
