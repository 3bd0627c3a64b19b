import { describeHttpConformance } from '@distlimiter/testkit';
import { conformanceApp } from './conformance-app.js';

describeHttpConformance('nest-express', (options) => conformanceApp('express', options));
