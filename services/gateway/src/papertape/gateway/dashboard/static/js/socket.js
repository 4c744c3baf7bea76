// The live connection: /ws with the key, subscriptions kept across reconnects, and each account
// channel resumed from the last stream_version seen (the gateway backfills what was missed).

const RETRY_MS = [500, 1000, 2000, 5000, 10000];

export class Live {
  constructor(key, onStatus) {
    this.key = key;
    this.onStatus = onStatus;
    this.handlers = new Map();
    this.subscriptions = new Map();
    this.versions = new Map();
    this.socket = null;
    this.attempt = 0;
    this.closed = false;
    this.confirmed = false;
  }

  /** Call ``handler(message)`` for every server message of ``type``. */
  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, []);
    this.handlers.get(type).push(handler);
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const url = `${scheme}://${location.host}/ws?api_key=${encodeURIComponent(this.key)}`;
    const socket = new WebSocket(url);
    this.socket = socket;
    this.onStatus("connecting");
    socket.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.confirmed = false;
      this.onStatus("down");
      if (!this.closed) {
        const wait = RETRY_MS[Math.min(this.attempt++, RETRY_MS.length - 1)];
        setTimeout(() => this.connect(), wait);
      }
    });
  }

  receive(message) {
    if (message.type === "connection_confirmed") {
      this.attempt = 0;
      this.confirmed = true;
      this.onStatus("live");
      for (const request of this.subscriptions.values()) this.sendSubscribe(request);
    }
    if (message.stream_version !== undefined && message.account_id) {
      for (const [id, request] of this.subscriptions) {
        if (request.account_id === message.account_id && CHANNEL_OF[message.type] === request.channel) {
          this.versions.set(id, Math.max(this.versions.get(id) ?? 0, message.stream_version));
        }
      }
    }
    for (const handler of this.handlers.get(message.type) ?? []) handler(message);
  }

  /** Send once the gateway confirmed the connection (subscriptions are sent again then). */
  send(message) {
    if (this.confirmed && this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  sendSubscribe(request) {
    const id = subscriptionId(request);
    const seen = this.versions.get(id);
    const message = { type: "subscribe", ...request };
    if (seen !== undefined) message.since_version = seen;
    this.send(message);
  }

  /** Subscribe (again after every reconnect); ``since_version`` 0 replays the channel's history. */
  subscribe(request) {
    const id = subscriptionId(request);
    const { since_version: since, ...rest } = request;
    if (since !== undefined && !this.versions.has(id)) this.versions.set(id, since);
    this.subscriptions.set(id, rest);
    this.sendSubscribe(rest);
  }

  unsubscribe(request) {
    const id = subscriptionId(request);
    this.subscriptions.delete(id);
    this.versions.delete(id);
    this.send({ type: "unsubscribe", ...request });
  }

  close() {
    this.closed = true;
    this.socket?.close();
  }
}

const CHANNEL_OF = {
  order_update: "orders",
  trade_executed: "fills",
  position_updated: "positions",
  portfolio_update: "account",
};

function subscriptionId(request) {
  return [request.channel, request.account_id ?? "", request.symbol ?? ""].join("|");
}
