#!/usr/bin/env node
// Verify a key-signed govchaos report directory with the official Sigstore JavaScript
// libraries (@sigstore/bundle + @sigstore/verify, as installed by `npm install sigstore@5.0.1`),
// without govchaos. Usage:
//
//   node verify-report-sigstore-js.cjs REPORT_DIR PUBLIC_KEY.pem
//
// 1. @sigstore/bundle parses and validates report.sigstore.json (a v0.3 bundle, DSSE envelope).
// 2. @sigstore/verify checks the DSSE signature with the auditor's public key: an empty trusted
//    root (no Fulcio, no Rekor, no TSA), transparency-log and timestamp thresholds 0 (key-signed
//    bundles carry neither). The bundle's key hint is ignored: the key is the one given here.
// 3. Only then is the signed in-toto Statement read: every subject file must have its signed
//    sha256, and the directory must hold no file that was not signed.
// Exit 0 valid, 1 invalid (the reason on stderr), 2 usage.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { bundleFromJSON } = require("@sigstore/bundle");
const { Verifier, toSignedEntity, toTrustMaterial } = require("@sigstore/verify");

const BUNDLE = "report.sigstore.json";

function fail(message) {
  process.stderr.write(`INVALID: ${message}\n`);
  process.exit(1);
}

function listFiles(root, prefix = "") {
  const out = [];
  for (const entry of fs.readdirSync(path.join(root, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isSymbolicLink()) fail(`${rel}: symbolic links are never signed`);
    if (entry.isDirectory()) out.push(...listFiles(root, rel));
    else if (entry.isFile() && rel !== BUNDLE) out.push(rel);
  }
  return out;
}

function main() {
  const [dir, keyFile] = process.argv.slice(2);
  if (!dir || !keyFile) {
    process.stderr.write("usage: node verify-report-sigstore-js.cjs REPORT_DIR PUBLIC_KEY.pem\n");
    process.exit(2);
  }
  const key = crypto.createPublicKey(fs.readFileSync(keyFile));
  let bundle;
  try {
    bundle = bundleFromJSON(JSON.parse(fs.readFileSync(path.join(dir, BUNDLE), "utf8")));
  } catch (err) {
    fail(`${BUNDLE} is not a valid Sigstore bundle: ${err.message}`);
  }
  const emptyRoot = {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [],
  };
  // Whatever the (unauthenticated) hint says, verify with the auditor's key only.
  const trust = toTrustMaterial(emptyRoot, () => ({ publicKey: key, validFor: () => true }));
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  try {
    verifier.verify(toSignedEntity(bundle));
  } catch (err) {
    fail(`signature: ${err.code || ""} ${err.message}`.trim());
  }
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== "application/vnd.in-toto+json") fail(`payload type ${envelope.payloadType}`);
  const statement = JSON.parse(Buffer.from(envelope.payload).toString("utf8"));
  if (statement._type !== "https://in-toto.io/Statement/v1") fail("not an in-toto Statement v1");
  const signed = new Map();
  for (const subject of statement.subject) {
    const name = subject.name;
    if (name.startsWith("/") || name.split("/").includes("..")) fail(`unsafe subject name ${name}`);
    signed.set(name, subject.digest.sha256);
  }
  for (const [name, digest] of signed) {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) fail(`${name}: signed but missing`);
    const actual = crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    if (actual !== digest) fail(`${name}: contents differ from what was signed (sha256)`);
  }
  for (const name of listFiles(dir)) {
    if (!signed.has(name)) fail(`${name}: present but not signed`);
  }
  const predicate = statement.predicate || {};
  process.stdout.write(`VALID: signature and ${signed.size} files verified; signed verdict: ` +
    `${predicate.verdict}; predicate type ${statement.predicateType}\n`);
}

main();
