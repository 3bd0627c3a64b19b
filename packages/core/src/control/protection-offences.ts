// This instance's own record of offences: what escalation falls back on when the store cannot be reached,
// and a floor for the store's count (offences made during an outage were never written there).

// Clients remembered at most; the oldest-touched are forgotten first, so an attack from many addresses
// cannot grow it without bound.
const MAX_CLIENTS = 10_000;

interface Offences {
  n: number;
  forgetAtMs: number;
}

/** Offences per client in this process, each client's forgotten at the time its last one said. */
export class LocalOffences {
  private readonly clients = new Map<string, Offences>();

  /** The number the next offence of `client` at `now` would have, counting only what is remembered here. */
  next(client: string, now: number): number {
    const o = this.clients.get(client);
    return o !== undefined && now < o.forgetAtMs ? o.n + 1 : 1;
  }

  /** Records `client`'s offence number `n`, to be forgotten at `forgetAtMs`. */
  record(client: string, n: number, forgetAtMs: number): void {
    // Deleted first so the Map's order stays the order of last offence.
    this.clients.delete(client);
    this.clients.set(client, { n, forgetAtMs });
    if (this.clients.size > MAX_CLIENTS) {
      const oldest = this.clients.keys().next().value;
      if (oldest !== undefined) this.clients.delete(oldest);
    }
  }

  /** Forgets `client`'s offences (an operator lifted its block). */
  forget(client: string): void {
    this.clients.delete(client);
  }
}
