// For scripts elsewhere in the monorepo that run an Express app but whose package does not depend on
// express (packages/testkit's multi-process test): importing through here resolves from this package.
/** Express itself, as this package resolves it. */
export { default as express } from 'express';
/** The adapter under test. */
export { rateLimit } from '../src/index.js';
