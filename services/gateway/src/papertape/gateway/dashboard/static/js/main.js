// The dashboard: log in with an API key, pick an account and a symbol, and everything follows
// the WebSocket live (prices, fills, orders, positions, the account), with REST for history.

import { Admin } from "./admin.js";
import { AccountPanels, refusal } from "./account.js";
import { ApiError, forgetKey, get, storeKey, storedKey } from "./api.js";
import { Bots, showSignal } from "./bots.js";
import { PriceChart, chartLibrary, inert } from "./chart.js";
import { byId, el } from "./dom.js";
import { Live } from "./socket.js";
import { Ticket } from "./ticket.js";

const SESSIONS_EVERY_MS = 5000;

class Dashboard {
  constructor(key, confirmed) {
    this.key = key;
    this.confirmed = confirmed;
    this.accountId = null;
    this.symbolId = null;
    this.error = byId("app-error");
    const onError = (error) => this.fail(error);
    const onSignal = (signal) => showSignal(byId("signal-detail"), signal);
    this.chart = chartLibrary() ? new PriceChart(byId("price-chart"), onSignal) : inert;
    this.chart.onRollover = () => this.loadBars().catch(onError);
    this.panels = new AccountPanels((orders) => this.chart.setExitLines(orders), onError);
    this.bots = new Bots(this, (signals) => this.chart.setSignals(signals.filter((s) => s.symbol === this.symbolId)));
    this.ticket = new Ticket(this, () => this.panels.positionsAndOrders().catch(onError));
    this.live = new Live(key, (state) => {
      const status = byId("live-status");
      status.dataset.state = state;
      status.textContent = state === "live" ? "live" : state === "down" ? "disconnected, retrying" : "connecting…";
    });
    this.wire();
  }

  account() { return this.accountId; }
  symbol() { return this.symbolId; }

  fail(error) {
    this.error.textContent = refusal(error);
  }

  wire() {
    const live = this.live;
    live.on("price_update", (m) => {
      if (m.symbol !== this.symbolId) return;
      this.chart.quote(m.quote);
      byId("last-price").textContent = `${m.symbol} bid ${m.quote.bid} · ask ${m.quote.ask}`;
    });
    live.on("trade_executed", (m) => {
      this.chart.addFill(m.event, m.occurred_at);
      this.panels.refresh().catch((e) => this.fail(e));
    });
    live.on("order_update", () => this.panels.positionsAndOrders().catch((e) => this.fail(e)));
    live.on("position_updated", () => this.panels.positionsAndOrders().catch((e) => this.fail(e)));
    live.on("initial_snapshot", (m) => this.panels.summary(m.summary));
    live.on("portfolio_update", (m) => {
      if (m.summary) this.panels.summary(m.summary);
      else this.panels.summary().catch((e) => this.fail(e));
    });
    live.on("trade_closed", () => this.panels.refresh().catch((e) => this.fail(e)));
    for (const type of ["signal_alert", "session_update"]) {
      live.on(type, () => this.bots.load().catch((e) => this.fail(e)));
    }
    live.on("error", (m) => {
      if (m.code !== "invalid_request") this.error.textContent = `live: ${m.code}: ${m.message}`;
    });
    byId("account-select").addEventListener("change", (e) => this.selectAccount(e.target.value));
    byId("symbol-select").addEventListener("change", (e) => this.selectSymbol(e.target.value));
    byId("timeframe-select").addEventListener("change", () => this.loadBars().catch((e) => this.fail(e)));
    setInterval(() => this.bots.load().catch((e) => this.fail(e)), SESSIONS_EVERY_MS);
  }

  async start() {
    this.live.connect();
    const [accounts, instruments] = await Promise.all([
      get("/accounts"),
      get("/market/instruments").catch(() => []),
    ]);
    byId("account-select").replaceChildren(
      ...accounts.map((a) => el("option", { value: a.account_id }, `${a.name} (${a.account_id})`)),
    );
    const symbols = instruments.map((i) => i.symbol);
    byId("symbol-select").replaceChildren(...symbols.map((s) => el("option", { value: s }, s)));
    if (this.confirmed.scopes.includes("admin") && this.confirmed.account_id === null) {
      new Admin().load().catch((e) => this.fail(e));
    }
    await this.bots.loadStrategies().catch((e) => this.fail(e));
    if (symbols.length) await this.selectSymbol(symbols.includes("BTCUSD") ? "BTCUSD" : symbols[0]);
    if (accounts.length) await this.selectAccount(accounts[0].account_id);
    else this.error.textContent = "no account for this key yet";
  }

  async selectAccount(accountId) {
    const channels = ["account", "orders", "positions", "fills"];
    if (this.accountId) for (const channel of channels) this.live.unsubscribe({ channel, account_id: this.accountId });
    this.accountId = accountId;
    byId("account-select").value = accountId;
    this.chart.clearFills();
    this.live.subscribe({ channel: "account", account_id: accountId });
    this.live.subscribe({ channel: "orders", account_id: accountId });
    this.live.subscribe({ channel: "positions", account_id: accountId });
    // From version 0: every fill the account has had comes first, for the chart's markers.
    this.live.subscribe({ channel: "fills", account_id: accountId, since_version: 0 });
    await Promise.all([this.panels.load(accountId), this.bots.load()]);
  }

  async selectSymbol(symbol) {
    if (this.symbolId) this.live.unsubscribe({ channel: "prices", symbol: this.symbolId });
    this.symbolId = symbol;
    byId("symbol-select").value = symbol;
    this.chart.reset(symbol);
    this.live.subscribe({ channel: "prices", symbol });
    await this.loadBars();
    if (this.accountId) {
      this.chart.setExitLines(this.panels.orders);
      await this.bots.loadSignals();
    }
  }

  async loadBars() {
    const timeframe = byId("timeframe-select").value;
    const history = await get(`/market/bars/${encodeURIComponent(this.symbolId)}`, { timeframe, limit: 500 });
    this.chart.setBars(history, timeframe);
  }
}

/** Whether ``key`` is accepted: the socket's connection_confirmed, or why not. */
function check(key) {
  return new Promise((resolve, reject) => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws?api_key=${encodeURIComponent(key)}`);
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      socket.close();
      if (message.type === "connection_confirmed") resolve(message);
      else reject(new ApiError(401, message));
    });
    socket.addEventListener("error", () => reject(new Error("the gateway's WebSocket did not answer")));
  });
}

async function enter(key) {
  const confirmed = await check(key);
  storeKey(key);
  byId("login").hidden = true;
  byId("app").hidden = false;
  const dashboard = new Dashboard(key, confirmed);
  await dashboard.start();
}

function boot() {
  if (!chartLibrary()) {
    const missing = byId("chart-missing");
    missing.hidden = false;
    missing.textContent = "The charting library is not installed: run `make setup` "
      + "(or `python -m papertape.gateway.dashboard.vendor`) and reload this page.";
  }
  byId("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = byId("login-key").value.trim();
    try {
      await enter(key);
    } catch (error) {
      byId("login-error").textContent = refusal(error);
    }
  });
  byId("logout").addEventListener("click", () => {
    forgetKey();
    location.reload();
  });
  const key = storedKey();
  if (key) enter(key).catch((error) => {
    forgetKey();
    byId("login-error").textContent = refusal(error);
  });
}

boot();
