import { describeAdminConformance, describeHttpConformance } from '@distlimiter/testkit';
import { conformanceApp } from './conformance-app.js';

describeHttpConformance('fastify', conformanceApp);
describeAdminConformance('fastify', conformanceApp);
