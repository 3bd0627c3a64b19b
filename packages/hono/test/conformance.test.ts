import { describeAdminConformance, describeHttpConformance } from '@distlimiter/testkit';
import { conformanceApp } from './conformance-app.js';

describeHttpConformance('hono', conformanceApp);
describeAdminConformance('hono', conformanceApp);
