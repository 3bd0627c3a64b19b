import { describeAdminConformance, describeHttpConformance } from '@distlimiter/testkit';
import type Koa from 'koa';
// Koa 2 under an alias (see devDependencies): the peer range accepts ^2.15 as well as ^3.
import Koa2 from 'koa2';
import { conformanceApp } from './conformance-app.js';

describeHttpConformance('koa 2', conformanceApp(Koa2 as unknown as typeof Koa));
describeAdminConformance('koa 2', conformanceApp(Koa2 as unknown as typeof Koa));
