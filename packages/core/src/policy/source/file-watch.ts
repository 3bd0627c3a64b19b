import { type FSWatcher, realpathSync, type Stats, stat, statSync, watch } from 'node:fs';
import path from 'node:path';

// Editors and deploy tools change a file in three ways: a write in place, a new file renamed over it
// (atomic replace), and a symlink re-pointed by renaming a new link over it (Kubernetes ConfigMaps). A watch
// on the file itself misses the last two (it follows the old inode), so the directories are watched instead:
// the configured path's, and its target's when it is a symlink. fs.watch is quick but not everywhere
// reliable (network file systems, some containers), so a stat poll of the resolved file backs it up.

/** Options of FileWatch. */
export interface FileWatchOptions {
  /** Time between stat polls, in ms. */
  pollMs: number;
  /** Quiet time after a directory event before `onChange`, in ms: a write comes as several events. */
  debounceMs: number;
}

/**
 * Calls `onChange` soon after the file at `file` may have changed (a hint: the caller compares the content).
 * Holds nothing that keeps the process alive, and stops on close().
 */
export class FileWatch {
  private readonly file: string;
  private readonly watchers = new Map<string, FSWatcher>();
  // Names whose events matter, by directory: the configured name, and the target's when it is a symlink.
  private names = new Map<string, Set<string>>();
  private signature: string;
  private readonly poller: NodeJS.Timeout;
  private debounce: NodeJS.Timeout | undefined;
  private statting = false;
  private closed = false;

  constructor(
    file: string,
    private readonly onChange: () => void,
    private readonly options: FileWatchOptions,
  ) {
    this.file = path.resolve(file);
    this.rewatch();
    try {
      this.signature = signatureOf(null, statSync(this.file));
    } catch (error) {
      this.signature = signatureOf(error as NodeJS.ErrnoException);
    }
    this.poller = setInterval(() => this.poll(), options.pollMs).unref();
  }

  /** Stops every watcher and timer; idempotent. */
  close(): void {
    this.closed = true;
    clearInterval(this.poller);
    clearTimeout(this.debounce);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  // A symlink swap changes the target, so the directories are worked out again after every change.
  private rewatch(): void {
    const names = new Map<string, Set<string>>();
    const add = (at: string) => {
      const dir = path.dirname(at);
      names.set(dir, (names.get(dir) ?? new Set()).add(path.basename(at)));
    };
    add(this.file);
    try {
      add(realpathSync(this.file));
    } catch {
      // Not there right now: the poll notices when it is back.
    }
    this.names = names;
    for (const [dir, watcher] of this.watchers) {
      if (!names.has(dir)) {
        watcher.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of names.keys()) {
      if (this.watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || this.names.get(dir)?.has(String(name))) this.changed();
        });
        // A directory removed or unreadable: the poll still covers the file.
        watcher.on('error', () => {
          watcher.close();
          if (this.watchers.get(dir) === watcher) this.watchers.delete(dir);
        });
        this.watchers.set(dir, watcher);
      } catch {
        // fs.watch unsupported here (or the directory is gone): the poll covers the file.
      }
    }
  }

  private changed(): void {
    if (this.closed) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      if (this.closed) return;
      this.rewatch();
      this.onChange();
    }, this.options.debounceMs).unref();
  }

  private poll(): void {
    if (this.statting || this.closed) return;
    this.statting = true;
    stat(this.file, (error, s) => {
      this.statting = false;
      if (this.closed) return;
      const signature = signatureOf(error, s);
      if (signature === this.signature) return;
      this.signature = signature;
      this.changed();
    });
  }
}

// stat follows symlinks: a swap shows as another inode, a write as another size, mtime or ctime.
function signatureOf(error: NodeJS.ErrnoException | null, s?: Stats): string {
  return error || !s ? `error:${error?.code}` : `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}
