import { describeHttpConformance } from '@distlimiter/testkit';
import express from 'express';
import { conformanceApp } from './conformance-app.js';

describeHttpConformance('express', conformanceApp(express));
