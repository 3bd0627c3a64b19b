import { describeAdminConformance, describeHttpConformance } from '@distlimiter/testkit';
import { conformanceApp } from './conformance-app.js';

describeHttpConformance('nest-fastify', (options) => conformanceApp('fastify', options));
describeAdminConformance('nest-fastify', (options) => conformanceApp('fastify', options));
