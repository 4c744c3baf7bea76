// Notifications: the account's rules (happenings, endpoints, the socket, thresholds), its
// endpoints (webhook, e-mail, Telegram; a webhook's signing secret is shown once, when added),
// the delivery log with every attempt, dead letters with re-send, and a toast for each
// ``notification`` the gateway relays on the account's ``notifications`` channel.

import { del, get, post, put, refusal, seg } from "./api.js";
import { byId, el, fillTable, say, shown } from "./dom.js";

// The contract's Happening (papertape.contract.events.notifications).
export const HAPPENINGS = [
  "fill", "stop_loss_hit", "take_profit_hit", "order_refused", "order_triggered",
  "circuit_breaker", "trading_halted", "session_started", "session_ended", "session_errored",
  "signal", "drawdown", "daily_pnl",
];
const TOAST_MS = 10000;
const TOASTS_SHOWN = 5;
const LOG_LIMIT = 50;

export class Notifications {
  constructor(context, onError) {
    this.context = context;
    this.onError = onError;
    this.endpoints = [];
    this.logEndpoint = "";
    this.deliveriesPage = null;
    this.deadPage = null;
    this.ruleForm = byId("rule-form");
    this.endpointForm = byId("endpoint-form");
    byId("rule-happenings").replaceChildren(
      el("legend", {}, "Happenings"),
      ...HAPPENINGS.map((h) => el("label", { class: "check" }, el("input", { type: "checkbox", name: "happening", value: h }), h)),
    );
    this.ruleForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.addRule();
    });
    this.endpointForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.addEndpoint();
    });
    this.endpointForm.kind.addEventListener("change", () => this.showKind());
    byId("delivery-endpoint").addEventListener("change", (event) => {
      this.logEndpoint = event.target.value;
      this.loadLog().catch(onError);
    });
    byId("deliveries-refresh").addEventListener("click", () => this.loadLog().catch(onError));
    byId("deliveries-older").addEventListener("click", () => {
      this.loadDeliveries(this.olderDeliveries).catch(onError);
    });
    byId("dead-letters-older").addEventListener("click", () => {
      this.loadDeadLetters(this.olderDead).catch(onError);
    });
    this.showKind();
  }

  base() {
    return `/notifications/${seg(this.context.account())}`;
  }

  /** Everything of the selected account: rules, endpoints, the delivery log, dead letters. */
  async load() {
    for (const id of ["rule-result", "endpoint-result", "resend-result"]) {
      const line = byId(id);
      line.textContent = "";
      delete line.dataset.ok;
    }
    await Promise.all([this.loadRules(), this.loadEndpoints()]);
    await this.loadLog();
  }

  async loadRules() {
    const rules = await get(`${this.base()}/rules`);
    fillTable(byId("rules"), [
      { label: "Rule", value: (r) => r.rule_id },
      { label: "Happenings", value: (r) => r.happenings.join(", ") },
      { label: "Endpoints", value: (r) => r.endpoints.join(", ") },
      { label: "Socket", value: (r) => (r.websocket ? "yes" : "no") },
      { label: "Min confidence", value: (r) => r.min_confidence, num: true },
      { label: "Drawdown %", value: (r) => r.drawdown_pct, num: true },
      { label: "", value: (r) => el("button", { type: "button", onclick: () => this.removeRule(r.rule_id) }, "Remove") },
    ], rules, (r) => ({ dataset: { rule: r.rule_id } }));
  }

  async loadEndpoints() {
    this.endpoints = await get(`${this.base()}/endpoints`);
    fillTable(byId("endpoints"), [
      { label: "Endpoint", value: (e) => e.endpoint_id },
      { label: "Kind", value: (e) => e.kind },
      { label: "Target", value: (e) => e.url ?? e.email ?? e.chat_id },
      { label: "Secret", value: (e) => (e.has_secret ? "kept (never shown again)" : "—") },
      { label: "", value: (e) => el("span", {},
        el("button", { type: "button", onclick: () => this.showLog(e.endpoint_id) }, "Log"),
        el("button", { type: "button", onclick: () => this.removeEndpoint(e.endpoint_id) }, "Remove")) },
    ], this.endpoints, (e) => ({ dataset: { endpoint: e.endpoint_id } }));
    const ids = this.endpoints.map((e) => e.endpoint_id);
    byId("rule-endpoints").replaceChildren(
      el("legend", {}, "Endpoints"),
      ...(ids.length
        ? ids.map((id) => el("label", { class: "check" }, el("input", { type: "checkbox", name: "endpoint", value: id }), id))
        : [el("span", { class: "muted" }, "none yet: the socket only")]),
    );
    if (!ids.includes(this.logEndpoint)) this.logEndpoint = "";
    byId("delivery-endpoint").replaceChildren(
      el("option", { value: "" }, "every endpoint"),
      ...ids.map((id) => el("option", { value: id }, id)),
    );
    byId("delivery-endpoint").value = this.logEndpoint;
  }

  /** The delivery log (of one endpoint when chosen) and the account's dead letters: the
   * newest page of each. */
  async loadLog() {
    await Promise.all([this.loadDeliveries(), this.loadDeadLetters()]);
  }

  /** What a new notification may have changed: the tables showing their newest page (an
   * older page being read is left as it is). */
  async refreshLog() {
    await Promise.all([
      this.deliveriesPage === null ? this.loadDeliveries() : null,
      this.deadPage === null ? this.loadDeadLetters() : null,
    ]);
  }

  /** One page of the delivery log, newest first; `before` (the last delivery of the page
   * shown) reads the older ones. */
  async loadDeliveries(before = null) {
    const query = { endpoint_id: this.logEndpoint, limit: LOG_LIMIT, before };
    const deliveries = await get(`${this.base()}/deliveries`, query);
    this.deliveriesPage = before;
    this.olderDeliveries = older(byId("deliveries-older"), deliveries);
    const last = (d) => d.history[d.history.length - 1];
    fillTable(byId("deliveries"), [
      { label: "Created", value: (d) => d.created_at },
      { label: "Endpoint", value: (d) => `${d.endpoint_id} (${d.kind})` },
      { label: "Happening", value: (d) => d.happening },
      { label: "Status", value: (d) => d.status },
      { label: "Attempts", value: (d) => d.attempts, num: true },
      { label: "Last status", value: (d) => last(d)?.status_code, num: true },
      { label: "Latency (ms)", value: (d) => last(d)?.latency_ms, num: true },
      { label: "Last error", value: (d) => d.last_error },
      { label: "Delivery id", value: (d) => el("code", {}, d.delivery_id) },
    ], deliveries, (d) => ({ dataset: { delivery: d.delivery_id, status: d.status } }));
  }

  /** One page of the account's dead letters, newest first (`before` as for the log). */
  async loadDeadLetters(before = null) {
    const dead = await get(`${this.base()}/dead-letters`, { limit: LOG_LIMIT, before });
    this.deadPage = before;
    this.olderDead = older(byId("dead-letters-older"), dead);
    fillTable(byId("notify-dead-letters"), [
      { label: "Created", value: (d) => d.created_at },
      { label: "Endpoint", value: (d) => `${d.endpoint_id} (${d.kind})` },
      { label: "Happening", value: (d) => d.happening },
      { label: "Attempts", value: (d) => d.attempts, num: true },
      { label: "Last error", value: (d) => d.last_error },
      { label: "", value: (d) => el("button", { type: "button", onclick: () => this.resend(d.delivery_id) }, "Re-send") },
    ], dead, (d) => ({ dataset: { delivery: d.delivery_id } }));
  }

  showLog(endpointId) {
    this.logEndpoint = endpointId;
    byId("delivery-endpoint").value = endpointId;
    this.loadLog().catch(this.onError);
  }

  /** Only the inputs the chosen kind of endpoint needs. */
  showKind() {
    const kind = this.endpointForm.kind.value;
    for (const label of this.endpointForm.querySelectorAll("[data-kind]")) {
      label.hidden = !label.dataset.kind.split(" ").includes(kind);
    }
  }

  async addRule() {
    const form = this.ruleForm;
    const checked = (name) => [...form.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
    const ruleId = form.rule_id.value.trim();
    const body = {
      happenings: checked("happening"),
      endpoints: checked("endpoint"),
      websocket: form.websocket.checked,
    };
    const confidence = form.min_confidence.value.trim();
    if (confidence) body.min_confidence = Number.parseInt(confidence, 10);
    const drawdown = form.drawdown_pct.value.trim();
    if (drawdown) body.drawdown_pct = drawdown;
    if (!body.happenings.length) {
      say(byId("rule-result"), "refused: pick at least one happening (field happenings)", false);
      return;
    }
    await this.change("rule-result", async () => {
      const view = await put(`${this.base()}/rules/${seg(ruleId)}`, body);
      return `rule ${view.rule_id}: ${view.happenings.join(", ")}`;
    });
    await this.loadRules().catch(this.onError);
  }

  async removeRule(ruleId) {
    await this.change("rule-result", async () => {
      await del(`${this.base()}/rules/${seg(ruleId)}`);
      return `removed rule ${ruleId}`;
    });
    await this.loadRules().catch(this.onError);
  }

  async addEndpoint() {
    const form = this.endpointForm;
    const kind = form.kind.value;
    const body = { kind };
    const value = (name) => form[name].value.trim();
    if (kind === "webhook") body.url = value("url");
    if (kind === "email") body.email = value("email");
    if (kind === "telegram") body.chat_id = value("chat_id");
    if (kind !== "email" && value("secret")) body.secret = value("secret");
    await this.change("endpoint-result", async () => {
      const view = await put(`${this.base()}/endpoints/${seg(value("endpoint_id"))}`, body);
      form.secret.value = "";
      const secret = view.kind === "webhook" && view.secret
        ? `: signing secret ${view.secret} (shown this once: keep it now)`
        : "";
      return `endpoint ${view.endpoint_id} (${view.kind})${secret}`;
    });
    await this.loadEndpoints().catch(this.onError);
  }

  async removeEndpoint(endpointId) {
    await this.change("endpoint-result", async () => {
      await del(`${this.base()}/endpoints/${seg(endpointId)}`);
      return `removed endpoint ${endpointId}`;
    });
    await Promise.all([this.loadEndpoints(), this.loadRules()]).catch(this.onError);
  }

  async resend(deliveryId) {
    await this.change("resend-result", async () => {
      const view = await post(`${this.base()}/dead-letters/${seg(deliveryId)}/resend`);
      return `re-sent ${view.delivery_id}: ${view.status}`;
    });
    await Promise.all([
      this.loadDeliveries(this.deliveriesPage),
      this.loadDeadLetters(this.deadPage),
    ]).catch(this.onError);  // the pages being read, again
  }

  /** Run a change; its result line says what it did, or the refusal. */
  async change(resultId, action) {
    const result = byId(resultId);
    try {
      say(result, await action(), true);
    } catch (error) {
      say(result, refusal(error), false);
    }
  }

  /** A ``notification`` from the socket, as a toast (text only) that goes after a while. */
  toast(notified) {
    const box = byId("toasts");
    const toast = el("div", { class: "toast", role: "status", dataset: { happening: notified.happening, notification: notified.notification_id } },
      el("strong", {}, notified.title),
      el("div", {}, notified.text),
      el("small", { class: "muted" }, `${notified.happening} · ${shown(notified.ts)}`),
      el("button", { type: "button", class: "close", title: "dismiss", onclick: () => toast.remove() }, "×"),
    );
    box.prepend(toast);
    while (box.children.length > TOASTS_SHOWN) box.lastElementChild.remove();
    setTimeout(() => toast.remove(), TOAST_MS);
  }
}

/** The cursor of the page after `page` (its last delivery), and the button that reads it shown
 * only when there may be one: a full page. */
function older(button, page) {
  const cursor = page.length >= LOG_LIMIT ? page[page.length - 1].delivery_id : null;
  button.hidden = cursor === null;
  return cursor;
}
