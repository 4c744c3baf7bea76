// The order ticket: every order type, time in force and bracket; the account's refusal shown.

import { post, refusal, seg } from "./api.js";
import { byId, say } from "./dom.js";

const NEEDS = {
  market: [],
  limit: ["limit"],
  stop: ["stop"],
  stop_limit: ["stop", "limit"],
  trailing_stop: ["trail"],
};
const DECIMALS = ["quantity", "limit_price", "stop_price", "trail_amount", "trail_percent", "stop_loss", "take_profit"];

export class Ticket {
  constructor(context, onPlaced) {
    this.context = context;
    this.onPlaced = onPlaced;
    this.form = byId("ticket");
    this.result = byId("ticket-result");
    this.form.order_type.addEventListener("change", () => this.showFields());
    this.form.time_in_force.addEventListener("change", () => this.showFields());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.place();
    });
    this.showFields();
  }

  showFields() {
    const needs = new Set(NEEDS[this.form.order_type.value]);
    if (this.form.time_in_force.value === "gtd") needs.add("gtd");
    for (const label of this.form.querySelectorAll("label[data-for]")) {
      label.hidden = !needs.has(label.dataset.for);
      if (label.hidden) label.querySelector("input").value = "";
    }
  }

  body() {
    const form = new FormData(this.form);
    const body = {
      symbol: this.context.symbol(),
      side: form.get("side"),
      order_type: form.get("order_type"),
      time_in_force: form.get("time_in_force"),
      reduce_only: form.get("reduce_only") === "on",
      client_order_id: `dash-${crypto.randomUUID()}`,
    };
    for (const name of DECIMALS) {
      const value = String(form.get(name) ?? "").trim();
      if (value) body[name] = value; // decimals travel as strings, as the API keeps them
    }
    const expires = form.get("expire_at");
    if (expires) body.expire_at = new Date(expires).toISOString();
    return body;
  }

  async place() {
    const account = this.context.account();
    say(this.result, "placing…", true);
    try {
      const answer = await post(`/accounts/${seg(account)}/orders`, this.body());
      const placed = answer.events.map((e) => e.data).find((d) => d.type.startsWith("order_placed"));
      say(this.result, `placed ${placed ? placed.order_id : ""} (version ${answer.version})`, true);
      this.result.dataset.orderId = placed ? placed.order_id : "";
      this.onPlaced();
    } catch (error) {
      say(this.result, refusal(error), false);
    }
  }
}
