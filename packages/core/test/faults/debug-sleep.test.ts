import { describeFreeze } from './frozen-server.js';

// Issue 10: DEBUG SLEEP blocks the whole server (redis-server started with --enable-debug-command local);
// the commands sent meanwhile wait in its socket buffers and run when it wakes. As with CLIENT PAUSE, the
// calls are answered without Redis by their deadline and none of them is charged when it wakes. Scripts
// that ran in the same turn as DEBUG SLEEP have their replies held until it wakes: those charges are
// permitted, and the backend must report them as late replies.

// A command sent this long after DEBUG SLEEP reaches the server after it (the server reads the admin's
// socket within one turn of its event loop, well under a millisecond here): only calls asked before may
// have run before the sleep. Generous on purpose; it only widens what is permitted.
const ORDER_MARGIN_MS = 50;

describeFreeze({
  title: 'DEBUG SLEEP 1 under load',
  shows: 'answered without Redis while it sleeps, nothing charged when it wakes',
  figure: 'debug-sleep',
  what: 'the sleep',
  behindBreaker: 'local',
  async freeze(faulty) {
    const sleptAt = performance.now();
    return {
      frozenAt: sleptAt,
      sentBefore: sleptAt + ORDER_MARGIN_MS,
      // DEBUG SLEEP answers when the server wakes.
      thawed: faulty.debugSleep(1).then(() => performance.now()),
      answerBoundMs: 800,
    };
  },
});
