// Checks the agent's OpenAPI document with a real OpenAPI 3.1 validator, then each recorded
// reply of a scripted session against the document's schema for its route and status.
//   node check.mjs DOC.json REPLIES.json     (REPLIES: [{method, path, status, body}])
// Prints what failed and exits 1, or prints a summary and exits 0.
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const [docFile, repliesFile] = process.argv.slice(2);
const doc = JSON.parse(readFileSync(docFile, "utf8"));
const replies = JSON.parse(readFileSync(repliesFile, "utf8"));
const failures = [];

const validator = new Validator();
const result = await validator.validate(structuredClone(doc));
if (!result.valid) failures.push({ what: "the document is not valid OpenAPI", errors: result.errors });
if (validator.version !== "3.1") failures.push({ what: `OpenAPI ${validator.version}, not 3.1` });

// The document's own references (#/components/...), resolved in place.
function resolve(node) {
  if (Array.isArray(node)) return node.map(resolve);
  if (node && typeof node === "object") {
    if (typeof node.$ref === "string" && node.$ref.startsWith("#/")) {
      let target = doc;
      for (const part of node.$ref.slice(2).split("/")) target = target[part.replace(/~1/g, "/").replace(/~0/g, "~")];
      return resolve(target);
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolve(v)]));
  }
  return node;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
let checked = 0;
for (const r of replies) {
  const op = doc.paths?.[r.path]?.[r.method.toLowerCase()];
  if (!op) { failures.push({ what: `${r.method} ${r.path} is not in the document` }); continue; }
  const response = op.responses?.[String(r.status)];
  if (!response) { failures.push({ what: `${r.method} ${r.path} answered ${r.status}, which it does not document` }); continue; }
  const schema = resolve(response)?.content?.["application/json"]?.schema;
  if (!schema) continue;  // not a JSON reply
  const validate = ajv.compile(schema);
  if (!validate(r.body))
    failures.push({ what: `${r.method} ${r.path} ${r.status}: the reply does not match its schema`, errors: validate.errors, body: r.body });
  checked++;
}
if (failures.length) {
  console.log(JSON.stringify(failures, null, 1));
  process.exit(1);
}
console.log(`valid OpenAPI ${validator.version}; ${checked} replies match their schemas`);
