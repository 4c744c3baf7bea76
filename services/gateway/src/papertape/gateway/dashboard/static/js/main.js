// The dashboard: log in with an API key, pick an account and a symbol, and everything follows
// the WebSocket live (prices, fills, orders, positions, the account), with REST for history.

import { Admin } from "./admin.js";
import { AccountPanels } from "./account.js";
import { ApiError, forgetKey, get, refusal, storeKey, storedKey } from "./api.js";
import { Bots, showSignal } from "./bots.js";
import { PriceChart, chartLibrary, inert } from "./chart.js";
import { byId, el } from "./dom.js";
import { Notifications } from "./notifications.js";
import { paced } from "./pace.js";
import { Live } from "./socket.js";
import { Ticket } from "./ticket.js";

const SESSIONS_EVERY_MS = 5000;
const BOOK_EVERY_MS = 500;
const ACCOUNT_EVERY_MS = 1000;
// The chart's fill markers start with the fills among the account's latest events: few enough
// that the gateway's backfill stays well inside a client's buffer (1000 messages by default).
const FILL_HISTORY_EVENTS = 1500;

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
    // What live events refresh, each at its own pace.
    this.refreshBook = paced(() => this.panels.positionsAndOrders().catch(onError), BOOK_EVERY_MS);
    this.refreshAccount = paced(() => this.panels.refresh().catch(onError), ACCOUNT_EVERY_MS);
    this.refreshSummary = paced(
      () => this.live.send({ type: "request_portfolio_update", account_id: this.accountId }),
      BOOK_EVERY_MS,
    );
    this.ticket = new Ticket(this, this.refreshBook);
    this.notifications = new Notifications(this, onError);
    this.refreshDeliveries = paced(() => this.notifications.refreshLog().catch(onError), ACCOUNT_EVERY_MS);
    let connections = 0;
    this.live = new Live(key, (state) => {
      const status = byId("live-status");
      status.dataset.state = state;
      status.textContent = state === "live" ? "live" : state === "down" ? "disconnected, retrying" : "connecting…";
      status.dataset.connections = String((connections += state === "live" ? 1 : 0));
      // Back after a drop: the channels resume from their versions; the panels read again too.
      if (state === "live" && connections > 1 && this.accountId) this.refreshAccount();
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
    const mine = (m) => m.account_id === this.accountId;
    live.on("trade_executed", (m) => {
      if (!mine(m)) return;
      this.chart.addFill(m.event, m.occurred_at);
      this.refreshAccount();
    });
    live.on("order_update", (m) => mine(m) && this.refreshBook());
    live.on("position_updated", (m) => mine(m) && this.refreshBook());
    live.on("initial_snapshot", (m) => mine(m) && this.panels.summary(m.summary));
    live.on("portfolio_update", (m) => {
      if (!mine(m)) return;
      if (m.summary) this.panels.summary(m.summary);
      else this.refreshSummary();
    });
    live.on("trade_closed", (m) => mine(m) && this.refreshAccount());
    live.on("notification", (m) => {
      if (!mine(m)) return;
      this.notifications.toast(m.notification);
      this.refreshDeliveries();
    });
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
    // Retries and re-sends change the delivery log without a notification to say so.
    setInterval(() => this.accountId && this.refreshDeliveries(), SESSIONS_EVERY_MS);
  }

  async start() {
    this.live.connect();
    const [accounts, instruments] = await Promise.all([
      this.loadAccounts(),
      get("/market/instruments").catch(() => []),
    ]);
    const symbols = instruments.map((i) => i.symbol);
    byId("symbol-select").replaceChildren(...symbols.map((s) => el("option", { value: s }, s)));
    if (this.confirmed.scopes.includes("admin") && this.confirmed.account_id === null) {
      const admin = new Admin(async (opened) => {
        await this.loadAccounts();
        await this.selectAccount(opened);
      });
      admin.load().catch((e) => this.fail(e));
    }
    await this.bots.loadStrategies().catch((e) => this.fail(e));
    if (symbols.length) await this.selectSymbol(symbols.includes("BTCUSD") ? "BTCUSD" : symbols[0]);
    if (accounts.length) await this.selectAccount(accounts[0].account_id);
    else this.error.textContent = "no account for this key yet";
  }

  /** The accounts the key reaches, in the selector. */
  async loadAccounts() {
    const accounts = await get("/accounts");
    byId("account-select").replaceChildren(
      ...accounts.map((a) => el("option", { value: a.account_id }, `${a.name} (${a.account_id})`)),
    );
    return accounts;
  }

  async selectAccount(accountId) {
    const channels = ["account", "orders", "positions", "fills", "notifications"];
    if (this.accountId) for (const channel of channels) this.live.unsubscribe({ channel, account_id: this.accountId });
    this.accountId = accountId;
    byId("account-select").value = accountId;
    this.chart.clearFills();
    await Promise.all([
      this.panels.load(accountId),
      this.bots.load(),
      this.notifications.load().catch((e) => this.fail(e)),
    ]);
    // From the version the panels were read at: nothing between the read and the subscription
    // is missed, and a reconnect resumes from there too.
    const version = this.panels.version ?? 0;
    this.live.subscribe({ channel: "account", account_id: accountId });
    this.live.subscribe({ channel: "orders", account_id: accountId, since_version: version });
    this.live.subscribe({ channel: "positions", account_id: accountId, since_version: version });
    const since = Math.max(0, version - FILL_HISTORY_EVENTS);
    this.live.subscribe({ channel: "fills", account_id: accountId, since_version: since });
    this.live.subscribe({ channel: "notifications", account_id: accountId });  // live only
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
