#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// exit explicitly: no stray timer (progress bars, worker pools) may keep a finished command alive
main(process.argv).then((code) => process.exit(code));
