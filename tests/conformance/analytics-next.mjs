// Drives @segment/analytics-next (the browser SDK, Analytics.js 2.0) in headless
// Chromium against a Segment-compatible collector.
// Usage: node analytics-next.mjs --target http://127.0.0.1:PORT --writeKey KEY [--fail-first N]
//
// The page is served by a local node http server and loads the package's own
// prebuilt UMD bundle (dist/umd/index.js, global `AnalyticsNext`). The SDK is
// loaded with cdnURL = proxy, so it first GETs {proxy}/v1/projects/{key}/settings;
// the collector's answer (integrations["Segment.io"].apiHost) decides where events go.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { parseArgs, fail, startWatchdog, makeFixture, startProxy, verifyDelivery, printResult } from './lib/harness.mjs';

const require = createRequire(import.meta.url);
const pkgDir = path.dirname(require.resolve('@segment/analytics-next/package.json'));
const { version } = require('@segment/analytics-next/package.json');
const umdDir = path.join(pkgDir, 'dist', 'umd');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // nothing but 127.0.0.1 is reachable (e.g. no metrics to api.segment.io)
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

const opts = parseArgs();
const proxy = await startProxy(opts.targetUrl, opts.failFirst);
let phase = 'starting';
startWatchdog(opts.timeoutMs, () => `phase=${phase}; proxy saw ${JSON.stringify(proxy.requests)}`);
const f = makeFixture();

// --- page server: the test page plus the SDK's bundle files from node_modules ---
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Tandem conformance</title>
<script>
  // Webpack resolves lazily loaded SDK chunks against the global CDN URL
  // (window.analytics._cdn, as the official snippet sets it); point it at this
  // page server, which serves the package's dist/umd files.
  window.analytics = { _cdn: location.origin };
</script>
<script src="/analytics-next/bundles/index.js"></script>
</head><body><h1>Tandem conformance (analytics-next ${version})</h1></body></html>`;

function serveBundle(name) {
  // only plain file names from dist/umd, never paths
  if (!/^[\w.-]+\.js$/.test(name)) return null;
  const file = path.join(umdDir, name);
  return fs.existsSync(file) ? fs.readFileSync(file) : null;
}

const pageServer = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/' || url.pathname === '/index.html') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    return res.end(PAGE);
  }
  if (url.pathname === '/favicon.ico') { res.writeHead(204); return res.end(); }
  const m = /^\/analytics-next\/bundles\/([^/]+)$/.exec(url.pathname);
  const body = m && serveBundle(m[1]);
  if (body) {
    res.writeHead(200, { 'content-type': 'application/javascript' });
    return res.end(body);
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found');
});
await new Promise((r) => pageServer.listen(0, '127.0.0.1', r));
const pageBase = `http://127.0.0.1:${pageServer.address().port}`;

// --- browser ---
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
let exitCode = 0;
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  // Problems the SDK would retry forever (CORS rejections) or silently drop
  // (non-retryable 4xx) end the run early instead of waiting for the timeout.
  let abortRun;
  const fatal = new Promise((_, reject) => { abortRun = reject; });
  fatal.catch(() => {});
  page.on('console', (msg) => {
    const text = msg.text();
    process.stderr.write(`[browser ${msg.type()}] ${text}\n`);
    if (/blocked by CORS policy/.test(text)) abortRun(new Error(`browser rejected a response: ${text}`));
  });
  proxy.onRequest((r) => {
    if (!r.forcedFailure && r.status >= 400 && r.status < 500 && ![408, 410, 429, 460].includes(r.status)) {
      abortRun(new Error(`${r.method} ${r.path} answered ${r.status}; analytics-next does not retry that`));
    }
  });
  page.on('pageerror', (err) => process.stderr.write(`[browser pageerror] ${err.message}\n`));

  // No page.route()/context.route(): with interception on, Playwright answers
  // CORS preflights itself, which would hide the collector's real OPTIONS
  // handling. Non-local hosts are made unresolvable via --host-resolver-rules
  // instead, and any attempt to reach them is recorded here.
  const externalRequests = [];
  const localHosts = new Set([new URL(pageBase).host, new URL(proxy.base).host]);
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (!localHosts.has(u.host)) externalRequests.push(`${req.method()} ${u.href}`);
  });

  phase = 'loading page';
  await page.goto(`${pageBase}/`, { waitUntil: 'load' });
  if (!(await page.evaluate(() => typeof window.AnalyticsNext?.AnalyticsBrowser?.load === 'function'))) {
    throw new Error('dist/umd/index.js did not expose AnalyticsNext.AnalyticsBrowser');
  }

  phase = 'loading SDK (settings fetch)';
  const anonymousId = await Promise.race([fatal, page.evaluate(async ({ writeKey, cdnURL }) => {
    const [analytics] = await window.AnalyticsNext.AnalyticsBrowser.load({ writeKey, cdnURL });
    window.__analytics = analytics;
    return analytics.user().anonymousId();
  }, { writeKey: opts.writeKey, cdnURL: proxy.base })]);

  const settingsReq = proxy.requests.find((r) => r.method === 'GET' && /\/v1\/projects\/[^/]+\/settings$/.test(r.path));
  let settings;
  try { settings = JSON.parse(settingsReq.responseBody.toString('utf8')); } catch { /* reported below */ }
  const seg = settings?.integrations?.['Segment.io'];
  const proxyHost = new URL(proxy.base).host;
  if (!seg) throw new Error('settings has no integrations["Segment.io"] entry, so the SDK would not send anything');
  // The SDK posts to `${protocol ?? 'https'}://${apiHost ?? 'api.segment.io/v1'}/{i,t,p,g,a}`
  // and uses seg.apiKey (not the load() writeKey) for the body writeKey and Basic auth.
  if (seg.protocol !== 'http' || typeof seg.apiHost !== 'string' || !seg.apiHost.startsWith(proxyHost)) {
    throw new Error(`settings integrations["Segment.io"] = ${JSON.stringify(seg)} does not route events through the proxy at http://${proxyHost}; ` +
      'expected protocol "http" and apiHost "<Host header of the settings request>/v1" (the proxy forwards Host unchanged)');
  }

  const calls = [
    { type: 'identify', userId: f.userId, anonymousId, traits: f.identifyTraits },
    { type: 'track', userId: f.userId, anonymousId, event: f.trackEvent, properties: f.trackProperties },
    { type: 'page', userId: f.userId, anonymousId, category: f.pageCategory, name: f.pageName, properties: f.pageProperties },
    { type: 'group', userId: f.userId, anonymousId, groupId: f.groupId, traits: f.groupTraits },
    { type: 'alias', userId: f.userId, anonymousId, previousId: f.previousId },
  ];

  phase = 'sending events';
  const sent = await Promise.race([fatal, page.evaluate(async (f) => {
    const a = window.__analytics;
    const out = [];
    const record = (ctx) => out.push({ type: ctx.event.type, messageId: ctx.event.messageId, userId: ctx.event.userId ?? null, anonymousId: ctx.event.anonymousId ?? null });
    record(await a.identify(f.userId, f.identifyTraits));
    record(await a.track(f.trackEvent, f.trackProperties));
    record(await a.page(f.pageCategory, f.pageName, f.pageProperties));
    record(await a.group(f.groupId, f.groupTraits));
    record(await a.alias(f.userId, f.previousId));
    return out;
  }, f)]);
  sent.forEach((s, i) => {
    if (s.type !== calls[i].type) throw new Error(`unexpected event order: ${JSON.stringify(sent)}`);
    if (s.userId !== f.userId || s.anonymousId !== anonymousId) throw new Error(`unexpected identity on ${s.type}: ${JSON.stringify(s)}`);
    calls[i].messageId = s.messageId;
  });

  // Retries happen asynchronously inside the page (backoff queue); wait until
  // every messageId has been acknowledged with a real 2xx through the proxy.
  phase = 'waiting for delivery';
  const ids = calls.map((c) => c.messageId);
  const allDelivered = () => verifyDelivery(proxy.requests, ids).every((p) => !p.startsWith('messageIds never'));
  await Promise.race([fatal, new Promise((resolve) => {
    if (allDelivered()) return resolve();
    const off = proxy.onRequest(() => { if (allDelivered()) { off(); resolve(); } });
  })]);
  // Give a straggling duplicate (if any) a moment to show up in the log.
  await new Promise((r) => setTimeout(r, 250));

  const problems = verifyDelivery(proxy.requests, ids);
  if (problems.length) throw new Error(`delivery failed:\n  ${problems.join('\n  ')}`);

  printResult({
    library: '@segment/analytics-next',
    version,
    contextLibraryName: 'analytics.js',
    run: f.run,
    writeKey: opts.writeKey,
    failFirst: opts.failFirst,
    anonymousId,
    settings,
    externalRequests,
    calls,
    requests: proxy.requests,
  });
} catch (e) {
  process.stderr.write(`error: ${process.env.CONFORMANCE_DEBUG ? e?.stack : (e?.message ?? e)}\nrequests: ${JSON.stringify(proxy.requests)}\n`);
  exitCode = 1;
} finally {
  await browser.close().catch(() => {});
  pageServer.close();
  await proxy.close();
}
process.exit(exitCode);
