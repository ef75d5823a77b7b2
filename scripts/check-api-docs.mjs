// Fails when an exported class or function of a published package has no @example in its TSDoc (TypeDoc's own
// validation checks that every export has a summary; this adds the example the house style asks for).
import { readFileSync } from 'node:fs';

const api = JSON.parse(readFileSync(process.argv[2] ?? 'docs/api/api.json', 'utf8'));
const KIND = { 64: 'function', 128: 'class' };
const missing = [];
const hasExample = (c) => Boolean(c?.blockTags?.some((t) => t.tag === '@example'));
(function walk(node, pkg) {
  for (const child of node.children ?? []) {
    if (child.kind === 2) walk(child, child.name);
    else if (KIND[child.kind] && !hasExample(child.comment ?? child.signatures?.[0]?.comment)) missing.push(`${pkg}: ${KIND[child.kind]} ${child.name}`);
  }
})(api, '');
const unique = [...new Set(missing)];
if (unique.length) {
  console.error(`${unique.length} exported classes and functions have no @example:\n  ${unique.join('\n  ')}`);
  process.exit(1);
}
console.log('every exported class and function has an @example');
