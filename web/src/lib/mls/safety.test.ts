// @vitest-environment node
import { describe, expect, it } from 'vitest';
import vectorsJson from '../../../../tests/mls/vectors.json?raw';
import { epochCode, safetyCode, safetyNumber } from './safety';

const vectors = JSON.parse(vectorsJson);
const bytes = (hex: string) => new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)));
const party = (p: { user_id: number; keys: string[] }) => ({ userId: p.user_id, keys: p.keys.map(bytes) });

describe('safety numbers and epoch codes', () => {
  it('match the vectors Rust and a third implementation agree on', async () => {
    for (const vector of vectors.safety) {
      expect(await safetyNumber(party(vector.a), party(vector.b))).toBe(vector.number);
      expect(await safetyNumber(party(vector.b), party(vector.a))).toBe(vector.number);
      expect(await safetyCode(party(vector.a), party(vector.b))).toBe(vector.code);
    }
    for (const vector of vectors.epoch) expect(epochCode(bytes(vector.authenticator))).toBe(vector.code);
  });

  it('change when a device is added', async () => {
    const anna = { userId: 1, keys: [new Uint8Array(32).fill(1)] };
    const boris = { userId: 2, keys: [new Uint8Array(32).fill(2)] };
    const ghost = { userId: 2, keys: [...boris.keys, new Uint8Array(32).fill(9)] };
    expect(await safetyNumber(anna, ghost)).not.toBe(await safetyNumber(anna, boris));
  });
});
