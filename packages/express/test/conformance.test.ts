import { describeAdminConformance, describeHttpConformance } from '@distlimiter/testkit';
import express from 'express';
import { conformanceApp } from './conformance-app.js';

describeHttpConformance('express', conformanceApp(express));
describeAdminConformance('express', conformanceApp(express));
