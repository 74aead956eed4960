// The headless-Chromium scripts' shared harness (e2e.mjs, providers-e2e.mjs, native.mjs): named
// checks that print `ok` / `not ok` and go on, a summary with the exit code, and Chromium.
import { chromium } from 'playwright-core';

const results = [];

/** Runs check `name`: prints `ok - name (ms)` or `not ok - name` with the stack; never throws. */
export async function check(name, f) {
  const t = Date.now();
  try {
    await f();
    results.push(true);
    console.log(`ok - ${name} (${Date.now() - t} ms)`);
  } catch (e) {
    results.push(false);
    console.log(`not ok - ${name}\n${e.stack}`);
  }
}

/** Prints `<prefix>N passed, M failed<suffix>` and exits: 0 only if some ran and none failed. */
export function finish(prefix = '', suffix = '') {
  const failed = results.filter((r) => !r).length;
  console.log(`${prefix}${results.length - failed} passed, ${failed} failed${suffix}`);
  process.exit(failed || results.length === 0 ? 1 : 0);
}

/** Headless Chromium (`CHROMIUM` overrides /usr/bin/chromium) on the profile directory `profile`. */
export const launch = (profile, options = {}) => chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  ...options,
});
