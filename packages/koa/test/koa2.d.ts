// The `koa2` alias has no types of its own; its API, as far as the tests use it, is Koa's.
declare module 'koa2' {
  import type Koa from 'koa';
  const Koa2: typeof Koa;
  export default Koa2;
}
