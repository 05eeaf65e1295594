import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, type SettingsSnapshot } from '../../protocol/settings.js';
import { createSseParser } from './sse-parser.js';
import { createSettingsState } from './settings-state.js';

const snap = (revision: number, epoch: number, own = 0): SettingsSnapshot => ({
  revision,
  settings: { global: { ...DEFAULT_SETTINGS.global, verifyMode: 'observe' }, services: { me: { signMode: 'off' } } },
  refresh: { epoch, services: { me: own } },
  revocations: { jtis: [], subjects: [] },
});

describe('SSE parser', () => {
  it('assembles events across chunk boundaries, CRLF, comments and multi-line data', () => {
    const parse = createSseParser();
    expect(parse(': ping\n\nevent: snap')).toEqual([]);
    expect(parse('shot\r\ndata: {"a":\r\ndata: 1}\r\n\r')).toEqual([]);
    expect(parse('\n')).toEqual([{ event: 'snapshot', data: '{"a":\n1}' }]);
    expect(parse('data: x\n\ndata:y\n\n')).toEqual([
      { event: 'message', data: 'x' },
      { event: 'message', data: 'y' },
    ]);
  });
});

describe('settings state', () => {
  it('starts from safe defaults, applies effective settings, and only refreshes when epochs grow mid-connection', () => {
    let refreshes = 0;
    const state = createSettingsState({ service: 'me', onRefreshRequested: () => refreshes++, onRevocations: () => {} });
    expect(state.current()).toEqual({ revision: -1, signMode: 'on', verifyMode: 'enforce', maxTokenTtlSeconds: 86_400 });
    state.apply(snap(4, 3), true);
    const applied = state.current();
    expect(applied).toEqual({ revision: 4, signMode: 'off', verifyMode: 'observe', maxTokenTtlSeconds: 300 });
    expect(Object.isFrozen(applied)).toBe(true);
    expect(refreshes).toBe(0); // first after connect only records
    state.apply(snap(5, 3), false);
    expect(refreshes).toBe(0);
    state.apply(snap(6, 4), false);
    expect(refreshes).toBe(1);
    state.apply(snap(7, 4, 1), false);
    expect(refreshes).toBe(2);
    state.apply(snap(8, 9, 5), true); // reconnect: records only
    expect(refreshes).toBe(2);
    expect(applied.revision).toBe(4); // old object untouched: readers never see a half-applied state
  });

  it('allows tokens as long as the longest TTL the IdP has announced, so lowering the TTL keeps issued tokens valid', () => {
    const state = createSettingsState({ service: 'me', onRefreshRequested: () => {}, onRevocations: () => {} });
    const withTtl = (revision: number, tokenTtlSeconds: number): SettingsSnapshot => ({
      ...snap(revision, 0),
      settings: { global: { ...DEFAULT_SETTINGS.global, tokenTtlSeconds }, services: {} },
    });
    state.apply(withTtl(1, 600), true);
    expect(state.current().maxTokenTtlSeconds).toBe(600);
    state.apply(withTtl(2, 60), false);
    expect(state.current().maxTokenTtlSeconds).toBe(600);
    state.apply(withTtl(3, 900), false);
    expect(state.current().maxTokenTtlSeconds).toBe(900);
  });

  it('applies only increasing revisions: an older snapshot arriving late is ignored (issue 15, item 6)', () => {
    const stale: number[] = [];
    const state = createSettingsState({
      service: 'me',
      onRefreshRequested: () => {},
      onRevocations: () => {},
      onStale: (r) => stale.push(r),
    });
    const modes = (revision: number, verifyMode: 'off' | 'enforce'): SettingsSnapshot => ({
      ...snap(revision, 0),
      settings: { global: { ...DEFAULT_SETTINGS.global, verifyMode }, services: {} },
    });
    state.apply(modes(7, 'off'), true);
    state.apply(modes(6, 'enforce'), false); // the previous trial's settings, delivered late
    expect(state.current()).toMatchObject({ revision: 7, verifyMode: 'off' });
    state.apply(modes(5, 'enforce'), true); // also on a reconnect
    expect(state.current()).toMatchObject({ revision: 7, verifyMode: 'off' });
    expect(stale).toEqual([6, 5]);
    state.apply(modes(7, 'off'), true); // the same revision again (a reconnect) is fine
    state.apply(modes(8, 'enforce'), false);
    expect(state.current()).toMatchObject({ revision: 8, verifyMode: 'enforce' });
  });
});
