#!/usr/bin/env node
// The kallithea-isapi command: the compiled CLI lives in dist/ (npm run build:ts).
import { main } from '../dist/lib/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
