// Drives @segment/analytics-node against a Segment-compatible collector.
// Usage: node segment-node.mjs --target http://127.0.0.1:PORT --writeKey KEY [--fail-first N]
import { createRequire } from 'node:module';
import { Analytics } from '@segment/analytics-node';
import { parseArgs, fail, startWatchdog, makeFixture, startProxy, verifyDelivery, printResult } from './lib/harness.mjs';

const require = createRequire(import.meta.url);
const { version } = require('@segment/analytics-node/package.json');

const opts = parseArgs();
const proxy = await startProxy(opts.targetUrl, opts.failFirst);
startWatchdog(opts.timeoutMs, () => `${proxy.requests.length} request(s) seen by proxy`);
const f = makeFixture();

const analytics = new Analytics({
  writeKey: opts.writeKey,
  host: proxy.base,
  path: '/v1/batch',
  flushAt: 20,
  flushInterval: 60000, // only closeAndFlush sends, so all calls share one batch
  maxRetries: 5,
  httpRequestTimeout: 5000,
});

const calls = [
  { type: 'identify', userId: f.userId, traits: f.identifyTraits },
  { type: 'track', userId: f.userId, event: f.trackEvent, properties: f.trackProperties },
  { type: 'page', userId: f.userId, category: f.pageCategory, name: f.pageName, properties: f.pageProperties },
  { type: 'group', userId: f.userId, groupId: f.groupId, traits: f.groupTraits },
  { type: 'alias', userId: f.userId, previousId: f.previousId },
];

const deliveries = calls.map((call) => new Promise((resolve) => {
  const cb = (err, ctx) => resolve({ err, ctx });
  const { type, ...params } = call;
  analytics[type](structuredClone(params), cb);
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
errors.push(...verifyDelivery(proxy.requests, calls.map((c) => c.messageId)));
if (errors.length) fail(`delivery failed:\n  ${errors.join('\n  ')}\nrequests: ${JSON.stringify(proxy.requests)}`);

printResult({
  library: '@segment/analytics-node',
  version,
  contextLibraryName: '@segment/analytics-node',
  run: f.run,
  writeKey: opts.writeKey,
  failFirst: opts.failFirst,
  calls,
  requests: proxy.requests,
});
process.exit(0);
