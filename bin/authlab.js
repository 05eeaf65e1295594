#!/usr/bin/env node
// Launcher: checks the Node version, registers tsx's ESM loader, then runs the TypeScript CLI (no build step).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `authlab needs Node 22.19 or newer (24 LTS recommended) and this is ${process.version}: run \`. scripts/node.sh\` to put Node 24 on PATH, then try again.\n`,
  );
  process.exit(2);
}
const { register } = await import('tsx/esm/api');
register();
await import('../runner/cli/main.ts');
