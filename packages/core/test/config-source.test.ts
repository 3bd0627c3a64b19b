import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { InvalidConfigError, InvalidOptionError } from '../src/index.js';
import { checkConfigFileSync, loadConfigFileSync } from '../src/policy/config/load-file.js';
import {
  type ConfigSource,
  configSourceOf,
  createConfigSource,
  isConfigSource,
} from '../src/policy/source/config-source.js';
import { type Doc, issueDocument } from './support/config-document.js';
import {
  nextEvent,
  pause,
  recordEvents,
  replaceFile,
  swapSymlink,
  tempDir,
} from './support/config-source-events.js';
import { runTs } from './support/spawn.js';
import { reportFigure } from './support/testkit.js';
import { thrown } from './support/thrown.js';

const temp = tempDir();
afterAll(temp.remove);
const open: ConfigSource[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

let files = 0;
/** Writes `doc` to a new file in the temporary directory and returns its path. */
function fileOf(doc: Doc | string, name = `config-${++files}.json`): string {
  const at = path.join(temp.dir, name);
  writeFileSync(at, typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2));
  return at;
}

/** A source kept for closing after the test. */
function source(options: Parameters<typeof createConfigSource>[0]): ConfigSource {
  const s = createConfigSource(options);
  open.push(s);
  return s;
}

/** The issue's document with the anonymous tier at `rate`. */
function docWith(rate: string): Doc {
  const doc = issueDocument();
  doc.tiers.anonymous.rate = rate;
  return doc;
}

const anonymousLimit = (s: ConfigSource) => s.current().tiers.get('anonymous')!.algorithm.members[0]!.limit;

/** Applies `write(i)` for each trial, waits for the reload each time, and reports the slowest. */
async function reloads(figure: string, s: ConfigSource, write: (rate: string) => void): Promise<void> {
  const delays: number[] = [];
  for (let i = 1; i <= 3; i++) {
    const before = s.current();
    let t0 = 0;
    const reloaded = nextEvent(s, 'reloaded', () => t0);
    t0 = performance.now();
    write(`${10 + i}/minute`);
    const { arg, ms } = await reloaded;
    delays.push(ms);
    expect(arg).toBe(s.current());
    expect(anonymousLimit(s)).toBe(10 + i);
    // A request that read `before` keeps it whole: snapshots are never edited, only replaced.
    expect(before).not.toBe(arg);
    expect(Object.isFrozen(before)).toBe(true);
    expect(before.tiers.get('anonymous')!.algorithm.members[0]!.limit).toBe(i === 1 ? 5 : 9 + i);
  }
  reportFigure(figure, {
    trials: delays.length,
    maxMs: Math.round(Math.max(...delays)),
    delaysMs: delays.map(Math.round),
  });
}

describe('a document source', () => {
  it('compiles the document at once, from base only, and has nothing to publish to', async () => {
    const s = source({ document: issueDocument() as never });
    await s.ready();
    expect(s.current().defaultTier).toBe('anonymous');
    expect([...s.current().origins.tiers.values()]).toEqual(['base', 'base', 'base', 'base']);
    expect(s.current().origins.rules).toEqual(
      new Map([
        ['login', 'base'],
        ['search', 'base'],
      ]),
    );
    expect(s.current().origins.overlayVersion).toBeUndefined();
    const error = await s.publish({ tiers: { free: { rate: '1/s' } } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).field).toBe('redis');
    await s.close();
    await s.close();
    expect(s.current().defaultTier).toBe('anonymous');
  });

  it('throws InvalidConfigError listing every problem at start', () => {
    const doc = issueDocument();
    doc.tiers.free.rate = '10/minnute';
    doc.rules[0].tiers = { gold: { rate: '1/s' } };
    let error: unknown;
    try {
      createConfigSource({ document: doc as never });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).problems.map((p) => p.path)).toEqual([
      'tiers.free.rate',
      'rules[0].tiers.gold',
    ]);
  });

  it('refuses bad options with InvalidOptionError naming the option', () => {
    const file = fileOf(issueDocument());
    expect(thrown(() => createConfigSource({})).field).toBe('document');
    expect(thrown(() => createConfigSource({ document: issueDocument() as never, file })).field).toBe('file');
    expect(thrown(() => createConfigSource({ file, wacth: false } as never)).message).toMatch(
      /did you mean "watch"/,
    );
    expect(thrown(() => createConfigSource({ file, watch: 'no' as never })).field).toBe('watch');
    expect(thrown(() => createConfigSource({ file, redis: { client: 'localhost:6379' } })).field).toBe(
      'redis.client',
    );
    expect(thrown(() => createConfigSource({ file, redis: { client: {} as never } })).field).toBe(
      'redis.client',
    );
    const url = 'redis://127.0.0.1:1';
    expect(thrown(() => createConfigSource({ file, redis: { client: url, prefix: 'a{b' } })).field).toBe(
      'redis.prefix',
    );
    expect(thrown(() => createConfigSource({ file, redis: { client: url, pollMs: 0 } })).field).toBe(
      'redis.pollMs',
    );
  });
});

describe('configSourceOf and isConfigSource', () => {
  it('make a source of a document or a file path, and take a source as it is', () => {
    const fromDoc = configSourceOf(issueDocument() as never);
    open.push(fromDoc.source);
    expect(fromDoc.owned).toBe(true);
    expect(isConfigSource(fromDoc.source)).toBe(true);
    const fromFile = configSourceOf(fileOf(issueDocument()));
    open.push(fromFile.source);
    expect(fromFile).toMatchObject({ owned: true });
    expect(fromFile.source.current().version).toBe(fromDoc.source.current().version);
    expect(configSourceOf(fromDoc.source)).toEqual({ source: fromDoc.source, owned: false });
    expect(isConfigSource(issueDocument())).toBe(false);
    expect(isConfigSource(null)).toBe(false);
  });

  it('name the field when the input is none of those', () => {
    for (const bad of [42, '', null, [issueDocument()]]) {
      const error = thrown(() => configSourceOf(bad as never, 'rateLimit.config'));
      expect(error.field).toBe('rateLimit.config');
    }
  });
});

describe('the sync file check', () => {
  it('agrees with the async one and throws at once', () => {
    const good = fileOf(issueDocument());
    expect(loadConfigFileSync(good).defaultTier).toBe('anonymous');
    const bad = fileOf('{"version": 1,}');
    const result = checkConfigFileSync(bad);
    expect(result.ok === false && result.problems[0]!.message).toMatch(/^line 1, column 15: not valid JSON/);
    expect(() => loadConfigFileSync(bad)).toThrow(InvalidConfigError);
    expect(() => loadConfigFileSync(path.join(temp.dir, 'missing.json'))).toThrow(/cannot be read: ENOENT/);
  });
});

describe('a file source', () => {
  it('throws InvalidConfigError naming the file at start when the file is invalid or missing', () => {
    const doc = issueDocument();
    doc.version = 3;
    doc.defaultTier = 'nobody';
    const file = fileOf(doc);
    let error: unknown;
    try {
      createConfigSource({ file });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).source).toBe(file);
    expect((error as InvalidConfigError).problems.map((p) => p.path)).toEqual(['version', 'defaultTier']);
    expect(() => createConfigSource({ file: path.join(temp.dir, 'missing.json') })).toThrow(
      InvalidConfigError,
    );
  });

  it('reloads a write in place', async () => {
    const file = fileOf(docWith('5/minute'));
    const s = source({ file });
    await reloads('config-source-file-in-place', s, (rate) =>
      writeFileSync(file, JSON.stringify(docWith(rate))),
    );
  });

  it('reloads an atomic replace (a new file renamed over it)', async () => {
    const file = fileOf(docWith('5/minute'));
    const s = source({ file });
    await reloads('config-source-file-rename', s, (rate) => replaceFile(file, JSON.stringify(docWith(rate))));
  });

  it('reloads a symlink swap (a new link renamed over the configured one)', async () => {
    const link = path.join(temp.dir, `link-${++files}.json`);
    symlinkSync(fileOf(docWith('5/minute')), link);
    const s = source({ file: link });
    await reloads('config-source-file-symlink', s, (rate) => swapSymlink(link, fileOf(docWith(rate))));
  });

  it('reloads a write to the target of a symlink in another directory', async () => {
    const other = tempDir();
    try {
      const target = path.join(other.dir, 'real.json');
      writeFileSync(target, JSON.stringify(docWith('5/minute')));
      const link = path.join(temp.dir, `link-${++files}.json`);
      symlinkSync(target, link);
      const s = source({ file: link });
      const reloaded = nextEvent(s, 'reloaded', () => 0);
      writeFileSync(target, JSON.stringify(docWith('7/minute')));
      await reloaded;
      expect(anonymousLimit(s)).toBe(7);
    } finally {
      other.remove();
    }
  });

  it('rejects an invalid file with every problem, keeps the last good snapshot, then applies a valid one', async () => {
    const file = fileOf(docWith('5/minute'));
    const s = source({ file });
    const good = s.current();
    const events = recordEvents(s);
    const bad = docWith('5/minnute');
    bad.rules[1].cost = 'five';
    const rejected = nextEvent(s, 'rejected', () => 0);
    replaceFile(file, JSON.stringify(bad));
    const { arg: error } = await rejected;
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.source).toBe(file);
    expect(error.problems.map((p) => p.path)).toEqual(['tiers.anonymous.rate', 'rules[1].cost']);
    expect(s.current()).toBe(good);

    // Half a file, as a reader may see one mid-write: a syntax error, and still the last good snapshot.
    const half = nextEvent(s, 'rejected', () => 0);
    const text = JSON.stringify(docWith('8/minute'));
    writeFileSync(file, text.slice(0, text.length / 2));
    expect((await half).arg.problems[0]!.message).toMatch(/^line 1, column \d+: not valid JSON/);
    expect(s.current()).toBe(good);

    const reloaded = nextEvent(s, 'reloaded', () => 0);
    writeFileSync(file, text);
    await reloaded;
    expect(anonymousLimit(s)).toBe(8);
    expect(events.map(([name]) => name)).toEqual(['rejected', 'rejected', 'reloaded']);
  });

  it('does nothing when the file is rewritten with the same text', async () => {
    const text = JSON.stringify(docWith('5/minute'));
    const file = fileOf(text);
    const s = source({ file });
    const events = recordEvents(s);
    writeFileSync(file, text);
    replaceFile(file, text);
    // Several stat polls (250 ms apart) and directory events have seen both writes by now.
    await pause(1000);
    const reloaded = nextEvent(s, 'reloaded', () => 0);
    writeFileSync(file, JSON.stringify(docWith('6/minute')));
    await reloaded;
    expect(events.map(([name]) => name)).toEqual(['reloaded']);
  });

  it('does not watch with watch: false', async () => {
    const file = fileOf(docWith('5/minute'));
    const s = source({ file, watch: false });
    const watching = source({ file });
    const events = recordEvents(s);
    const reloaded = nextEvent(watching, 'reloaded', () => 0);
    writeFileSync(file, JSON.stringify(docWith('6/minute')));
    await reloaded;
    await pause(500);
    expect(events).toEqual([]);
    expect(anonymousLimit(s)).toBe(5);
  });

  it('stops watching on close(): a later write reaches a source still open, not the closed one', async () => {
    const file = fileOf(docWith('5/minute'));
    const closed = source({ file });
    const control = source({ file });
    const events = recordEvents(closed);
    await closed.close();
    const reloaded = nextEvent(control, 'reloaded', () => 0);
    writeFileSync(file, JSON.stringify(docWith('6/minute')));
    await reloaded;
    // The closed source had the same chances as the control, and more: one more poll interval and then some.
    await pause(500);
    expect(events).toEqual([]);
    expect(anonymousLimit(closed)).toBe(5);
  });

  it('lets a process that watches a file, and never closes the source, exit on its own', async () => {
    const file = fileOf(issueDocument());
    const child = runTs('config-source-idle.ts', [file], { hangGuardMs: 20_000 });
    const result = await child.done;
    expect(result.exit, result.stderr).toEqual({ code: 0, signal: null });
    const report = JSON.parse(result.stdout.trim()) as { version: string; inline: string };
    expect(report.version).toHaveLength(16);
    expect(report.inline).toBe('t');
    expect(readFileSync(file, 'utf8')).toContain('anonymous');
  });
});
