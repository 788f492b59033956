// Shared helpers for the conformance scripts: argument parsing, the
// fault-injecting reverse proxy, fixed test payloads and result output.
import http from 'node:http';
import zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';

// stdout is reserved for the single JSON result line. Several SDKs log through
// console.log/info, so route every console method to stderr.
for (const m of ['log', 'info', 'debug', 'warn', 'trace']) {
  console[m] = (...a) => console.error(...a);
}

process.on('unhandledRejection', (e) => fail(`unhandled rejection: ${e?.stack ?? e}`));

export function parseArgs(argv = process.argv.slice(2)) {
  const opts = { target: undefined, writeKey: undefined, failFirst: 0, timeoutMs: 30000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) fail(`missing value for ${a}`);
      return argv[++i];
    };
    switch (a) {
      case '--target': opts.target = next(); break;
      case '--writeKey': case '--write-key': opts.writeKey = next(); break;
      case '--fail-first': opts.failFirst = Number(next()); break;
      case '--timeout-ms': opts.timeoutMs = Number(next()); break;
      default: fail(`unknown argument: ${a}`);
    }
  }
  if (!opts.target) fail('--target is required (e.g. http://127.0.0.1:5000)');
  if (!opts.writeKey) fail('--writeKey is required');
  if (!Number.isInteger(opts.failFirst) || opts.failFirst < 0) fail('--fail-first must be a non-negative integer');
  if (!(opts.timeoutMs > 0)) fail('--timeout-ms must be positive');
  let u;
  try { u = new URL(opts.target); } catch { fail(`invalid --target: ${opts.target}`); }
  if (u.protocol !== 'http:') fail('--target must be an http:// URL');
  opts.targetUrl = u;
  return opts;
}

export function fail(message, code = 1) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(code);
}

/** Kills the process if the whole run takes longer than timeoutMs. */
export function startWatchdog(timeoutMs, describe = () => '') {
  const t = setTimeout(() => {
    const extra = describe();
    fail(`timed out after ${timeoutMs} ms${extra ? `: ${extra}` : ''}`, 2);
  }, timeoutMs);
  t.unref();
  return t;
}

/** Per-run unique ids and the fixed, distinctive payload values. */
export function makeFixture() {
  const run = randomBytes(6).toString('hex');
  return {
    run,
    userId: `conf-user-${run}`,
    previousId: `conf-prev-${run}`,
    groupId: `acme-${run}`,
    identifyTraits: { email: `conf-${run}@example.com`, name: 'Conformance Tester', plan: 'enterprise' },
    trackEvent: 'Order Completed',
    trackProperties: { orderId: `order-${run}`, revenue: 42.5, currency: 'EUR' },
    pageCategory: 'Docs',
    pageName: 'Pricing',
    pageProperties: { section: 'plans', tier: 'pro' },
    groupTraits: { name: 'Acme Corp', employees: 250 },
  };
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function extractMessages(headers, body) {
  try {
    let raw = body;
    if (String(headers['content-encoding'] || '').toLowerCase() === 'gzip' || (raw[0] === 0x1f && raw[1] === 0x8b)) {
      raw = zlib.gunzipSync(raw);
    }
    const json = JSON.parse(raw.toString('utf8'));
    const msgs = Array.isArray(json.batch) ? json.batch : [json];
    return msgs.filter((m) => m && m.messageId).map((m) => ({ type: m.type, messageId: m.messageId }));
  } catch {
    return [];
  }
}

/**
 * Starts a reverse proxy on 127.0.0.1 (random port) that relays every request
 * to `targetUrl` unchanged. The first `failFirst` POSTs are still forwarded
 * (so the server stores them) but the client receives a 503 instead of the
 * real response. Resolves to { port, base, requests, close, onRequest }.
 */
export function startProxy(targetUrl, failFirst) {
  const requests = [];
  const listeners = new Set();
  let postsSeen = 0;
  const agent = new http.Agent({ keepAlive: false });

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('error', () => {});
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const forced = req.method === 'POST' && postsSeen++ < failFirst;
      const headers = {};
      for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v;
      if (body.length > 0 || req.headers['content-length'] !== undefined) headers['content-length'] = String(body.length);
      const entry = {
        method: req.method,
        path: req.url,
        status: 0,
        upstreamStatus: 0,
        contentType: req.headers['content-type'] ?? null,
        contentEncoding: req.headers['content-encoding'] ?? null,
        authorization: req.headers.authorization ? req.headers.authorization.split(' ')[0] : null,
        retryCount: req.headers['x-retry-count'] ?? null,
        forcedFailure: forced,
        bodyBytes: body.length,
        messageIds: [],
        types: [],
      };
      if (req.method === 'POST') {
        for (const m of extractMessages(req.headers, body)) { entry.messageIds.push(m.messageId); entry.types.push(m.type); }
      }
      requests.push(entry);

      const up = http.request({
        protocol: targetUrl.protocol,
        hostname: targetUrl.hostname,
        port: targetUrl.port || 80,
        method: req.method,
        path: req.url,
        headers,
        agent,
      }, (upRes) => {
        const upChunks = [];
        upRes.on('data', (c) => upChunks.push(c));
        upRes.on('end', () => {
          const upBody = Buffer.concat(upChunks);
          entry.upstreamStatus = upRes.statusCode;
          // kept off the JSON output; scripts may inspect it (e.g. the settings document)
          Object.defineProperty(entry, 'responseBody', { value: upBody, enumerable: false });
          if (forced) {
            // Keep CORS headers so the browser sees a real 503, not a CORS error.
            const h = { 'content-type': 'application/json' };
            for (const [k, v] of Object.entries(upRes.headers)) {
              if (k.startsWith('access-control-') || k === 'vary') h[k] = v;
            }
            entry.status = 503;
            res.writeHead(503, h);
            res.end('{"error":"forced failure injected by conformance proxy"}');
          } else {
            const h = {};
            for (const [k, v] of Object.entries(upRes.headers)) if (!HOP_BY_HOP.has(k)) h[k] = v;
            h['content-length'] = String(upBody.length);
            entry.status = upRes.statusCode;
            res.writeHead(upRes.statusCode, upRes.statusMessage, h);
            res.end(upBody);
          }
          for (const l of listeners) l(entry);
        });
        upRes.on('error', (e) => onUpstreamError(e));
      });
      const onUpstreamError = (e) => {
        entry.status = 502;
        entry.error = String(e && e.message || e);
        if (!res.headersSent) { res.writeHead(502, { 'content-type': 'text/plain' }); }
        res.end(`conformance proxy: upstream error: ${entry.error}`);
        for (const l of listeners) l(entry);
      };
      up.on('error', onUpstreamError);
      up.end(body);
    });
  });

  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        port,
        base: `http://127.0.0.1:${port}`,
        requests,
        onRequest: (fn) => { listeners.add(fn); return () => listeners.delete(fn); },
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
      });
    });
  });
}

/**
 * Checks the proxy log: every expected messageId reached the client in a
 * non-forced 2xx response, and no request failed for a reason other than the
 * injected 503s. Returns a list of problems (empty when all is well).
 */
export function verifyDelivery(requests, messageIds) {
  const problems = [];
  const delivered = new Set();
  for (const r of requests) {
    if (r.method === 'POST' && !r.forcedFailure && r.status >= 200 && r.status < 300) {
      r.messageIds.forEach((id) => delivered.add(id));
    }
    if (!r.forcedFailure && r.status >= 400) problems.push(`${r.method} ${r.path} -> ${r.status}`);
    if (r.forcedFailure && (r.upstreamStatus < 200 || r.upstreamStatus >= 300)) {
      problems.push(`${r.method} ${r.path} (forced failure) upstream -> ${r.upstreamStatus}`);
    }
  }
  const missing = messageIds.filter((id) => id && !delivered.has(id));
  if (missing.length) problems.push(`messageIds never acknowledged with 2xx: ${missing.join(', ')}`);
  return problems;
}

export function printResult(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
}
