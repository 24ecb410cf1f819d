// The live connection: WebSocket /api/v1/ws?since=N, with reconnect and catch-up.
//
// - The token goes in a first {"type":"auth"} frame rather than the URL, so it stays out
//   of proxy and server access logs.
// - The last seq seen is kept (per member, in localStorage) and sent as `since` on every
//   reconnect, so nothing is missed after a network drop.
// - message.new is acknowledged with {"type":"ack","seq":N} (that marks it delivered).
// - typing events have seq null and are live only.

const BACKOFF_MIN = 500;
const BACKOFF_MAX = 15000;
const PING_EVERY = 25000; // keeps proxies from idling the socket out, and finds dead ones
const SILENCE_LIMIT = 60000;

export class Live extends EventTarget {
  constructor(token, memberId) {
    super();
    this.token = token;
    this.seqKey = `rapport.seq.${memberId}`;
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = false;
    this.state = 'idle';
    this.pinger = null;
    this.lastFrameAt = 0;
    const stored = Number(localStorage.getItem(this.seqKey));
    this.lastSeq = Number.isFinite(stored) && stored > 0 ? stored : null;
    this.onOnline = () => { if (this.state !== 'open') this.reconnectNow(); };
    window.addEventListener('online', this.onOnline);
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    window.removeEventListener('online', this.onOnline);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close();
      this.ws = null;
    }
    this.setState('closed');
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: state }));
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const query = this.lastSeq !== null ? `?since=${this.lastSeq}` : '';
    return `${proto}//${location.host}/api/v1/ws${query}`;
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: this.token }));
    ws.onmessage = (e) => { this.lastFrameAt = Date.now(); this.onFrame(e.data); };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pinger);
      if (e.code === 4401) {
        this.unauthorized();
        return;
      }
      this.scheduleReconnect();
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  scheduleReconnect() {
    if (this.stopped) return;
    this.setState('reconnecting');
    const delay = Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** this.attempt);
    const jitter = delay * (0.5 + Math.random() * 0.5);
    this.attempt += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), jitter);
  }

  reconnectNow() {
    if (this.stopped) return;
    this.attempt = 0;
    if (this.ws) {
      const old = this.ws;
      this.ws = null;
      old.onclose = null;
      old.onmessage = null;
      old.close();
    }
    this.connect();
  }

  onFrame(raw) {
    let event;
    try { event = JSON.parse(raw); } catch { return; }
    if (!event || typeof event !== 'object') return;
    if (event.type === 'pong') return;
    if (event.type === 'hello') {
      this.attempt = 0;
      clearInterval(this.pinger);
      this.pinger = setInterval(() => this.keepAlive(), PING_EVERY);
      if (typeof event.since === 'number' && (this.lastSeq === null || event.since > this.lastSeq)) {
        this.saveSeq(event.since);
      }
      this.setState('open');
      this.dispatchEvent(new CustomEvent('hello', { detail: event }));
      return;
    }
    if (event.type === 'error') {
      if (event.error?.code === 'unauthorized') this.unauthorized();
      return;
    }
    if (typeof event.seq === 'number') {
      if (this.lastSeq !== null && event.seq <= this.lastSeq) return; // already seen
      this.saveSeq(event.seq);
    }
    this.dispatchEvent(new CustomEvent('event', { detail: event }));
    if (event.type === 'message.new' && typeof event.seq === 'number') {
      this.sendFrame({ type: 'ack', seq: event.seq });
    }
  }

  unauthorized() {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    this.setState('closed');
    this.dispatchEvent(new CustomEvent('unauthorized'));
  }

  keepAlive() {
    if (Date.now() - this.lastFrameAt > SILENCE_LIMIT) { this.reconnectNow(); return; }
    this.sendFrame({ type: 'ping' });
  }

  /** Close the socket as a network drop would (used by the reconnect test and the console). */
  drop() {
    this.ws?.close();
  }

  saveSeq(seq) {
    this.lastSeq = seq;
    localStorage.setItem(this.seqKey, String(seq));
  }

  sendFrame(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }
}
