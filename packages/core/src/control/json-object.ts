// Stored values and pub/sub messages come back as JSON text, and a message's payload as the value already
// parsed: either way, what is not an object (broken text included) is a value to ignore, never an error.

/** `value` (JSON text, or a value already parsed) as an object, or undefined when it is not one. */
export function jsonObject(value: unknown): Record<string, unknown> | undefined {
  let o: unknown = value;
  if (typeof value === 'string') {
    try {
      o = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return typeof o === 'object' && o !== null ? (o as Record<string, unknown>) : undefined;
}
