import { describeAdminConformance, describeHttpConformance } from '@distlimiter/testkit';
import Koa from 'koa';
import { conformanceApp } from './conformance-app.js';

describeHttpConformance('koa', conformanceApp(Koa));
describeAdminConformance('koa', conformanceApp(Koa));
