import { describeFreeze } from './frozen-server.js';

// Issue 10: CLIENT PAUSE holds every command on the server; when it lifts, Redis runs what was queued.
// Calls must be answered by their deadline without Redis, and none of what they asked for may be charged
// when the server resumes: the counts equal what Redis answered as allowed.

const PAUSE_MS = 1500;

describeFreeze({
  title: `CLIENT PAUSE ${PAUSE_MS} ALL under load`,
  shows: 'answered without Redis during the pause, nothing charged when it lifts',
  figure: 'client-pause',
  what: 'the pause',
  behindBreaker: 'allow',
  async freeze(faulty) {
    await faulty.clientPause(PAUSE_MS);
    // The server has answered OK: every command sent from now on waits for the pause to lift, and only a
    // call sent before may have run and yet be answered without Redis.
    const pausedAt = performance.now();
    return {
      frozenAt: pausedAt,
      sentBefore: pausedAt,
      thawed: Promise.resolve(pausedAt + PAUSE_MS),
      answerBoundMs: PAUSE_MS - 300,
    };
  },
});
