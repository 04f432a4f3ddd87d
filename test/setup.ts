/**
 * Test set-up: fast-check properties that give no run count of their own run `propRuns(100)`
 * times (fast-check's default, scaled by TS2P_PROP_SCALE; see test/property/runs.ts).
 */
import fc from 'fast-check';
import { propRuns } from './property/runs.js';

fc.configureGlobal({ numRuns: propRuns(100) });
