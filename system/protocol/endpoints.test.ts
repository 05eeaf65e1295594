import { describe, expect, it } from 'vitest';
import { pairOf, pairServices } from './endpoints.js';

describe('pairOf', () => {
  it('reads the pair back from either service of it', () => {
    for (const pair of [1, 4, 12]) for (const name of pairServices(pair)) expect(pairOf(name)).toBe(pair);
  });

  it('is null for components outside the pairs and for near misses', () => {
    for (const name of ['idp', 'postgres', 'identity', 'p1-c', 'p1-ab', 'p-a', 'p0-a', 'p01-a', 'xp1-a', 'P1-A']) {
      expect(pairOf(name)).toBeNull();
    }
  });
});
