/**
 * Run counts of the property tests outside the simulator suites (which take `TS2P_SIM_RUNS`) and
 * the fuzzers (`TS2P_FUZZ_RUNS`, `TS2P_FUZZ_LOOPBACK_RUNS`): `npm test` runs each property the
 * number of times its file gives; `TS2P_PROP_SCALE=20` runs each twenty times as often, for a
 * long hunt. Seeds are fast-check's own, drawn afresh each run and printed on failure.
 */

/** How many times as many runs as the quick default. */
const scale = ((): number => {
  const v = Number(process.env['TS2P_PROP_SCALE']);
  return Number.isFinite(v) && v > 0 ? v : 1;
})();

/** `quick` runs, scaled by TS2P_PROP_SCALE (never fewer than one). */
export const propRuns = (quick: number): number => Math.max(1, Math.round(quick * scale));
