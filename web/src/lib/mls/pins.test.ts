// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { toHex } from './bytes';
import { Pins } from './pins';
import { fingerprint } from './safety';
import { MemoryRecords } from './vault';

const BORIS = 2;
const key = (fill: number) => new Uint8Array(32).fill(fill);
const phone = key(1);
const laptop = key(2);

describe('pinned keys (trust on first use)', () => {
  it('pins a contact silently the first time, and stays quiet while the keys are the same', async () => {
    const pins = new Pins(new MemoryRecords());
    const first = await pins.look(BORIS, [phone]);
    expect(first).toEqual({ fingerprint: toHex(await fingerprint(BORIS, [phone])), keys: 1, verified: false, change: null });
    expect(await pins.look(BORIS, [phone])).toEqual(first);
  });

  it('has nothing to pin for a contact with no device yet, and pins the first one quietly', async () => {
    const pins = new Pins(new MemoryRecords());
    expect(await pins.look(BORIS, [])).toBeNull();
    expect((await pins.look(BORIS, [phone]))?.change).toBeNull();
  });

  it('notes a change when a device comes, and re-pins the new set', async () => {
    const pins = new Pins(new MemoryRecords());
    await pins.look(BORIS, [phone]);
    const changed = await pins.look(BORIS, [laptop, phone]);
    expect(changed).toEqual({
      fingerprint: toHex(await fingerprint(BORIS, [phone, laptop])), keys: 2, verified: false, change: { wasVerified: false, from: 1 },
    });
    // Seen again: the same set, the notice stays until the person acts.
    expect(await pins.look(BORIS, [phone, laptop])).toEqual(changed);
    expect((await pins.dismiss(BORIS))?.change).toBeNull();
    expect((await pins.look(BORIS, [phone, laptop]))?.change).toBeNull();
  });

  it('clears a verified mark when the keys change, and warns louder', async () => {
    const pins = new Pins(new MemoryRecords());
    await pins.look(BORIS, [phone]);
    await pins.verify(BORIS, [phone]);
    expect((await pins.look(BORIS, [phone]))?.verified).toBe(true);
    const replaced = await pins.look(BORIS, [key(3)]);
    expect(replaced).toMatchObject({ verified: false, keys: 1, change: { wasVerified: true, from: 1 } });
    // Another change before the person looked keeps the first one's weight and count.
    expect((await pins.look(BORIS, [key(3), laptop]))?.change).toEqual({ wasVerified: true, from: 1 });
    // Verifying again pins what was compared and ends the warning.
    const again = await pins.verify(BORIS, [key(3), laptop]);
    expect(await pins.look(BORIS, [laptop, key(3)])).toEqual(again);
    expect((await pins.unverify(BORIS))?.verified).toBe(false);
  });

  it('keeps a verified mark given while a look was under way', async () => {
    const pins = new Pins(new MemoryRecords());
    await pins.look(BORIS, [phone]);
    const both = toHex(await fingerprint(BORIS, [phone, laptop]));
    await Promise.all([pins.look(BORIS, [phone, laptop]), pins.verify(BORIS, [phone, laptop])]);
    expect(await pins.look(BORIS, [phone, laptop])).toEqual({ fingerprint: both, keys: 2, verified: true, change: null });
  });
});
