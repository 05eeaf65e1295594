#!/usr/bin/env node
// Launcher: registers tsx's ESM loader, then runs the TypeScript CLI (no build step needed).
import { register } from 'tsx/esm/api';

register();
await import('../runner/cli/main.ts');
