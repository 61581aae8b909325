// What MLS costs in the browser with ts-mls (the web client's src/lib/mls), measured in the page:
// the same steps as crates/e2ee/examples/mls-bench.rs. Bundled and run by bench/mls.mjs.
import { equalBytes } from '../src/lib/mls/bytes';
import { frame, open } from '../src/lib/mls/content';
import { Member } from '../src/lib/mls/member';

const TEXT = 'Родительское собрание в четверг в 18:00, кабинет 21. Просьба подтвердить участие и принести заполненные анкеты; вопросы по экскурсии обсудим там же.';

async function measure(members: number, messages: number) {
  const creator = await Member.create({ userId: 1, deviceId: 1 });
  const others: Member[] = [];
  for (let id = 2; id <= members; id++) others.push(await Member.create({ userId: id, deviceId: id }));
  let started = performance.now();
  const packages: Uint8Array[] = [];
  for (const other of others) packages.push(await other.keyPackage(false));
  const made = performance.now() - started;

  const group = await creator.createGroup(new TextEncoder().encode('kolokol:chat:1:1'));
  started = performance.now();
  const added = await group.commit(packages, []);
  group.merge();
  const commit = performance.now() - started;

  const last = others[others.length - 1];
  started = performance.now();
  const joined = await last.join(added.welcome!);
  const join = performance.now() - started;

  started = performance.now();
  const update = await joined.commit([], []);
  joined.merge();
  const updateTime = performance.now() - started;
  started = performance.now();
  await group.process(update.commit);
  const processTime = performance.now() - started;

  let encrypt = 0;
  let decrypt = 0;
  for (let n = 0; n < messages; n++) {
    const framed = await frame({ t: 'text', text: `${TEXT} ${n}` });
    started = performance.now();
    const sealed = await group.encrypt(framed.authenticatedData, framed.bytes);
    encrypt += performance.now() - started;
    started = performance.now();
    const got = await joined.process(sealed);
    if (got.kind !== 'application') throw new Error('expected an application message');
    await open(got.data, got.authenticatedData);
    decrypt += performance.now() - started;
  }
  if (!equalBytes(group.epochAuthenticator, joined.epochAuthenticator)) throw new Error('the members disagree');
  return {
    members, made, commit, commitSize: added.commit.length, welcomeSize: added.welcome!.length, join,
    update: updateTime, process: processTime, encrypt: encrypt / messages, decrypt: decrypt / messages,
  };
}

(window as unknown as { bench: unknown }).bench = measure;
