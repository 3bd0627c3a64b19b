// For tests elsewhere in the monorepo that run a Koa app but whose package does not depend on koa
// (packages/testkit's mixed-fleet test): importing through here resolves from this package.
/** Koa itself, as this package resolves it. */
export { default as Koa } from 'koa';
