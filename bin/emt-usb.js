#!/usr/bin/env node
// Launcher for the headless CLI: runs the TypeScript sources through tsx so a
// checkout works after `npm ci` without a separate build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../electron/cli/index.ts');
process.exitCode = await main(process.argv.slice(2));
