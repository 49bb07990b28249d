// megajs as the tests' second opinion on what Moccha did in a (fake) MEGA account.
// Usage: node client.mjs GATEWAY EMAIL PASSWORD COMMAND [ARGS]; prints one JSON line.
//   tree                    every node: {"path": {"type": "file"|"dir", "size"}}
//   get PATH OUT            downloads PATH (MAC checked by megajs) into the file OUT
//   put LOCAL DIR           uploads LOCAL into the folder DIR ("/" the root)
//   open LINK OUT           downloads a public file link into OUT (no login: EMAIL unused)
//   openfolder LINK         a public folder link's names: {"path": size or "dir"}
//   evil PARENT CHILD       makes /PARENT/CHILD (any name, ".." too) holding x.txt, and
//                           prints {"link"} to PARENT shared by link
import { File, Storage } from 'megajs';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

const [gateway, email, password, command, ...args] = process.argv.slice(2);

function walk(node, prefix, out) {
  for (const c of node.children || []) {
    const path = prefix + '/' + c.name;
    out[path] = c.directory ? { type: 'dir' } : { type: 'file', size: c.size };
    if (c.directory) walk(c, path, out);
  }
  return out;
}

function at(storage, path) {
  let node = storage.root;
  for (const part of path.split('/').filter(Boolean)) {
    if (part === 'Rubbish' && node === storage.root) { node = storage.trash; continue; }
    node = (node.children || []).find((c) => c.name === part);
    if (!node) throw new Error('no ' + path);
  }
  return node;
}

if (command === 'open' || command === 'openfolder') {
  const { API } = await import('megajs');
  const file = File.fromURL(args[0], { api: new API(false, { gateway }) });
  await file.loadAttributes();
  if (command === 'open') {
    writeFileSync(args[1], await file.downloadBuffer());
    console.log(JSON.stringify({ name: file.name, size: file.size }));
  } else {
    console.log(JSON.stringify({ name: file.name, tree: walk(file, '', {}) }));
  }
  process.exit(0);
}

const storage = await new Storage({ email, password, gateway, keepalive: false }).ready;
if (command === 'tree') {
  const out = walk(storage.root, '', {});
  for (const [k, v] of Object.entries(walk(storage.trash, '/Rubbish', {}))) out[k] = v;
  console.log(JSON.stringify(out));
} else if (command === 'get') {
  writeFileSync(args[1], await at(storage, args[0]).downloadBuffer());
  console.log(JSON.stringify({ ok: true }));
} else if (command === 'put') {
  const data = readFileSync(args[0]);
  await at(storage, args[1]).upload({ name: basename(args[0]), size: data.length }, data).complete;
  console.log(JSON.stringify({ ok: true }));
} else if (command === 'evil') {
  const parent = await storage.mkdir(args[0]);
  const child = await parent.mkdir(args[1]);
  await child.upload({ name: 'x.txt', size: 3 }, Buffer.from('bad')).complete;
  console.log(JSON.stringify({ link: await parent.link() }));
} else {
  throw new Error('unknown command ' + command);
}
