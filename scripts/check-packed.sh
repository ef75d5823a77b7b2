#!/usr/bin/env bash
# CI: the packages as an adopter gets them. Packs cbir-core, cbir-node, cbir (the command) and cbir-browser (pnpm pack turns workspace:
# ranges into versions), installs the tarballs with npm in an empty folder, typechecks the getting-started guide's
# code against the packed types with skipLibCheck false, and runs the guide's commands (npx cbir ...) on a folder of
# generated photos, to a search result. Then builds cbir-browser's Vite recipe (examples/browser-vite) against the
# packed cbir-browser and runs it in Chromium (scripts/check-browser-app.mjs). Usage: bash scripts/check-packed.sh (after pnpm build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
guide="$root/docs/guides/getting-started.md"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/packs" "$work/app"
for p in core node cli browser; do (cd "$root/packages/$p" && npx -y pnpm@9.15.9 pack --pack-destination "$work/packs" >/dev/null); done
for t in "$work"/packs/*.tgz; do
  if tar -xOzf "$t" package/package.json | grep -q '"workspace:'; then echo "check-packed: $(basename "$t") still has a workspace: range"; exit 1; fi
done
cd "$work/app"
npm init -y >/dev/null
block() { awk -v lang="$1" '$0 == "```" lang {f=1; next} f && /^```/ {exit} f' "$guide"; }

echo "== npm install of the packed tarballs (for the guide's: npm install cbir cbir-node)"
npm install --no-audit --no-fund --loglevel=error "$work"/packs/cbir-core-*.tgz "$work"/packs/cbir-node-*.tgz "$work"/packs/cbir-0*.tgz typescript@5.6 @types/node@20 >/dev/null
echo "installed: $(du -sh node_modules | cut -f1) in node_modules"

echo "== cbir-core's subpath exports (io, extend, compute) resolve, and share one registry with the main entry (ESM, CJS)"
kind='{kind:"packed-check",summary:"x",capabilities:{exact:true,removable:true,persistent:true,needsTraining:false},create:(d)=>new main.ExactEuclideanIndex(d),restore:()=>{throw new Error("x")}}'
node -e "const main=require('cbir-core'), ext=require('cbir-core/extend'), io=require('cbir-core/io'), c=require('cbir-core/compute');
if (typeof io.crc32 !== 'function' || typeof c.setSimdThreads !== 'function') process.exit(1);
ext.registerIndexKind($kind); if (!main.indexKinds().includes('packed-check')) { console.error('check-packed: CJS entries do not share modules'); process.exit(1); }"
node --input-type=module -e "const main=await import('cbir-core'), ext=await import('cbir-core/extend'), io=await import('cbir-core/io');
if (typeof io.readNpy !== 'function') process.exit(1);
ext.registerIndexKind($kind); if (!main.indexKinds().includes('packed-check')) { console.error('check-packed: ESM entries do not share modules'); process.exit(1); }"

echo "== the guide's code, typechecked against the packed types"
block ts > app.ts
node -e "const p=require('./package.json'); p.type='module'; require('fs').writeFileSync('package.json', JSON.stringify(p, null, 2))"
# Every declaration file checked (skipLibCheck false), cbir's and its dependencies'. Not under strictNullChecks: tfjs
# 4.22's own declarations fail it (tfjs-layers' configs against their index signatures), with or without cbir.
# tfjs-core's declarations use @types/long's global Long, which "types" must then name.
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext", "strict": false, "skipLibCheck": false, "noEmit": true, "types": ["node", "long"] }, "include": ["app.ts"] }
JSON
npx tsc -p tsconfig.json
# The guide's code itself under strict, as an adopter's project would compile it.
cat > tsconfig.strict.json <<'JSON'
{ "compilerOptions": { "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext", "strict": true, "skipLibCheck": true, "noEmit": true, "types": ["node"] }, "include": ["app.ts"] }
JSON
npx tsc -p tsconfig.strict.json

echo "== photos: 3 classes x 4 generated images (each class its own colour and pattern)"
node --input-type=module -e "
import sharp from 'sharp';
import { mkdirSync } from 'node:fs';
const rect = (x, y, w, h, fill) => '<rect x=\"' + x + '\" y=\"' + y + '\" width=\"' + w + '\" height=\"' + h + '\" fill=\"' + fill + '\"/>';
const classes = {
  red: (i) => rect(0, 0, 96, 80, 'rgb(210,40,40)') + Array.from({ length: 6 }, (_, k) => rect(0, k * 14 + i, 96, 6, 'rgb(250,200,200)')).join(''),
  green: (i) => rect(0, 0, 96, 80, 'rgb(40,170,60)') + Array.from({ length: 12 }, (_, k) => '<circle cx=\"' + ((k % 4) * 24 + 12 + i) + '\" cy=\"' + (Math.floor(k / 4) * 26 + 14) + '\" r=\"7\" fill=\"rgb(20,60,20)\"/>').join(''),
  blue: (i) => '<defs><linearGradient id=\"g\"><stop offset=\"0\" stop-color=\"rgb(30,50,' + (200 + i * 10) + ')\"/><stop offset=\"1\" stop-color=\"rgb(150,190,250)\"/></linearGradient></defs>' + rect(0, 0, 96, 80, 'url(#g)'),
};
for (const [name, draw] of Object.entries(classes)) {
  mkdirSync('photos/' + name, { recursive: true });
  for (let i = 0; i < 4; i++) {
    const svg = '<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"96\" height=\"80\">' + draw(i) + '</svg>';
    await sharp(Buffer.from(svg)).png().toFile('photos/' + name + '/' + i + '.png');
  }
}"

echo "== the guide's commands"
block sh | while IFS= read -r line; do
  case "$line" in
    'npm install cbir cbir-node') continue ;;            # done above, from the tarballs
    'npx cbir serve'*) continue ;;                       # a server: CI checks it elsewhere (scripts/check-serve.mjs)
  esac
  echo "\$ $line"
  out=$(bash -c "$line" < /dev/null)
  echo "$out" | tail -3
  case "$line" in
    *'--version'*) [[ "$out" == "cbir "* ]] || { echo "check-packed: unexpected version output"; exit 1; } ;;
    *'search'*'--json'*)
      echo "$out" | tail -1 | node -e "
        const r = JSON.parse(require('fs').readFileSync(0, 'utf8')).results;
        const labels = r.map((h) => h.label);
        if (r.length !== 5 || labels.slice(0, 4).some((l) => l !== 'red')) { console.error('check-packed: unexpected results', labels); process.exit(1); }
        console.log('check-packed: a search result: ' + labels.join(', '));" ;;
  esac
done
test -s results.png

echo "== cbir-browser in a Vite app (examples/browser-vite) from the packed tarballs: typecheck, build, run in Chromium"
mkdir "$work/browser-app"
(cd "$root/examples/browser-vite" && cp -r package.json index.html tsconfig.json vite.config.ts src "$work/browser-app/")
cd "$work/browser-app"
npm install --no-audit --no-fund --loglevel=error "$work"/packs/cbir-core-*.tgz "$work"/packs/cbir-browser-*.tgz >/dev/null
npx tsc -p tsconfig.json
npx vite build --logLevel warn
node "$root/scripts/check-browser-app.mjs" dist
echo "check-packed: ok"
