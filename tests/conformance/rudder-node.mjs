// Drives @rudderstack/rudder-sdk-node against a Segment-compatible collector.
// Usage: node rudder-node.mjs --target http://127.0.0.1:PORT --writeKey KEY [--fail-first N]
import { createRequire } from 'node:module';
import { parseArgs, fail, startWatchdog, makeFixture, startProxy, verifyDelivery, printResult } from './lib/harness.mjs';

const require = createRequire(import.meta.url);
// The package's "module" build still uses require(), so load the CommonJS entry.
const Analytics = require('@rudderstack/rudder-sdk-node');
const { version } = require('@rudderstack/rudder-sdk-node/package.json');

const opts = parseArgs();
const proxy = await startProxy(opts.targetUrl, opts.failFirst);
startWatchdog(opts.timeoutMs, () => `${proxy.requests.length} request(s) seen by proxy`);
const f = makeFixture();

const callbackErrors = [];
const client = new Analytics(opts.writeKey, {
  dataPlaneUrl: proxy.base, // SDK posts to `${dataPlaneUrl}/v1/batch`
  flushAt: 20,
  flushInterval: 60000,
  retryCount: 5,
  timeout: 5000,
  logLevel: 'error',
  // Without an errorHandler the SDK rethrows from its internal (un-awaited)
  // flush, which surfaces as an unhandled rejection.
  errorHandler: (err) => { callbackErrors.push(`request failed after retries: ${err?.response?.status ?? ''} ${err?.message ?? err}`); },
});

const calls = [
  { type: 'identify', userId: f.userId, traits: f.identifyTraits },
  { type: 'track', userId: f.userId, event: f.trackEvent, properties: f.trackProperties },
  { type: 'page', userId: f.userId, category: f.pageCategory, name: f.pageName, properties: f.pageProperties },
  { type: 'group', userId: f.userId, groupId: f.groupId, traits: f.groupTraits },
  { type: 'alias', userId: f.userId, previousId: f.previousId },
];

const delivered = calls.map((call) => new Promise((resolve) => {
  const { type, ...params } = call;
  client[type](structuredClone(params), (err) => {
    if (err) callbackErrors.push(`${type}: ${err.message ?? err}`);
    resolve();
  });
}));

// The SDK flushes the first message immediately and queues the rest; flush()
// waits for the pending request (including axios-retry retries) and then
// sends the remaining queue.
try {
  await client.flush();
  await client.flush();
} catch (e) {
  callbackErrors.push(`flush: ${e.message ?? e}`);
}
await Promise.all(delivered);
await proxy.close();

// The SDK does not hand back messageIds; recover them from the (gunzipped)
// batches the proxy saw, keyed by event type (one call per type).
const idsByType = new Map();
for (const r of proxy.requests) r.messageIds.forEach((id, i) => {
  const t = r.types[i];
  if (!idsByType.has(t)) idsByType.set(t, new Set());
  idsByType.get(t).add(id);
});
const allIds = [...new Set(proxy.requests.flatMap((r) => r.messageIds))];
const errors = [...callbackErrors];
if (allIds.length !== calls.length) errors.push(`expected ${calls.length} distinct messageIds on the wire, saw ${allIds.length}`);
errors.push(...verifyDelivery(proxy.requests, allIds));
if (errors.length) fail(`delivery failed:\n  ${errors.join('\n  ')}\nrequests: ${JSON.stringify(proxy.requests)}`);

for (const c of calls) {
  const ids = [...(idsByType.get(c.type) ?? [])];
  if (ids.length !== 1) fail(`expected exactly one messageId for ${c.type}, saw ${ids.length}`);
  c.messageId = ids[0];
}

printResult({
  library: '@rudderstack/rudder-sdk-node',
  version,
  contextLibraryName: 'analytics-node',
  run: f.run,
  writeKey: opts.writeKey,
  failFirst: opts.failFirst,
  calls,
  requests: proxy.requests,
});
process.exit(0);
