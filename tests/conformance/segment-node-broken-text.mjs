// The hostile-input trial with the real @segment/analytics-node: three valid track calls and one
// identify whose email holds an emoji cut in half ('Zoë😀'.slice(0, 4), a common JavaScript bug).
// Usage: node segment-node-broken-text.mjs --target http://127.0.0.1:PORT --writeKey KEY
import { Analytics } from '@segment/analytics-node';
import { parseArgs, fail, startWatchdog, startProxy, printResult } from './lib/harness.mjs';

const opts = parseArgs();
const proxy = await startProxy(opts.targetUrl, 0);
startWatchdog(opts.timeoutMs, () => `${proxy.requests.length} request(s) seen by proxy`);

const analytics = new Analytics({
  writeKey: opts.writeKey,
  host: proxy.base,
  path: '/v1/batch',
  flushAt: 20,
  flushInterval: 60000, // only closeAndFlush sends, so all calls share one batch
  maxRetries: 2,
  httpRequestTimeout: 5000,
});

const run = Date.now().toString(36);
const cut = 'Zoë😀'.slice(0, 4); // ends in a lone high surrogate
const calls = [
  { type: 'track', userId: `ok-1-${run}`, event: 'Viewed' },
  { type: 'identify', userId: `zoe-${run}`, traits: { email: `${cut}@example.com`, name: cut } },
  { type: 'track', userId: `ok-2-${run}`, event: 'Viewed' },
  { type: 'track', userId: `ok-3-${run}`, event: 'Viewed' },
];

const deliveries = calls.map((call) => new Promise((resolve) => {
  const { type, ...params } = call;
  analytics[type](params, (err, ctx) => resolve({ err, ctx }));
}));
await analytics.closeAndFlush({ timeout: Math.max(1000, opts.timeoutMs - 5000) });
const results = await Promise.all(deliveries);

const errors = [];
results.forEach(({ err, ctx }, i) => {
  const failed = err ?? ctx?.failedDelivery()?.reason;
  if (failed) errors.push(`${calls[i].type}: ${failed?.message ?? failed}`);
  if (ctx?.event?.messageId) calls[i].messageId = ctx.event.messageId;
});
await proxy.close();
if (errors.length) fail(`delivery failed:\n  ${errors.join('\n  ')}\nrequests: ${JSON.stringify(proxy.requests)}`);

printResult({ calls, requests: proxy.requests });
process.exit(0);
