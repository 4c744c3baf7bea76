// The account panels: summary, equity and drawdown, positions, working orders (cancel),
// closed trades (filters, CSV), performance. Every number is shown as the API gives it.

import { del, get, post, seg } from "./api.js";
import { LineChart, chartLibrary, inert, seconds } from "./chart.js";
import { byId, el, fillList, fillTable } from "./dom.js";

export class AccountPanels {
  constructor(onOrders, onError) {
    this.onOrders = onOrders;
    this.onError = onError;
    this.account = null;
    this.orders = [];
    const drawn = chartLibrary() !== null;
    this.equity = drawn ? new LineChart(byId("equity-chart"), "#4c9aff", true) : inert;
    this.drawdown = drawn ? new LineChart(byId("drawdown-chart"), "#ef5350", true) : inert;
    byId("trade-filters").addEventListener("submit", (event) => {
      event.preventDefault();
      this.trades().catch(onError);
    });
    byId("trades-csv").addEventListener("click", () => this.downloadCsv().catch(onError));
  }

  path(suffix = "") {
    return `/accounts/${seg(this.account)}${suffix}`;
  }

  async load(account) {
    this.account = account;
    await Promise.all([this.summary(), this.positionsAndOrders(), this.trades(), this.performance(), this.curve()]);
  }

  async summary(given = null) {
    const s = given ?? (await get(this.path()));
    this.version = s.version;
    fillList(byId("summary"), [
      ["Equity", s.equity, "equity"],
      ["Cash", s.cash, "cash"],
      ["Buying power", s.buying_power, "buying_power"],
      ["Unrealised P&L", s.unrealized_pnl, "unrealized_pnl", true],
      ["Realised P&L", s.realized_pnl, "realized_pnl", true],
      ["Fees paid", s.fees_paid, "fees_paid"],
      ["Drawdown", `${s.drawdown} (${s.drawdown_pct}%)`, "drawdown"],
      ["Max drawdown", `${s.max_drawdown} (${s.max_drawdown_pct}%)`, "max_drawdown"],
      ["Portfolio heat (open risk)", s.open_risk, "open_risk"],
      ["Heat limit", `${s.limits.max_portfolio_heat_pct}% of equity`, "heat_limit"],
      ["Positions · orders", `${s.positions} · ${s.open_orders}`, "counts"],
      ["Trading", s.halted ? `halted: ${s.halt_reason}` : s.circuit_breaker_tripped ? "circuit breaker tripped" : "on", "trading"],
      ["Base currency", s.base_currency, "base_currency"],
    ]);
  }

  async positionsAndOrders() {
    const [positions, page] = await Promise.all([
      get(this.path("/positions")),
      get(this.path("/orders?status=working&limit=1000")),
    ]);
    const orders = page.items;
    this.orders = orders;
    this.renderOrders(orders);
    this.renderPositions(positions);
    this.onOrders(orders);
  }

  renderPositions(positions) {
    const exits = (symbol, role) => this.orders.find((o) => o.symbol === symbol && o.role === role);
    fillTable(byId("positions"), [
      { label: "Symbol", value: (p) => p.symbol },
      { label: "Side", value: (p) => (p.quantity.startsWith("-") ? "short" : "long") },
      { label: "Quantity", value: (p) => p.quantity, num: true },
      { label: "Entry", value: (p) => p.avg_price, num: true },
      { label: "Mark", value: (p) => p.mark, num: true },
      { label: "Unrealised P&L", value: (p) => p.unrealized_pnl, num: true, signed: true },
      { label: "Stop", value: (p) => p.stop, num: true },
      { label: "Target", value: (p) => exits(p.symbol, "take_profit")?.limit_price, num: true },
      { label: "Open risk", value: (p) => p.open_risk, num: true },
      { label: "Status", value: (p) => (exits(p.symbol, "stop_loss") ? "open, protected" : "open") },
      { label: "", value: (p) => el("button", { type: "button", onclick: () => this.close(p.symbol) }, "Close") },
    ], positions, (p) => ({ dataset: { symbol: p.symbol } }));
  }

  /** Close the whole position at market (a reduce-only market order). */
  async close(symbol) {
    try {
      await post(this.path(`/positions/${seg(symbol)}/close`), {});
    } catch (error) {
      this.onError(error);
    }
    await this.positionsAndOrders();
  }

  renderOrders(orders) {
    fillTable(byId("orders"), [
      { label: "Symbol", value: (o) => o.symbol },
      { label: "Side", value: (o) => o.side },
      { label: "Type", value: (o) => o.order_type },
      { label: "Role", value: (o) => o.role },
      { label: "Quantity", value: (o) => o.quantity, num: true },
      { label: "Filled", value: (o) => o.filled_quantity, num: true },
      { label: "Limit", value: (o) => o.limit_price, num: true },
      { label: "Stop", value: (o) => o.stop_price, num: true },
      { label: "TIF", value: (o) => o.time_in_force },
      { label: "Source", value: (o) => o.source },
      { label: "", value: (o) => el("button", { type: "button", onclick: () => this.cancel(o.order_id) }, "Cancel") },
    ], orders, (o) => ({ dataset: { orderId: o.order_id } }));
  }

  async cancel(orderId) {
    try {
      await del(this.path(`/orders/${seg(orderId)}`));
    } catch (error) {
      this.onError(error);
    }
    await this.positionsAndOrders();
  }

  filters() {
    const form = new FormData(byId("trade-filters"));
    const day = (value) => (value ? `${value}T00:00:00Z` : undefined);
    return {
      symbol: form.get("symbol") || undefined,
      side: form.get("side") || undefined,
      outcome: form.get("outcome") || undefined,
      exit_reason: form.get("exit_reason") || undefined,
      since: day(form.get("since")),
      until: day(form.get("until")),
      limit: 500,
    };
  }

  async trades() {
    const page = await get(this.path("/trades"), this.filters());
    fillTable(byId("trades"), [
      { label: "Closed", value: (t) => t.closed_at },
      { label: "Symbol", value: (t) => t.symbol },
      { label: "Direction", value: (t) => (t.direction === "buy" ? "long" : "short") },
      { label: "Quantity", value: (t) => t.quantity, num: true },
      { label: "Entry", value: (t) => t.entry_price, num: true },
      { label: "Exit", value: (t) => t.exit_price, num: true },
      { label: "Net P&L", value: (t) => t.net_pnl, num: true, signed: true },
      { label: "R", value: (t) => t.r_multiple, num: true, signed: true },
      { label: "Fees", value: (t) => t.fees, num: true },
      { label: "Exit reason", value: (t) => t.exit_reason },
    ], page.items);
  }

  async downloadCsv() {
    const text = await get(this.path("/trades/csv"), undefined, { text: true });
    const link = el("a", {
      href: URL.createObjectURL(new Blob([text], { type: "text/csv" })),
      download: `${this.account}-trades.csv`,
    });
    document.body.append(link);
    link.click();
    link.remove();
  }

  async performance(given = null) {
    const m = given ?? (await get(this.path("/performance")));
    fillList(byId("performance"), [
      ["Trades", `${m.trades} (${m.wins} won, ${m.losses} lost)`, "trades"],
      ["Win rate", `${m.win_rate_pct}%`, "win_rate"],
      ["Average R", m.average_r, "average_r", true],
      ["Profit factor", m.profit_factor, "profit_factor"],
      ["Expectancy", m.expectancy, "expectancy", true],
      ["Sharpe", m.sharpe, "sharpe"],
      ["Sortino", m.sortino, "sortino"],
      ["Max drawdown", `${m.max_drawdown} (${m.max_drawdown_pct}%)`, "max_drawdown"],
      ["Net profit", m.net_profit, "net_profit", true],
      ["Total return", `${m.total_return_pct}%`, "total_return", true],
      ["Fees", m.fees, "fees"],
    ]);
  }

  async curve() {
    const points = await get(this.path("/equity"));
    const equity = points.map((p) => ({ time: seconds(p.ts), value: +p.equity }));
    let peak = -Infinity;
    const drawdown = equity.map((p) => {
      peak = Math.max(peak, p.value);
      return { time: p.time, value: p.value - peak };
    });
    this.equity.set(equity);
    this.drawdown.set(drawdown);
  }

  /** Everything that a fill or an order event changes. */
  async refresh() {
    await Promise.all([this.summary(), this.positionsAndOrders(), this.trades(), this.performance(), this.curve()]);
  }
}
