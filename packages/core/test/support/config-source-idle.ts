// Child process for config-source.test.ts: creates a source watching a file (and a Redis-less document
// source) and never closes them. If a watcher or poller kept a handle alive, this process would never exit
// and the parent's hang guard would kill it.
import { createConfigSource } from '../../src/policy/source/config-source.js';

const file = process.argv[2]!;
const watching = createConfigSource({ file });
const inline = createConfigSource({
  document: { version: 1, defaultTier: 't', tiers: { t: { rate: '1/s' } } },
});
await watching.ready();
const active = process.getActiveResourcesInfo();
process.stdout.write(
  `${JSON.stringify({ version: watching.current().version, inline: inline.current().defaultTier, active })}\n`,
);
