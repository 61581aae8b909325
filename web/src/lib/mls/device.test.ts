// @vitest-environment node
// Two browser devices (lib/mls/device.ts, on ts-mls) in one encrypted chat, against a server in
// memory: what a report discloses, the sealed outbox, and forgetting a deleted message.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Message } from '../api';
import { fromBase64, toBase64 } from './bytes';
import { open } from './content';
import { Device } from './device';
import { MemoryRecords } from './vault';

const CHAT = 5;

/** The server's side: who is calling, the chat's messages, key packages, Welcomes. */
const net = vi.hoisted(() => ({
  current: { userId: 0, deviceId: 0 },
  messages: [] as Message[],
  epoch: 0,
  packages: new Map<number, { userId: number; packages: string[] }>(),
  inGroup: new Set<number>(),
  welcomes: [] as { id: number; deviceId: number; chat_id: number; epoch: number; commit_seq: number; welcome: string }[],
  /** The authenticated data of each message framed, in order: the franking tags the server keeps. */
  tags: [] as Uint8Array[],
}));

vi.mock('./content', async (importOriginal) => {
  const real = await importOriginal<typeof import('./content')>();
  return {
    ...real,
    frame: async (content: Parameters<typeof real.frame>[0]) => {
      const framed = await real.frame(content);
      net.tags.push(framed.authenticatedData);
      return framed;
    },
  };
});

vi.mock('../api', async (importOriginal) => {
  const real = await importOriginal<typeof import('../api')>();
  const append = (kind: 'application' | 'commit', clientMsgId: string, data: string): Message => {
    const seq = net.messages.length + 1;
    const message: Message = {
      id: seq, chat_id: CHAT, seq, sender_id: net.current.userId, client_msg_id: clientMsgId, text: '', reply_to: null, mentions: [],
      reactions: [], created_at: seq, edited_at: null, deleted: false, mls: { kind, epoch: net.epoch, data },
    };
    net.messages.push(message);
    return message;
  };
  const status = { available: 20, last_resort: true, low: false };
  return {
    ...real,
    api: {
      sessions: async () => [{ id: net.current.deviceId, device_name: 'test', created_on: '', last_seen_on: '', current: true }],
      publishKeyPackages: async (packages: string[]) => {
        net.packages.set(net.current.deviceId, { userId: net.current.userId, packages });
        return status;
      },
      keyPackageStatus: async () => status,
      mlsGroup: async () => ({
        group_id: toBase64(new TextEncoder().encode(`kolokol:chat:${CHAT}:1`)), generation: 1, epoch: net.epoch, leaves: [],
        pending_add: [...net.packages].filter(([id]) => !net.inGroup.has(id)).map(([id, { userId }]) => ({ user_id: userId, device_id: id })),
        pending_remove: [],
      }),
      claimKeyPackages: async (_chatId: number, devices: number[]) => ({
        key_packages: devices.map((id) => ({ user_id: net.packages.get(id)!.userId, device_id: id, key_package: net.packages.get(id)!.packages.shift()! })),
      }),
      commit: async (_chatId: number, clientMsgId: string, commit: string, welcome: string | null) => {
        net.epoch += 1;
        const message = append('commit', clientMsgId, commit);
        for (const id of net.packages.keys()) {
          if (net.inGroup.has(id)) continue;
          net.inGroup.add(id);
          if (welcome && id !== net.current.deviceId) {
            net.welcomes.push({ id: net.welcomes.length + 1, deviceId: id, chat_id: CHAT, epoch: net.epoch, commit_seq: message.seq, welcome });
          }
        }
        return message;
      },
      welcomes: async () => net.welcomes.filter((w) => w.deviceId === net.current.deviceId),
      forgetWelcome: async (id: number) => {
        net.welcomes = net.welcomes.filter((w) => w.id !== id);
      },
      sendSealed: async (_chatId: number, clientMsgId: string, data: string) =>
        net.messages.find((m) => m.sender_id === net.current.userId && m.client_msg_id === clientMsgId) ?? append('application', clientMsgId, data),
      messages: async (_chatId: number, query: { after?: number; limit?: number }) =>
        net.messages.filter((m) => m.seq > (query.after ?? 0)).slice(0, query.limit ?? 50),
    },
  };
});

/** Runs `job` as the device's session (the fake server's caller). */
async function as<T>(who: { userId: number; deviceId: number }, job: () => Promise<T>): Promise<T> {
  net.current = who;
  return job();
}

/** Anna starts the chat's group and adds Boris's device. */
async function annaAndBoris() {
  const annaVault = new MemoryRecords();
  const annaId = { userId: 1, deviceId: 11 };
  const borisId = { userId: 2, deviceId: 21 };
  const boris = await as(borisId, () => Device.open(2));
  const anna = await as(annaId, () => Device.open(1, annaVault));
  await as(annaId, () => anna.commit(CHAT));
  expect(await as(borisId, () => boris.acceptWelcomes())).toEqual([CHAT]);
  return { anna, annaId, annaVault, boris, borisId };
}

describe('a browser device in an encrypted chat', () => {
  beforeEach(() => {
    net.messages = [];
    net.epoch = 0;
    net.packages.clear();
    net.inGroup.clear();
    net.welcomes = [];
    net.tags = [];
  });

  it('keeps, for each message read and sent, the content bytes a report discloses: they match the franking tag sent', async () => {
    const { anna, annaId, boris, borisId } = await annaAndBoris();
    await as(annaId, () => anna.send(CHAT, { t: 'text', text: 'Реклама казино 🎰' }));
    const [read] = await as(borisId, () => boris.sync(CHAT));
    expect(read.content).toEqual({ t: 'text', text: 'Реклама казино 🎰' });
    const tag = net.tags.at(-1)!;
    // What the server checks: these bytes, under the key inside them, give the tag the sender sent.
    expect(await open(fromBase64(read.disclosure!), tag)).toEqual(read.content);
    const changed = new TextDecoder().decode(fromBase64(read.disclosure!)).replace('казино', 'лото');
    await expect(open(new TextEncoder().encode(changed), tag)).rejects.toThrow();
    // Kept sealed in the vault, for after a reload; the sender keeps the same bytes.
    expect((await boris.history(CHAT)).map((r) => r.disclosure)).toEqual([read.disclosure]);
    expect((await anna.history(CHAT)).map((r) => r.disclosure)).toEqual([read.disclosure]);
  });

  it('queues content sealed, in order, with its client_msg_id fixed across a reload; a repeated id is one message', async () => {
    const { anna, annaId, annaVault, boris, borisId } = await annaAndBoris();
    const first = await anna.queue(CHAT, { t: 'text', text: 'первое' });
    const second = await anna.queue(CHAT, { t: 'react', of: 1, emoji: '👍', on: true });
    const reopened = await as(annaId, () => Device.open(1, annaVault));
    expect(await reopened.queued(CHAT)).toEqual([first, second]);
    // Sent, and again (the answer was lost): the server keeps the first.
    const sent = await as(annaId, () => reopened.send(CHAT, first.content, first.clientMsgId));
    const again = await as(annaId, () => reopened.send(CHAT, first.content, first.clientMsgId));
    expect(again.seq).toBe(sent.seq);
    await reopened.unqueue(CHAT, first);
    expect(await reopened.queued(CHAT)).toEqual([second]);
    const read = await as(borisId, () => boris.sync(CHAT));
    expect(read.map((r) => r.content)).toEqual([{ t: 'text', text: 'первое' }]);
  });

  it('forgets a deleted message and the text of its edits, and keeps the rest', async () => {
    const { anna, annaId, boris, borisId } = await annaAndBoris();
    const original = await as(annaId, () => anna.send(CHAT, { t: 'text', text: 'удалю' }));
    const edit = await as(annaId, () => anna.send(CHAT, { t: 'edit', of: original.seq, text: 'удалю точно' }));
    await as(annaId, () => anna.send(CHAT, { t: 'text', text: 'останется' }));
    await as(borisId, () => boris.sync(CHAT));
    await boris.forget(CHAT, original.seq, [edit.seq]);
    const kept = await boris.history(CHAT);
    expect(kept.map((r) => [r.seq, r.content])).toEqual([
      [edit.seq, { t: 'edit', of: original.seq, text: '' }],
      [edit.seq + 1, { t: 'text', text: 'останется' }],
    ]);
    expect(JSON.stringify(kept)).not.toContain('удалю');
    expect(kept[0].disclosure).toBeUndefined();
  });
});
