import { describeAdminConformance, describeHttpConformance } from '@distlimiter/testkit';
import type express from 'express';
// Express 4 under an alias (see devDependencies): the peer range accepts ^4.21 as well as ^5.
import express4 from 'express4';
import { conformanceApp } from './conformance-app.js';

describeHttpConformance('express 4', conformanceApp(express4 as unknown as typeof express));
describeAdminConformance('express 4', conformanceApp(express4 as unknown as typeof express));
