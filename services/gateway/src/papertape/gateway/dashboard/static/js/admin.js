// The operator's panel: open accounts; API keys (issue, revoke); every service's dead letters
// with their reasons; every account's notification dead letters, with re-send. Shown to an
// operator's key only.

import { del, get, post, refusal, seg } from "./api.js";
import { byId, el, fillTable, say } from "./dom.js";

const NOTIFY_LIMIT = 50;
const SCOPES = { read: ["read"], trade: ["read", "trade"], admin: ["read", "trade", "admin"] };

export class Admin {
  constructor(onAccounts) {
    this.onAccounts = onAccounts;
    this.result = byId("key-result");
    byId("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.issue();
    });
    byId("open-account-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.open();
    });
    byId("letters-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.letters().catch((error) => say(this.result, refusal(error), false));
    });
    byId("letters-older").addEventListener("click", () => {
      this.letters(this.older).catch((error) => say(this.result, refusal(error), false));
    });
    this.notifyResult = byId("notify-letters-result");
    byId("notify-letters-refresh").addEventListener("click", () => {
      this.notifyLetters().catch((error) => say(this.notifyResult, refusal(error), false));
    });
    byId("notify-letters-older").addEventListener("click", () => {
      this.notifyLetters(this.olderNotify).catch((error) => say(this.notifyResult, refusal(error), false));
    });
  }

  // Every account's notification deliveries that ran out of attempts, a page at a time, newest
  // first; `before` (the last delivery of the page shown) reads the older ones.
  async notifyLetters(before = null) {
    const page = await get("/notifications/dead-letters", { limit: NOTIFY_LIMIT, before });
    this.notifyPage = before;
    this.olderNotify = page.length >= NOTIFY_LIMIT ? page[page.length - 1].delivery_id : null;
    byId("notify-letters-older").hidden = this.olderNotify === null;
    fillTable(byId("all-notify-dead-letters"), [
      { label: "Created", value: (d) => d.created_at },
      { label: "Account", value: (d) => d.account_id },
      { label: "Endpoint", value: (d) => `${d.endpoint_id} (${d.kind})` },
      { label: "Happening", value: (d) => d.happening },
      { label: "Attempts", value: (d) => d.attempts, num: true },
      { label: "Last error", value: (d) => d.last_error },
      { label: "", value: (d) => el("button", { type: "button", onclick: () => this.resend(d) }, "Re-send") },
    ], page, (d) => ({ dataset: { delivery: d.delivery_id } }));
  }

  async resend(letter) {
    try {
      const path = `/notifications/${seg(letter.account_id)}/dead-letters/${seg(letter.delivery_id)}/resend`;
      const view = await post(path);
      say(this.notifyResult, `re-sent ${view.delivery_id}: ${view.status}`, true);
    } catch (error) {
      say(this.notifyResult, refusal(error), false);
    }
    await this.notifyLetters(this.notifyPage).catch((error) => say(this.notifyResult, refusal(error), false));
  }

  // One page of letters, newest first; `before` (the last page's cursor) reads the older ones.
  async letters(before = null) {
    const form = new FormData(byId("letters-form"));
    const service = String(form.get("service") ?? "").trim();
    const limit = String(form.get("limit") ?? "").trim() || "100";
    const query = before === null ? { service, limit } : { service, limit, before };
    const page = await get("/deadletters", query);
    this.older = page.before ?? null;
    byId("letters-older").hidden = this.older === null;
    fillTable(byId("dead-letters"), [
      { label: "Failed at", value: (l) => l.failed_at },
      { label: "Service", value: (l) => l.service },
      { label: "Subject", value: (l) => l.subject },
      { label: "Reason", value: (l) => l.reason },
      { label: "Deliveries", value: (l) => l.deliveries, num: true },
      { label: "Payload", value: (l) => el("code", { title: l.payload }, clipped(l.payload)) },
    ], page.letters, (l) => ({ dataset: { sequence: l.sequence } }));
  }

  async open() {
    const form = new FormData(byId("open-account-form"));
    const result = byId("account-result");
    try {
      const body = {
        account_id: String(form.get("account_id")).trim(),
        name: String(form.get("name")),
        base_currency: String(form.get("base_currency")).trim(),
      };
      const cash = String(form.get("initial_cash") ?? "").trim();
      if (cash) body.initial_cash = cash;
      await post("/accounts", body);
      say(result, `opened ${body.account_id}`, true);
      await this.onAccounts(body.account_id);
    } catch (error) {
      say(result, refusal(error), false);
    }
  }

  async load() {
    byId("admin-panel").hidden = false;
    const notifyDown = (error) => say(this.notifyResult, refusal(error), false);
    await Promise.all([this.letters(), this.notifyLetters().catch(notifyDown)]);
    const keys = await get("/keys");
    fillTable(byId("keys"), [
      { label: "Key id", value: (k) => k.key_id },
      { label: "Account", value: (k) => k.account_id ?? "every account" },
      { label: "Scopes", value: (k) => k.scopes.join(", ") },
      { label: "Label", value: (k) => k.label },
      { label: "State", value: (k) => (k.revoked ? "revoked" : "live") },
      { label: "", value: (k) => el("button", { type: "button", disabled: k.revoked, onclick: () => this.revoke(k.key_id) }, "Revoke") },
    ], keys);
  }

  async issue() {
    const form = new FormData(byId("key-form"));
    const account = String(form.get("account_id") ?? "").trim();
    try {
      const issued = await post("/keys", {
        account_id: account || null,
        scopes: SCOPES[form.get("scope")],
        label: String(form.get("label") ?? ""),
      });
      say(this.result, `issued ${issued.key_id}: ${issued.key} (shown once)`, true);
    } catch (error) {
      say(this.result, refusal(error), false);
    }
    await this.load();
  }

  async revoke(keyId) {
    try {
      await del(`/keys/${seg(keyId)}`);
      say(this.result, `revoked ${keyId}`, true);
    } catch (error) {
      say(this.result, refusal(error), false);
    }
    await this.load();
  }
}

const SHOWN = 120;

function clipped(text) {
  return text.length > SHOWN ? `${text.slice(0, SHOWN)}…` : text;
}
