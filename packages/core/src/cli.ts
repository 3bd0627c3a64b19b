#!/usr/bin/env node
// The `distlimiter` bin. Everything it does is in cli/run-cli.ts, which the tests drive directly.
import { runCli } from './cli/run-cli.js';

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `distlimiter: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
