// megajs (a MEGA client Moccha did not write) against the tests' fake MEGA API: the fake is
// only trusted as far as a real client agrees with it. Usage: node check.mjs GATEWAY
// (accounts as tests/integration/test_mega_fake.py makes them). Prints "megajs: ok" at the end.
import { API, File, Storage } from 'megajs';
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';

const gateway = process.argv[2];
const api = () => new API(false, { gateway });
const login = (email, password, extra = {}) =>
  new Storage({ email, password, gateway, keepalive: false, ...extra }).ready;

const alice = await login('alice@example.test', 'alice-pass');  // a v1 account
const bob = await login('bob@example.test', 'bob-pass');        // a v2 account
await login('carol@example.test', 'carol-pass', { secondFactorCode: '123456' });
await assert.rejects(login('carol@example.test', 'carol-pass'), /EMFAREQUIRED|-26|MFA|Multi/i);
await assert.rejects(login('alice@example.test', 'wrong'), /ENOENT|-9/);

const info = await alice.getAccountInfo();
assert.equal(info.spaceUsed, 0);
assert.ok(info.spaceTotal > 0);

const docs = await alice.mkdir('docs');
const inner = await docs.mkdir('inner');
const payload = randomBytes(1500 * 1024 + 7);
const file = await inner.upload({ name: 'data.bin', size: payload.length }, Buffer.from(payload)).complete;
const empty = await docs.upload({ name: 'empty.txt', size: 0 }, Buffer.alloc(0)).complete;

// A second session sees what the first made, and the bytes come back whole (MAC checked).
const again = await login('alice@example.test', 'alice-pass');
const found = again.root.children.find((n) => n.name === 'docs');
assert.ok(found && found.directory);
const innerAgain = found.children.find((n) => n.name === 'inner');
const dataAgain = innerAgain.children.find((n) => n.name === 'data.bin');
assert.equal(dataAgain.size, payload.length);
assert.ok(payload.equals(await dataAgain.downloadBuffer()));
assert.equal((await found.children.find((n) => n.name === 'empty.txt').downloadBuffer()).length, 0);
assert.equal((await again.getAccountInfo()).spaceUsed, payload.length);

// Move, rename, public links (file and folder), delete to the Rubbish Bin.
await file.moveTo(docs);
await file.rename('renamed.bin');
const link = await file.link();
assert.match(link, /^https:\/\/mega\.nz\/file\/[\w-]{8}#[\w-]{43}$/);
const pub = File.fromURL(link, { api: api() });
await pub.loadAttributes();
assert.equal(pub.name, 'renamed.bin');
assert.ok(payload.equals(await pub.downloadBuffer()));
const folderLink = await docs.link();
const pubFolder = File.fromURL(folderLink, { api: api() });
await pubFolder.loadAttributes();
assert.deepEqual(pubFolder.children.map((c) => c.name).sort(), ['empty.txt', 'inner', 'renamed.bin']);
await empty.delete();
const third = await login('alice@example.test', 'alice-pass');
assert.ok(third.trash.children.some((n) => n.name === 'empty.txt'));
assert.ok(third.root.children.find((n) => n.name === 'docs').children.some((n) => n.name === 'renamed.bin'));

// bob's v2 account is his own.
assert.equal(bob.root.children.length, 0);
console.log('megajs: ok');
