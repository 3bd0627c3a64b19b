// The `express4` alias has no types of its own; its API, as far as the tests use it, is Express's.
declare module 'express4' {
  import type express from 'express';
  const express4: typeof express;
  export default express4;
}
