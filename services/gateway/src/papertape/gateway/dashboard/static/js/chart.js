// The price chart: candles and volume from the market REST routes, the forming candle from
// live quotes, markers for fills and signals, lines for working stop-loss / take-profit orders.
// The container's data-* attributes say what is drawn (candles, fill and signal markers, exit
// lines, and the time and marker last clicked), so a reader or a test can tell without looking
// at the canvas.

const SECONDS = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400 };
const COLORS = { up: "#26a69a", down: "#ef5350", buy: "#4c9aff", sell: "#f5a623", signal: "#c792ea" };

const FITTED = 60;
// The decisions drawn (and clickable) on the chart; holds and skips are in the feed only.
const MARKED = new Set(["BUY", "SELL", "CLOSE", "STOP_LOSS"]);

export function chartLibrary() {
  return globalThis.LightweightCharts ?? null;
}

export const seconds = (iso) => Math.floor(Date.parse(iso) / 1000);

const theme = {
  layout: { background: { color: "#161c23" }, textColor: "#d8dee6" },
  grid: { vertLines: { color: "#232b34" }, horzLines: { color: "#232b34" } },
  timeScale: { timeVisible: true, secondsVisible: false, barSpacing: 10, rightOffset: 4 },
  autoSize: true,
};

export class PriceChart {
  constructor(container, onSignal) {
    const lib = chartLibrary();
    this.container = container;
    this.chart = lib.createChart(container, theme);
    this.candles = this.chart.addSeries(lib.CandlestickSeries, {
      upColor: COLORS.up, downColor: COLORS.down, wickUpColor: COLORS.up,
      wickDownColor: COLORS.down, borderVisible: false,
    });
    this.volume = this.chart.addSeries(lib.HistogramSeries, {
      priceFormat: { type: "volume" }, priceScaleId: "volume",
    });
    this.volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    this.markers = lib.createSeriesMarkers(this.candles, []);
    this.fills = new Map();
    this.signals = new Map();
    this.lines = [];
    this.bars = new Map();
    this.timeframe = "1m";
    this.onRollover = () => {};
    this.chart.subscribeClick((param) => {
      const id = param.hoveredObjectId;
      this.container.dataset.clicked = `${param.time ?? ""} ${id ?? ""}`;
      const signal = (id && this.signals.get(id)) || this.signalAt(param.time);
      if (signal) onSignal(signal);
    });
  }

  /** Candles and volume of ``history`` (a BarHistory), replacing what was drawn. */
  setBars(history, timeframe) {
    this.timeframe = timeframe;
    this.bars = new Map();
    for (const bar of history.bars) {
      this.bars.set(seconds(bar.start), {
        time: seconds(bar.start), open: +bar.open, high: +bar.high, low: +bar.low,
        close: +bar.close, volume: +bar.volume,
      });
    }
    this.redraw();
    // A short history is drawn at a readable width from the right edge, a long one fitted.
    if (this.bars.size > FITTED) this.chart.timeScale().fitContent();
    else this.chart.timeScale().scrollToRealTime();
  }

  /** The forming candle from a live quote (its last price, else the mid). */
  quote(quote) {
    const price = quote.last !== null && quote.last !== undefined
      ? +quote.last : (+quote.bid + +quote.ask) / 2;
    const width = SECONDS[this.timeframe];
    const time = Math.floor(seconds(quote.ts_event) / width) * width;
    const latest = Math.max(0, ...this.bars.keys());
    if (time < latest) return;
    const current = this.bars.get(time);
    if (current) {
      current.high = Math.max(current.high, price);
      current.low = Math.min(current.low, price);
      current.close = price;
      current.volume += +(quote.volume ?? 0);
    } else {
      this.bars.set(time, { time, open: price, high: price, low: price, close: price, volume: +(quote.volume ?? 0) });
      if (latest) this.onRollover();
    }
    const bar = this.bars.get(time);
    this.candles.update(bar);
    this.volume.update(volumeOf(bar));
    this.container.dataset.candles = String(this.bars.size);
  }

  redraw() {
    const bars = [...this.bars.values()].sort((a, b) => a.time - b.time);
    this.candles.setData(bars);
    this.volume.setData(bars.map(volumeOf));
    this.container.dataset.candles = String(bars.length);
    this.drawMarkers();
  }

  /** A fill (an OrderFilled event, with the time it occurred) as an arrow at its bar. */
  addFill(fill, occurredAt) {
    if (this.symbol && fill.symbol !== this.symbol) return;
    this.fills.set(fill.fill_id, { fill, time: seconds(occurredAt) });
    this.drawMarkers();
  }

  /** Signals (SignalGenerated) of the symbol, each clickable for its reasoning. A signal's
   * bar the chart does not have (market-data kept no history of it) is drawn from the
   * signal, which carries the bar it saw: its marker needs a candle to stand on. */
  setSignals(signals) {
    this.signals = new Map(signals.map((s) => [`signal:${s.signal_id}`, s]));
    let added = false;
    for (const { bar } of signals) {
      if (!bar || bar.timeframe !== this.timeframe) continue;
      if (this.symbol && bar.symbol !== this.symbol) continue;
      const time = seconds(bar.start);
      if (this.bars.has(time)) continue;
      this.bars.set(time, {
        time, open: +bar.open, high: +bar.high, low: +bar.low, close: +bar.close,
        volume: +bar.volume,
      });
      added = true;
    }
    if (added) this.redraw();
    else this.drawMarkers();
  }

  signalAt(time) {
    if (time === undefined) return null;
    const width = SECONDS[this.timeframe];
    return [...this.signals.values()].find(
      (s) => MARKED.has(s.decision) && this.snap(seconds(s.bar.start), width) === time,
    ) ?? null;
  }

  snap(time, width) {
    return Math.floor(time / width) * width;
  }

  drawMarkers() {
    const width = SECONDS[this.timeframe];
    const markers = [];
    for (const { fill, time } of this.fills.values()) {
      const buy = fill.side === "buy";
      markers.push({
        id: `fill:${fill.fill_id}`, time: this.snap(time, width),
        position: buy ? "belowBar" : "aboveBar", shape: buy ? "arrowUp" : "arrowDown",
        color: buy ? COLORS.buy : COLORS.sell, text: `${fill.side} ${fill.quantity} @ ${fill.price}`,
      });
    }
    for (const [id, signal] of this.signals) {
      if (!MARKED.has(signal.decision)) continue;
      markers.push({
        id, time: this.snap(seconds(signal.bar.start), width), position: "aboveBar", shape: "circle",
        color: COLORS.signal, text: `${signal.decision} ${signal.confidence}`,
      });
    }
    markers.sort((a, b) => a.time - b.time);
    this.markers.setMarkers(markers);
    this.container.dataset.fillMarkers = String(this.fills.size);
    this.container.dataset.signalMarkers = String(markers.length - this.fills.size);
  }

  /** Horizontal lines at the working stop-loss and take-profit orders of the symbol. */
  setExitLines(orders) {
    for (const line of this.lines) this.candles.removePriceLine(line);
    this.lines = orders
      .filter((o) => o.symbol === this.symbol && (o.role === "stop_loss" || o.role === "take_profit"))
      .map((o) => {
        const stop = o.role === "stop_loss";
        const price = stop ? (o.stop_price ?? o.limit_price) : (o.limit_price ?? o.stop_price);
        return this.candles.createPriceLine({
          price: +price, color: stop ? COLORS.down : COLORS.up, lineWidth: 1, lineStyle: 2,
          axisLabelVisible: true, title: `${stop ? "SL" : "TP"} ${price}`,
        });
      });
    this.container.dataset.exitLines = String(this.lines.length);
  }

  /** Another symbol: its fills are kept, its signals and bars come again. */
  reset(symbol) {
    this.symbol = symbol;
    this.fills = new Map([...this.fills].filter(([, entry]) => entry.fill.symbol === symbol));
    this.signals = new Map();
    this.bars = new Map();
  }

  /** Another account: none of its fills are drawn yet. */
  clearFills() {
    this.fills = new Map();
    this.drawMarkers();
  }
}

/** What stands in for a chart when the library is missing: every call does nothing. */
export const inert = new Proxy({}, { get: () => () => {}, set: () => true });

function volumeOf(bar) {
  return { time: bar.time, value: bar.volume, color: bar.close >= bar.open ? "#26a69a55" : "#ef535055" };
}

/** A line chart (equity, drawdown) of ``points``: [{time, value}]. */
export class LineChart {
  constructor(container, color, area = false) {
    const lib = chartLibrary();
    this.container = container;
    this.chart = lib.createChart(container, theme);
    this.series = area
      ? this.chart.addSeries(lib.AreaSeries, { lineColor: color, topColor: `${color}55`, bottomColor: `${color}05` })
      : this.chart.addSeries(lib.LineSeries, { color, lineWidth: 2 });
  }

  set(points) {
    // One point per second: the chart wants strictly increasing times (the last one wins).
    const bySecond = new Map(points.map((p) => [p.time, p]));
    const data = [...bySecond.values()].sort((a, b) => a.time - b.time);
    this.series.setData(data);
    this.chart.timeScale().fitContent();
    this.container.dataset.points = String(data.length);
  }
}
