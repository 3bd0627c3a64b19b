export {
  DEMO_CONFIG_FILE,
  DEMO_EXEMPT_PATHS,
  DEMO_KEYS,
  DEMO_PREFIX,
  type DemoOptions,
  demoLimitOptions,
  NOT_FOUND_BODY,
} from './limits.js';
export { adminSteps, banner, demoAddress, demoEnv, onShutdown, walkThrough } from './start.js';
export { DEMO_ADMIN_PATH, type DemoAdmin, demoAdmin } from './admin.js';
