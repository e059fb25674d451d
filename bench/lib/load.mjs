// Load generation: autocannon for throughput (bounded: fixed duration and connections), a
// keep-alive sequential client for single-request latency. Latencies are recorded from every
// response as floats (autocannon's own histogram has 1 ms buckets, too coarse for sub-ms rows).
import http from 'node:http';
import autocannon from 'autocannon';
import { startCpuMeter } from './proc.mjs';

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function median(values) {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

class Recorder {
  constructor() {
    this.values = new Float64Array(1 << 16);
    this.length = 0;
  }
  push(v) {
    if (this.length === this.values.length) {
      const next = new Float64Array(this.values.length * 2);
      next.set(this.values);
      this.values = next;
    }
    this.values[this.length++] = v;
  }
  sorted() {
    return this.values.slice(0, this.length).sort();
  }
}

/**
 * One bounded autocannon run against `url`. `requests` (autocannon's per-request hooks) lets a
 * row chain state per connection (refresh tokens) or vary headers (client IPs).
 * Returns req/s of expected responses, latency percentiles (ms), status counts and CPU use.
 */
export async function runLoad({ url, method = 'GET', headers = {}, body, requests, connections, durationS, expectStatus, pids, record = true }) {
  const latencies = new Recorder();
  const statuses = {};
  const meter = startCpuMeter(pids);
  const started = performance.now();
  const instance = autocannon({
    url,
    method,
    headers,
    body,
    requests,
    connections,
    duration: durationS,
    timeout: 30,
    // A run is bounded by time; a broken target must not hang it on retries.
    bailout: 10_000,
  });
  instance.on('response', (_client, status, _bytes, responseTime) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status === expectStatus) latencies.push(responseTime);
  });
  const result = await instance;
  const elapsedS = (performance.now() - started) / 1000;
  const cpu = meter.stop();
  if (!record) return null;
  const sorted = latencies.sorted();
  const ok = statuses[expectStatus] ?? 0;
  const total = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    rps: ok / (result.duration || elapsedS),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    ok,
    total,
    unexpected: total - ok,
    errors: result.errors,
    timeouts: result.timeouts,
    statuses,
    cpuUsPerReq: total > 0 ? (cpu.targetMs * 1000) / total : NaN,
    cpu,
    // Share of one core the load generator (this process) used: near 100 %, the row measured
    // autocannon, not workerd.
    loadGenPct: (100 * cpu.loadGenMs) / (elapsedS * 1000),
  };
}

/** A keep-alive HTTP client with one socket: sequential requests, one at a time. */
export function sequentialClient(origin, { timeoutMs = 30_000 } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const { hostname, port } = new URL(origin);
  const send = ({ method = 'GET', path = '/', headers = {}, body }) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(body);
      const t0 = process.hrtime.bigint();
      const req = http.request({ agent, hostname, port, method, path, headers: payload ? { ...headers, 'content-length': payload.byteLength } : headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - t0) / 1e6, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout: ${method} ${origin}${path}`)));
      req.on('error', reject);
      req.end(payload);
    });
  return { send, close: () => agent.destroy() };
}

/**
 * Latency of A vs B at one request in flight, alternating A and B request by request so drift
 * and machine noise hit both alike. Returns both medians and the median paired difference.
 */
export async function pairedLatency({ a, b, n, warmup = 50 }) {
  const ca = sequentialClient(a.origin);
  const cb = sequentialClient(b.origin);
  const ta = [];
  const tb = [];
  const bad = { a: 0, b: 0 };
  try {
    for (let i = 0; i < warmup + n; i++) {
      const ra = await ca.send(a.request(i));
      const rb = await cb.send(b.request(i));
      if (ra.status !== a.expectStatus) bad.a++;
      if (rb.status !== b.expectStatus) bad.b++;
      if (i >= warmup) {
        ta.push(ra.ms);
        tb.push(rb.ms);
      }
    }
  } finally {
    ca.close();
    cb.close();
  }
  return { p50A: median(ta), p50B: median(tb), deltaMs: median(ta.map((v, i) => v - tb[i])), n, unexpected: bad };
}

/** workerd CPU per request (µs) for `n` sequential requests of one kind. */
export async function sequentialCpu({ side, n, pids }) {
  const client = sequentialClient(side.origin);
  let bad = 0;
  const meter = startCpuMeter(pids);
  try {
    for (let i = 0; i < n; i++) if ((await client.send(side.request(i))).status !== side.expectStatus) bad++;
  } finally {
    client.close();
  }
  return { cpuUsPerReq: (meter.stop().targetMs * 1000) / n, unexpected: bad };
}
