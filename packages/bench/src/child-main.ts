// The child side of runChild, apart from it: a child's bundle must not pull in the compiler runChild uses.

/** The child side of runChild: sends `work()`'s value (or its error) to the parent, then exits. */
export function childMain<T>(work: () => Promise<T>): void {
  work().then(
    (value) => process.send?.({ ok: true, value }, () => process.exit(0)),
    (error: unknown) =>
      process.send?.(
        { ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) },
        () => process.exit(1),
      ),
  );
}
