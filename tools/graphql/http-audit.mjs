// graphql-http's server audit (GraphQL over HTTP spec) against URL: prints every result, then a
// summary line; exits 1 on any error (a failed MUST) or warning (a failed SHOULD).
import { createRequire } from 'node:module';
import { auditServer } from 'graphql-http';

const { version } = createRequire(import.meta.url)('graphql-http/package.json');

const url = process.argv[2];
if (!url) {
  console.error('usage: node http-audit.mjs URL');
  process.exit(2);
}

const results = await auditServer({ url });
const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status] += 1;
  if (result.status === 'ok') {
    console.log(`ok      ${result.id} ${result.name}`);
    continue;
  }
  const body = (await result.response.text()).slice(0, 300);
  console.log(`${result.status.padEnd(7)} ${result.id} ${result.name}`);
  console.log(`        ${result.reason}: HTTP ${result.response.status}`
    + ` ${result.response.headers.get('content-type') ?? '(no content-type)'} ${body}`);
}
console.log(`graphql-http ${version} audit of ${url}: ${results.length} audits,`
  + ` ${counts.ok} ok, ${counts.notice} notices, ${counts.warn} warnings, ${counts.error} errors`);
process.exit(counts.warn + counts.error > 0 ? 1 : 0);
