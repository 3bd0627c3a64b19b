export { DEMO_LIMITS, type DemoOptions, NOT_FOUND_BODY } from './limits.js';
export { banner, demoAddress, demoBackend, onShutdown } from './start.js';
