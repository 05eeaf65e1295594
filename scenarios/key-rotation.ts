import type { FaultScenario } from './scenario.js';

/**
 * Two signing-key rotations under load, each followed by a refresh of every token, so the target
 * verifies tokens signed by a key it has not yet fetched (an unknown `kid` triggers its JWKS
 * re-fetch); then every previous key is retired at once (`POST /admin/keys/retire`, which the IdP
 * refuses while a service still holds a token the key signed), so the JWKS stops publishing them
 * mid-run. The IdP would retire them itself only once every token they signed has expired.
 */
const keyRotation: FaultScenario = {
  kind: 'fault',
  name: 'key-rotation',
  description: 'Signing key rotated twice mid-run, each time followed by a refresh of every token; no request should fail.',
  defaultIn: { quick: false, full: false },
  order: 62,
  quick: { rateRps: 50, connections: 4, beforeS: 2, afterS: 2 },
  full: { rateRps: 100, connections: 4, beforeS: 5, afterS: 5 },
  target: { kind: 'no-failures' },
  async inject(a) {
    const startMs = a.now();
    const first = await a.publishedKids();
    const steps: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await a.rotateKeys();
      await a.refreshAllTokens();
      steps.push(`current ${r.current}`);
      await a.sleep(1_000);
    }
    // Retire every previous key now that every service holds a token the current key signed.
    for (const kid of await a.previousKids()) await a.retireKey(kid);
    await a.sleep(1_000);
    const last = await a.publishedKids();
    const retired = first.filter((k) => !last.includes(k));
    a.log(`JWKS kids before ${first.join(', ')}; after ${last.join(', ')}`);
    return {
      fault: `2 × key rotation + refresh-tokens (${steps.join(', ')}), then the previous keys retired: ${retired.length ? retired.join(', ') : 'none'}; JWKS now ${last.join(', ')}`,
      startMs,
      endMs: a.now(),
    };
  },
};

export default keyRotation;
