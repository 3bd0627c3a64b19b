import { describeAdminConformance, describeHttpConformance } from '@distlimiter/testkit';
import { conformanceApp } from './conformance-app.js';

describeHttpConformance('nest-express', (options) => conformanceApp('express', options));
describeAdminConformance('nest-express', (options) => conformanceApp('express', options));
