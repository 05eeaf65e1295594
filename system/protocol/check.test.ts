import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { schemaProblems } from './check.js';

const Schema = Type.Object(
  {
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, mustBe: 'must be an integer 0..65535' })),
    token: Type.String({ minLength: 16, mustBe: 'must be at least 16 characters', secret: true }),
    issuers: Type.Array(Type.Object({ url: Type.String({ pattern: '^https?://', mustBe: 'must be an http(s) URL' }) }), {
      minItems: 1,
      mustBe: 'must be a non-empty array',
    }),
  },
  { additionalProperties: false, what: 'the config', mustBe: 'must be a JSON object' },
);

describe('schemaProblems', () => {
  it('names each wrong field with what it must be and what it got, paths bare and keys quoted', () => {
    expect(schemaProblems(Schema, { port: 70000, token: '0123456789abcdef', issuers: [{ url: 'ftp://x' }] })).toEqual([
      '"port" must be an integer 0..65535 (got 70000)',
      'issuers[0].url must be an http(s) URL (got "ftp://x")',
    ]);
    expect(schemaProblems(Schema, { token: '0123456789abcdef', issuers: [{ url: 'http://x' }] })).toEqual([]);
  });

  it('puts a misspelt field first, says when a field is missing, and never echoes a secret', () => {
    expect(schemaProblems(Schema, { tokn: 'x', token: 'short', issuers: [] })).toEqual([
      'unknown field "tokn" in the config; allowed: port, token, issuers',
      '"token" must be at least 16 characters (value not shown)',
      '"issuers" must be a non-empty array (got [])',
    ]);
    expect(schemaProblems(Schema, { issuers: [{}] })).toEqual([
      '"token" must be at least 16 characters (missing)',
      'issuers[0].url must be an http(s) URL (missing)',
    ]);
    expect(schemaProblems(Schema, [1])).toEqual(['must be a JSON object']);
  });
});
