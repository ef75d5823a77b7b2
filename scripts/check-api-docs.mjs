// Checks what TypeDoc's own validation does not (it checks that every export has a summary):
// - every exported class and function of a published package has an @example in its TSDoc (the house style);
// - every optional property of an exported interface or type is documented, and one that holds a number, string,
//   boolean or a choice of literals says its default (`@defaultValue`, or "default" in its text) or what leaving it
//   out means ("omit", "absent", "when set" ...), so an options object reads without the source.
import { readFileSync } from 'node:fs';

const api = JSON.parse(readFileSync(process.argv[2] ?? 'docs/api/api.json', 'utf8'));
const KIND = { 64: 'function', 128: 'class' };
const PROPERTY = 1024;
const noExample = [];
const noDoc = [];
const noDefault = [];
const hasExample = (c) => Boolean(c?.blockTags?.some((t) => t.tag === '@example'));
const text = (c) =>
  [...(c?.summary ?? []), ...(c?.blockTags ?? []).flatMap((t) => [{ text: t.tag }, ...t.content])]
    .map((p) => p.text)
    .join('');
const isScalar = (t) =>
  Boolean(t) &&
  ((t.type === 'intrinsic' && ['number', 'boolean', 'string'].includes(t.name)) ||
    t.type === 'literal' ||
    (t.type === 'union' && t.types.every((u) => isScalar(u) || (u.type === 'intrinsic' && u.name === 'undefined'))));
const SAYS_DEFAULT = /default|omit|absent|when (set|given|there is|it has|true|false)|unset|without it|if not given/i;
(function walk(node, where) {
  for (const child of node.children ?? []) {
    const name = `${where}.${child.name}`;
    if (child.kind === 2) walk(child, child.name);
    else if (KIND[child.kind] && !hasExample(child.comment ?? child.signatures?.[0]?.comment))
      noExample.push(`${where}: ${KIND[child.kind]} ${child.name}`);
    // Error's own `cause` and `stack` come from lib.d.ts, documented there.
    if (
      child.kind === PROPERTY &&
      child.flags?.isOptional &&
      !child.inheritedFrom &&
      !child.sources?.[0]?.fileName?.includes('node_modules')
    ) {
      if (!child.comment?.summary?.length) noDoc.push(name);
      else if (isScalar(child.type) && !SAYS_DEFAULT.test(text(child.comment))) noDefault.push(name);
    }
    if (child.kind !== 2) walk(child, name);
    if (child.type?.declaration) walk(child.type.declaration, name);
  }
})(api, '');
const report = (list, what) => {
  const unique = [...new Set(list)];
  if (unique.length) console.error(`${unique.length} ${what}:\n  ${unique.join('\n  ')}`);
  return unique.length;
};
const failures =
  report(noExample, 'exported classes and functions have no @example') +
  report(noDoc, 'optional properties have no documentation') +
  report(noDefault, 'optional scalar properties do not say their default (or what omitting them means)');
if (failures) process.exit(1);
console.log(
  'every exported class and function has an @example; every optional property is documented, with its default',
);
