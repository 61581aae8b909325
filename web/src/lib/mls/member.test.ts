// @vitest-environment node
// Devices in one group in memory (no server), on ts-mls: the browser's side of what
// crates/e2ee/tests/group.rs checks for openmls.
import { describe, expect, it } from 'vitest';
import { equalBytes } from './bytes';
import { frame, open } from './content';
import { type Group, Member } from './member';

const groupId = new TextEncoder().encode('kolokol:chat:5:1');

async function annaAndBoris(): Promise<{ anna: Member; annas: Group; boris: Member; boriss: Group }> {
  const anna = await Member.create({ userId: 1, deviceId: 11 });
  const boris = await Member.create({ userId: 2, deviceId: 21 });
  const annas = await anna.createGroup(groupId);
  const sent = await annas.commit([await boris.keyPackage(false)], []);
  annas.merge();
  const boriss = await boris.join(sent.welcome!);
  return { anna, annas, boris, boriss };
}

async function say(from: Group, to: Group, text: string): Promise<string> {
  const framed = await frame({ t: 'text', text });
  const sent = await from.encrypt(framed.authenticatedData, framed.bytes);
  const got = await to.process(sent);
  if (got.kind !== 'application') throw new Error('expected an application message');
  const content = await open(got.data, got.authenticatedData);
  if (content.t !== 'text') throw new Error('expected text');
  return content.text;
}

describe('MLS members (ts-mls)', () => {
  it('talk both ways and agree on the epoch', async () => {
    const { annas, boriss } = await annaAndBoris();
    expect(annas.epoch).toBe(1n);
    expect(boriss.ownLeaf).toBe(1);
    expect(equalBytes(annas.epochAuthenticator, boriss.epochAuthenticator)).toBe(true);
    expect(await say(annas, boriss, 'Собрание в четверг 🔔')).toBe('Собрание в четверг 🔔');
    expect(await say(boriss, annas, 'ok')).toBe('ok');
    // A key update is a full commit without proposals.
    const update = await boriss.commit([], []);
    expect(update.welcome).toBeNull();
    boriss.merge();
    expect(await annas.process(update.commit)).toEqual({ kind: 'commit', removedMe: false });
    expect(annas.epoch).toBe(2n);
    expect(equalBytes(annas.epochAuthenticator, boriss.epochAuthenticator)).toBe(true);
  });

  it('a removed member cannot read what follows', async () => {
    const { annas, boris, boriss } = await annaAndBoris();
    void boris;
    const vera = await Member.create({ userId: 3, deviceId: 31 });
    const add = await annas.commit([await vera.keyPackage(false)], []);
    annas.merge();
    const veras = await vera.join(add.welcome!);
    await boriss.process(add.commit);
    const removal = await boriss.commit([], [veras.ownLeaf]);
    boriss.merge();
    await annas.process(removal.commit);
    expect(await veras.process(removal.commit)).toEqual({ kind: 'commit', removedMe: true });
    const framed = await frame({ t: 'text', text: 'after Vera left' });
    const secret = await annas.encrypt(framed.authenticatedData, framed.bytes);
    await expect(veras.process(secret)).rejects.toThrow();
    expect((await boriss.process(secret)).kind).toBe('application');
  });

  it('refuses a replay and a changed byte, and goes on', async () => {
    const { annas, boriss } = await annaAndBoris();
    const framed = await frame({ t: 'text', text: 'one' });
    const once = await annas.encrypt(framed.authenticatedData, framed.bytes);
    await boriss.process(once);
    await expect(boriss.process(once)).rejects.toThrow();
    const second = await annas.encrypt(framed.authenticatedData, framed.bytes);
    const flipped = second.slice();
    flipped[flipped.length - 1] ^= 1;
    await expect(boriss.process(flipped)).rejects.toThrow();
    expect(await say(annas, boriss, 'three')).toBe('three');
  });

  it('the loser of two commits at one epoch clears its own and follows the winner', async () => {
    const { annas, boriss } = await annaAndBoris();
    const annasUpdate = await annas.commit([], []);
    await boriss.commit([], []);
    annas.merge();
    boriss.clear();
    await boriss.process(annasUpdate.commit);
    const retry = await boriss.commit([], []);
    boriss.merge();
    await annas.process(retry.commit);
    expect(annas.epoch).toBe(3n);
    expect(equalBytes(annas.epochAuthenticator, boriss.epochAuthenticator)).toBe(true);
  });
});

describe('message content', () => {
  it('opens only with its own franking tag', async () => {
    const framed = await frame({ t: 'text', text: 'Привет', reply_to: 17 });
    expect(framed.authenticatedData.length).toBe(33);
    expect(await open(framed.bytes, framed.authenticatedData)).toEqual({ t: 'text', text: 'Привет', reply_to: 17 });
    const other = await frame({ t: 'text', text: 'Привет' });
    await expect(open(framed.bytes, other.authenticatedData)).rejects.toThrow('franking');
    await expect(open(new TextEncoder().encode('{}'), framed.authenticatedData)).rejects.toThrow();
    for (const content of [{ t: 'edit', of: 17, text: 'Собрание в пятницу' }, { t: 'react', of: 17, emoji: '👍', on: true }] as const) {
      const sealed = await frame(content);
      expect(await open(sealed.bytes, sealed.authenticatedData)).toEqual(content);
    }
  });

  it('reads what kolokol-e2ee (Rust) frames', async () => {
    // Framed by crates/e2ee's content::frame (the key and text are the vector's).
    const bytes = new TextEncoder().encode('{"v":1,"fk":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8","t":"text","text":"Собрание"}');
    const key = new Uint8Array(32).map((_, i) => i);
    const hmac = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const tag = new Uint8Array(await crypto.subtle.sign('HMAC', hmac, bytes));
    const authenticatedData = new Uint8Array([1, ...tag]);
    expect(await open(bytes, authenticatedData)).toEqual({ t: 'text', text: 'Собрание' });
  });
});

describe('stored state', () => {
  it('a member and its groups come back from their bytes and carry on', async () => {
    const { annas, boris, boriss } = await annaAndBoris();
    // A key package made before the member was stored is joined with after it came back.
    const vera = await Member.create({ userId: 3, deviceId: 31 });
    const package_ = await vera.keyPackage(false);
    const veraAgain = Member.restore(vera.export());
    expect(veraAgain.signatureKey).toEqual(vera.signatureKey);
    const add = await annas.commit([package_], []);
    annas.merge();
    const veras = await veraAgain.join(add.welcome!);

    // Boris's group, stored and restored between two epochs, follows the commit and reads on.
    const borisAgain = Member.restore(boris.export());
    expect(borisAgain.identity).toEqual(boris.identity);
    const restored = (await import('./member')).Group.restore(boriss.export());
    await restored.process(add.commit);
    expect(await say(annas, restored, 'после перезагрузки')).toBe('после перезагрузки');
    expect(await say(veras, restored, 'и Вера тоже')).toBe('и Вера тоже');
    expect(equalBytes(restored.epochAuthenticator, veras.epochAuthenticator)).toBe(true);
  });

  it('a commit kept while it waited is taken once it is known to have landed', async () => {
    const { annas, boriss } = await annaAndBoris();
    const update = await boriss.commit([], []);
    const waiting = boriss.exportPending()!;
    boriss.clear();
    // The page went away before the answer; the commit landed, and the others moved on with it.
    await annas.process(update.commit);
    const { Group } = await import('./member');
    const reloaded = Group.restore(boriss.export());
    expect(reloaded.epoch).toBe(1n);
    reloaded.adopt(waiting);
    expect(reloaded.epoch).toBe(2n);
    expect(await say(annas, reloaded, 'дошло')).toBe('дошло');
  });
});
