#!/usr/bin/env node
// Launcher for the headless CLI: runs the TypeScript sources through tsx so a
// checkout works after `npm ci` without a separate build step.
import { register } from 'tsx/esm/api';

register();
// A signal while a command runs is the command's to handle (it cancels its job and
// cleans up); one that comes before or after still ends us with 130/143.
for (const [sig, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
])
  process.on(sig, () => {
    if (process.listenerCount(sig) === 1) process.exit(code);
  });
const { main } = await import('../electron/cli/index.ts');
process.exitCode = await main(process.argv.slice(2));
