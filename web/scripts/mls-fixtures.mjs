// Writes MLS messages made by ts-mls to crates/domain/tests/fixtures/mls/ts-mls-*.bin, with what
// they should read as in ts-mls.json: the server's MLS reader (Rust, kolokol_domain::mls) is
// tested on these bytes and on openmls's (crates/e2ee/tests/group.rs writes those).
// Run from web/: node scripts/mls-fixtures.mjs. The bytes differ on every run (fresh keys).
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  createApplicationMessage,
  createCommit,
  createGroup,
  defaultCapabilities,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  makePskIndex,
} from 'ts-mls';
import { makeKeyPackageRef } from 'ts-mls/keyPackage.js';

const out = fileURLToPath(new URL('../../crates/domain/tests/fixtures/mls/', import.meta.url));
mkdirSync(out, { recursive: true });
const cs = await getCiphersuiteImpl(
  getCiphersuiteFromName('MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519'),
);
const now = BigInt(Math.floor(Date.now() / 1000));
const lifetime = { notBefore: now - 3600n, notAfter: now + 84n * 86400n };
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const facts = {};

function write(name, message) {
  const bytes = encodeMlsMessage({ version: 'mls10', ...message });
  writeFileSync(`${out}ts-mls-${name}.bin`, bytes);
  return bytes;
}

async function device(user, device, lastResort = false) {
  const credential = {
    credentialType: 'basic',
    identity: new TextEncoder().encode(`kolokol:${user}:${device}`),
  };
  const capabilities = defaultCapabilities();
  const extensions = [];
  if (lastResort) {
    capabilities.extensions = [...capabilities.extensions, 10];
    extensions.push({ extensionType: 10, extensionData: new Uint8Array() });
  }
  return generateKeyPackage(credential, capabilities, lifetime, extensions, cs);
}

const anna = await device(1, 11);
const boris = await device(2, 21);
const vera = await device(3, 31);
write('key-package', { wireformat: 'mls_key_package', keyPackage: boris.publicPackage });
const spare = await device(2, 22, true);
write('key-package-last-resort', { wireformat: 'mls_key_package', keyPackage: spare.publicPackage });
facts.key_package = {
  identity: 'kolokol:2:21',
  signature_key: hex(boris.publicPackage.leafNode.signaturePublicKey),
  reference: hex(await makeKeyPackageRef(boris.publicPackage, cs.hash)),
};

const groupId = new TextEncoder().encode('kolokol:chat:5:1');
let annaState = await createGroup(groupId, anna.publicPackage, anna.privatePackage, [], cs);
const add = await createCommit(
  { state: annaState, cipherSuite: cs },
  {
    extraProposals: [
      { proposalType: 'add', add: { keyPackage: boris.publicPackage } },
      { proposalType: 'add', add: { keyPackage: vera.publicPackage } },
    ],
    wireAsPublicMessage: true,
    ratchetTreeExtension: true,
  },
);
annaState = add.newState;
write('commit-add', add.commit);
write('welcome', { wireformat: 'mls_welcome', welcome: add.welcome });
facts.commit_add = { epoch: 0, sender_leaf: 0, adds: ['kolokol:2:21', 'kolokol:3:31'] };

let borisState = await joinGroup(add.welcome, boris.publicPackage, boris.privatePackage, emptyPskIndex, cs);
const tag = new Uint8Array(33);
tag[0] = 1;
tag.fill(7, 1);
const hello = await createApplicationMessage(
  annaState,
  new TextEncoder().encode('Собрание в четверг 🔔'),
  cs,
  tag,
);
annaState = hello.newState;
write('application', { wireformat: 'mls_private_message', privateMessage: hello.privateMessage });
facts.application = { epoch: 1, authenticated_data: hex(tag) };

const update = await createCommit(
  { state: borisState, cipherSuite: cs, pskIndex: makePskIndex(borisState, {}) },
  { extraProposals: [], wireAsPublicMessage: true, ratchetTreeExtension: true },
);
borisState = update.newState;
write('commit-update', update.commit);
facts.commit_update = {
  epoch: 1,
  sender_leaf: 1,
  path_signature_key: hex(boris.publicPackage.leafNode.signaturePublicKey),
};

const remove = await createCommit(
  { state: borisState, cipherSuite: cs },
  {
    extraProposals: [{ proposalType: 'remove', remove: { removed: 2 } }],
    wireAsPublicMessage: true,
    ratchetTreeExtension: true,
  },
);
write('commit-remove', remove.commit);
facts.commit_remove = { epoch: 2, sender_leaf: 1, removes: [2] };

writeFileSync(`${out}ts-mls.json`, `${JSON.stringify(facts, null, 2)}\n`);
console.log(`wrote ts-mls fixtures to ${out}`);
