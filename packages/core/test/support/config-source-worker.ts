// Child process for config-source-redis.test.ts: a source of its own on the parent's Redis. It says "ready"
// once the overlay was read, then prints the first snapshot that carries an overlay (with the wall-clock
// time it arrived, for the parent's delay figure), closes the source and exits.
import { createConfigSource } from '../../src/policy/source/config-source.js';
import { issueDocument } from './config-document.js';

const { url, prefix } = JSON.parse(process.argv[2]!) as { url: string; prefix: string };
const source = createConfigSource({ document: issueDocument() as never, redis: { client: url, prefix } });
source.on('sourceError', (error) => process.stderr.write(`sourceError: ${error.message}\n`));
source.on('reloaded', (snapshot) => {
  if (snapshot.origins.overlayVersion === undefined) return;
  const at = Date.now();
  process.stdout.write(
    `${JSON.stringify({
      at,
      overlayVersion: snapshot.origins.overlayVersion,
      freeOrigin: snapshot.origins.tiers.get('free'),
      freeLimit: snapshot.tiers.get('free')!.algorithm.members[0]!.limit,
    })}\n`,
  );
  void source.close();
});
await source.ready();
process.stdout.write('ready\n');
