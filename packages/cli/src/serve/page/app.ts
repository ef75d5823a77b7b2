// The search page of `cbir serve`: plain DOM, no framework (one form, one grid). Bundled by esbuild at build time
// (scripts/build/page-assets.ts) and served from memory.

interface Item {
  id: number;
  path?: string;
  label?: string;
  cluster?: number;
  width?: number;
  height?: number;
  bytes?: number;
  taken?: string;
  make?: string;
  model?: string;
  gps?: boolean;
}
interface Hit extends Item {
  distance: number;
}
interface Copy {
  file: string;
  width: number;
  height: number;
  bytes: number;
  exifFields: number;
  keep: boolean;
  /** The indexed item, when the index holds this file. */
  id?: number;
}
interface DuplicatesPage {
  method: string;
  threshold: number;
  rule: string;
  images: number;
  size: number;
  offset: number;
  groups: { group: number; members: Copy[] }[];
}
interface Info {
  name: string;
  index: { kind: string; metric: string; size: number; dim: number };
  backend: string | null;
  query: string | null;
  labels: string[];
  cameras: { make?: string; model: string }[];
  taken: { first: string; last: string } | null;
  watch: { dir: string; syncing: boolean; syncs: number; last: { at: string; error?: string } | null } | null;
  clusters: { k: number } | null;
  duplicates: { groups: number; method: string } | null;
  limits: { maxUploadBytes: number; maxPixels: number; maxK: number; formats: string };
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const token = new URLSearchParams(location.search).get('token');
const statusEl = $('status');
const message = $<HTMLParagraphElement>('message');
const results = $<HTMLOListElement>('results');
const resultsTitle = $('results-title');
const queryImage = $<HTMLImageElement>('query-image');
const queryCaption = $('query-caption');
const kSelect = $<HTMLSelectElement>('k');
const labelSelect = $<HTMLSelectElement>('label');
const whereInput = $<HTMLInputElement>('where');
const maxDistanceInput = $<HTMLInputElement>('max-distance');
const takenFrom = $<HTMLInputElement>('taken-from');
const takenTo = $<HTMLInputElement>('taken-to');
const cameraSelect = $<HTMLSelectElement>('camera');
const composition = $('composition');
/** The composed query: items the results should be like (besides the query) and unlike, by id. */
const like = new Map<number, string>();
const unlike = new Map<number, string>();
const drop = $('drop');
const fileInput = $<HTMLInputElement>('file');
let info: Info | undefined;
let summary = '';
let lastQuery: (() => Promise<void>) | undefined;
let queryUrl: string | undefined;

class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers });
  } catch {
    throw new ApiError('NETWORK', 'the server does not answer: is cbir serve still running?');
  }
  const body = await res.json().catch(() => undefined);
  if (!res.ok)
    throw new ApiError(
      body?.error?.code ?? String(res.status),
      body?.error?.message ?? `the server answered ${res.status}.`,
    );
  return body as T;
}

function withToken(path: string): string {
  return `${path}${token ? `&token=${encodeURIComponent(token)}` : ''}`;
}

function thumb(id: number, size = 256): string {
  return withToken(`/api/thumb/${id}?size=${size}`);
}

function showMessage(text: string | undefined): void {
  message.hidden = !text;
  message.textContent = text ?? '';
}

function itemName(item: Item): string {
  return item.path?.split(/[\\/]/).pop() ?? `#${item.id}`;
}

function setStatus(extra?: string): void {
  statusEl.textContent = [summary, extra].filter(Boolean).join(' · ');
}

/** A text literal of a where filter. */
const sqlText = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The Filter field, the date range and the camera, as one where filter (each must hold). */
function whereClause(): string {
  const parts: string[] = [];
  if (whereInput.value.trim()) parts.push(`(${whereInput.value.trim()})`);
  if (takenFrom.value) parts.push(`taken >= ${sqlText(takenFrom.value)}`);
  // The whole last day: before the next one.
  if (takenTo.value) {
    const next = new Date(`${takenTo.value}T00:00:00Z`);
    next.setUTCDate(next.getUTCDate() + 1);
    parts.push(`taken < ${sqlText(next.toISOString().slice(0, 10))}`);
  }
  if (cameraSelect.value) {
    const { make, model } = JSON.parse(cameraSelect.value) as { make?: string; model: string };
    parts.push(`model = ${sqlText(model)}${make === undefined ? '' : ` AND make = ${sqlText(make)}`}`);
  }
  return parts.join(' AND ');
}

function searchParams(): string {
  const p = new URLSearchParams({ k: kSelect.value });
  if (labelSelect.value) p.set('label', labelSelect.value);
  const where = whereClause();
  if (where) p.set('where', where);
  if (maxDistanceInput.value !== '') p.set('maxDistance', maxDistanceInput.value);
  if (like.size) p.set('with', [...like.keys()].join(','));
  if (unlike.size) p.set('without', [...unlike.keys()].join(','));
  return p.toString();
}

/** Shows the composed query's examples (each removable), or nothing when there are none. */
function showComposition(): void {
  const chips = (list: Map<number, string>, kind: 'like' | 'unlike') =>
    [...list].map(([id, name]) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = `chip ${kind}`;
      b.textContent = `${kind === 'like' ? '+' : '−'} ${name}`;
      b.title = `remove ${name} from the query`;
      b.setAttribute(
        'aria-label',
        `remove ${name} (${kind === 'like' ? 'more like it' : 'less like it'}) from the query`,
      );
      b.addEventListener('click', () => {
        list.delete(id);
        showComposition();
        if (lastQuery) void run(lastQuery);
      });
      return b;
    });
  const parts = [...chips(like, 'like'), ...chips(unlike, 'unlike')];
  composition.hidden = parts.length === 0;
  if (!parts.length) return composition.replaceChildren();
  const clear = document.createElement('button');
  clear.type = 'button';
  clear.className = 'clear';
  clear.textContent = 'Clear';
  clear.addEventListener('click', () => {
    like.clear();
    unlike.clear();
    showComposition();
    if (lastQuery) void run(lastQuery);
  });
  const title = document.createElement('span');
  title.textContent = 'Query also:';
  composition.replaceChildren(title, ...parts, clear);
}

/** Adds an item to the query's examples (more like it, or less) and runs the query again. */
function compose(item: Item, more: boolean): void {
  (more ? unlike : like).delete(item.id);
  (more ? like : unlike).set(item.id, itemName(item));
  showComposition();
  if (lastQuery) void run(lastQuery);
}

/** What the page knows of an item's file: its pixels, size, when it was taken and with what. */
function facts(item: Item): string {
  const out: string[] = [];
  if (item.width && item.height) out.push(`${item.width} × ${item.height}`);
  if (item.bytes !== undefined) out.push(`${Math.max(1, Math.round(item.bytes / 1024))} KiB`);
  if (item.taken) out.push(`taken ${item.taken.slice(0, 16).replace('T', ' ')}`);
  const camera = [item.make, item.model].filter(Boolean).join(' ');
  if (camera) out.push(camera);
  if (item.gps) out.push('GPS');
  return out.join(', ');
}

/** Fills the grid; each result is a button that searches from it. */
function render(items: (Item | Hit)[], title: string): void {
  resultsTitle.hidden = false;
  resultsTitle.textContent = title;
  results.replaceChildren(
    ...items.map((item, rank) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.id = String(item.id);
      const distance = 'distance' in item ? item.distance.toFixed(3) : '';
      const known = facts(item);
      button.title = `${itemName(item)}${item.label ? ` (${item.label})` : ''}${distance ? `, distance ${distance}` : ''}${known ? `\n${known}` : ''}\nsearch from it`;
      button.setAttribute(
        'aria-label',
        `${'distance' in item ? `result ${rank + 1}, ` : ''}${itemName(item)}${item.label ? `, ${item.label}` : ''}${distance ? `, distance ${distance}` : ''}`,
      );
      const img = document.createElement('img');
      img.src = thumb(item.id);
      img.alt = '';
      img.loading = 'lazy';
      const caption = document.createElement('span');
      caption.className = 'caption';
      const label = document.createElement('span');
      label.className = 'label';
      label.textContent = item.label ?? itemName(item);
      caption.append(label);
      if (distance) {
        const d = document.createElement('span');
        d.className = 'distance';
        d.textContent = distance;
        caption.append(d);
      }
      if (item.taken) {
        const when = document.createElement('span');
        when.className = 'taken';
        when.textContent = item.taken.slice(0, 10);
        caption.append(when);
      }
      button.append(img, caption);
      button.addEventListener('click', () => void similar(item.id, true));
      li.append(button);
      if ('distance' in item) {
        // Compose the query from the results: more like this one, or less.
        const tools = document.createElement('div');
        tools.className = 'tools';
        for (const [more, text, hint] of [
          [true, '+', 'more like this'],
          [false, '−', 'less like this'],
        ] as const) {
          const b = document.createElement('button');
          b.type = 'button';
          b.className = more ? 'more' : 'less';
          b.textContent = text;
          b.title = `${hint}: add ${itemName(item)} to the query`;
          b.setAttribute('aria-label', `${hint}: ${itemName(item)}`);
          b.addEventListener('click', () => compose(item, more));
          tools.append(b);
        }
        li.append(tools);
      }
      return li;
    }),
  );
  document.body.dataset.state = 'results';
}

async function run(query: () => Promise<void>): Promise<void> {
  lastQuery = query;
  delete document.body.dataset.view;
  showMessage(undefined);
  document.body.dataset.state = 'busy';
  try {
    await query();
  } catch (e) {
    showMessage((e as Error).message);
    document.body.dataset.state = 'error';
  }
}

async function upload(file: Blob, fileName: string): Promise<void> {
  if (!info?.query)
    return showMessage(
      'This server cannot embed new images (it was started without --model); click an item to search from it.',
    );
  like.clear();
  unlike.clear();
  showComposition();
  if (queryUrl) URL.revokeObjectURL(queryUrl);
  queryUrl = URL.createObjectURL(file);
  queryImage.src = queryUrl;
  queryImage.hidden = false;
  queryCaption.textContent = `${fileName} (${Math.max(1, Math.round(file.size / 1024))} KB)`;
  history.pushState(null, '', location.search || location.pathname);
  await run(async () => {
    const form = new FormData();
    form.append('image', file, fileName);
    const t0 = performance.now();
    const res = await api<{ results: Hit[]; took: { queuedMs: number; embedMs: number; searchMs: number } }>(
      `/api/search?${searchParams()}`,
      { method: 'POST', body: form },
    );
    render(res.results, `${res.results.length} nearest to ${fileName}`);
    setStatus(
      `query ${Math.round(performance.now() - t0)} ms (embed ${res.took.embedMs.toFixed(0)}, search ${res.took.searchMs.toFixed(1)})`,
    );
  });
}

async function similar(id: number, push: boolean): Promise<void> {
  if (push) history.pushState({ id }, '', `${location.search}#item=${id}`);
  like.clear();
  unlike.clear();
  showComposition();
  await run(async () => {
    const t0 = performance.now();
    const res = await api<{ query: Item; results: Hit[]; took: { searchMs: number } }>(
      `/api/similar/${id}?${searchParams()}`,
    );
    queryImage.src = thumb(id);
    queryImage.hidden = false;
    queryCaption.textContent = `${itemName(res.query)}${res.query.label ? ` (${res.query.label})` : ''}, item ${id}`;
    render(res.results, `${res.results.length} nearest to item ${id}`);
    setStatus(`query ${Math.round(performance.now() - t0)} ms (search ${res.took.searchMs.toFixed(1)})`);
    (results.querySelector('button[data-id]') as HTMLButtonElement | null)?.focus({ preventScroll: true });
  });
}

async function browse(): Promise<void> {
  await run(async () => {
    document.body.dataset.view = 'browse';
    const res = await api<{ size: number; items: Item[] }>(`/api/items?limit=${kSelect.value}`);
    render(res.items, `The collection: the first ${res.items.length} of ${res.size}`);
  });
}

async function showClusters(): Promise<void> {
  await run(async () => {
    const res = await api<{ k: number; clusters: { cluster: number; size: number; sample: number[] }[] }>(
      '/api/clusters',
    );
    const members = await Promise.all(
      res.clusters.map((c) => api<{ items: Item[] }>(`/api/clusters/${c.cluster}?limit=1`)),
    );
    render(
      members.map((m) => m.items[0]).filter(Boolean),
      `${res.k} clusters: one member of each (${res.clusters.map((c) => c.size).join(', ')} items)`,
    );
  });
}

/** Groups of duplicates shown per page. */
const GROUPS_PER_PAGE = 20;

/** One copy in a group: its thumbnail, whether to keep or move it, its size; an indexed copy searches from itself. */
function copyTile(group: number, member: number, copy: Copy): HTMLLIElement {
  const li = document.createElement('li');
  li.className = copy.keep ? 'copy keep' : 'copy';
  const tile = document.createElement(copy.id === undefined ? 'div' : 'button');
  const name = copy.file.split('/').pop()!;
  const size = `${copy.width} × ${copy.height}, ${Math.max(1, Math.round(copy.bytes / 1024))} KiB`;
  tile.title = `${copy.file}: ${size}${copy.exifFields ? `, ${copy.exifFields} EXIF fields` : ''}${copy.keep ? ' (keep)' : ' (move)'}`;
  if (tile instanceof HTMLButtonElement) {
    tile.type = 'button';
    tile.dataset.id = String(copy.id);
    tile.addEventListener('click', () => void similar(copy.id!, true));
  }
  const img = document.createElement('img');
  img.src = withToken(`/api/duplicates/${group}/${member}/thumb?size=256`);
  img.alt = '';
  img.loading = 'lazy';
  const caption = document.createElement('span');
  caption.className = 'caption';
  const verdict = document.createElement('strong');
  verdict.className = 'verdict';
  verdict.textContent = copy.keep ? 'keep' : 'move';
  const file = document.createElement('span');
  file.className = 'label';
  file.textContent = name;
  const facts = document.createElement('span');
  facts.className = 'facts';
  facts.textContent = size;
  caption.append(verdict, file, facts);
  tile.append(img, caption);
  li.append(tile);
  return li;
}

/** The duplicate report under review, a page of groups at a time: each group's copies side by side, the keeper first. */
async function showDuplicates(offset: number, push: boolean): Promise<void> {
  if (push) history.pushState(null, '', `${location.search}#duplicates=${offset}`);
  await run(async () => {
    const res = await api<DuplicatesPage>(`/api/duplicates?offset=${offset}&limit=${GROUPS_PER_PAGE}`);
    resultsTitle.hidden = false;
    const last = Math.min(res.size, offset + res.groups.length);
    resultsTitle.textContent = `${res.size} groups of duplicates among ${res.images.toLocaleString('en')} images (${res.method}): groups ${res.size ? offset + 1 : 0}–${last}; keep the first of each (${res.rule})`;
    const rows = res.groups.map(({ group, members }) => {
      const li = document.createElement('li');
      li.className = 'group';
      li.setAttribute('aria-label', `group ${group + 1}: ${members.length} copies`);
      const copies = document.createElement('ol');
      copies.className = 'copies';
      copies.append(...members.map((m, j) => copyTile(group, j, m)));
      li.append(copies);
      return li;
    });
    const pager = document.createElement('li');
    pager.className = 'pager';
    for (const [text, at] of [
      ['Previous groups', offset - GROUPS_PER_PAGE],
      ['Next groups', offset + GROUPS_PER_PAGE],
    ] as const) {
      if (at < 0 || at >= res.size) continue;
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = text;
      b.addEventListener('click', () => void showDuplicates(Math.max(0, at), true));
      pager.append(b);
    }
    results.replaceChildren(...rows, ...(pager.childElementCount ? [pager] : []));
    document.body.dataset.state = 'results';
  });
}

function firstImage(list: DataTransferItemList | FileList | null | undefined): File | undefined {
  for (const entry of Array.from((list ?? []) as ArrayLike<File | DataTransferItem>)) {
    const file = entry instanceof File ? entry : entry.kind === 'file' ? entry.getAsFile() : null;
    if (file) return file;
  }
  return undefined;
}

/** Arrow keys move between results, row by row as the grid lays them out. */
function onGridKey(e: KeyboardEvent): void {
  const buttons = Array.from(results.querySelectorAll<HTMLButtonElement>('button[data-id]'));
  const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
  if (at < 0) return;
  const top = buttons[0].getBoundingClientRect().top;
  const columns = Math.max(1, buttons.filter((b) => Math.abs(b.getBoundingClientRect().top - top) < 2).length);
  const step = {
    ArrowRight: 1,
    ArrowLeft: -1,
    ArrowDown: columns,
    ArrowUp: -columns,
    Home: -at,
    End: buttons.length - 1 - at,
  }[e.key];
  if (step === undefined) return;
  e.preventDefault();
  buttons[Math.min(buttons.length - 1, Math.max(0, at + step))].focus();
}

function fromLocation(): void {
  const id = /^#item=(\d+)$/.exec(location.hash)?.[1];
  const groups = /^#duplicates=(\d+)$/.exec(location.hash)?.[1];
  if (id !== undefined) void similar(Number(id), false);
  else if (groups !== undefined && info?.duplicates) void showDuplicates(Number(groups), false);
  else void browse();
}

/** With cbir serve --watch: new items are told about, the labels and cameras refreshed, a browsed list reloaded. */
async function follow(): Promise<void> {
  let now: Info;
  try {
    now = await api<Info>('/api/info');
  } catch {
    return; // the status line already says when the server is gone; the next poll tries again
  }
  const before = info!.index.size;
  const changed = now.index.size !== before || now.watch?.syncs !== info!.watch?.syncs;
  if (!changed) return;
  for (const [select, values, option] of [
    [labelSelect, now.labels, (l: string) => new Option(l, l)],
    [
      cameraSelect,
      now.cameras.map((c) => JSON.stringify(c)),
      (c: string) => {
        const { make, model } = JSON.parse(c) as { make?: string; model: string };
        return new Option([make, model].filter(Boolean).join(' '), c);
      },
    ],
  ] as const) {
    const have = new Set(Array.from(select.options, (o) => o.value));
    for (const v of values) if (!have.has(v)) select.append(option(v));
    select.closest('label')!.hidden = select.options.length <= 1;
  }
  info = now;
  showDates(now);
  summary = summaryOf(now);
  const delta = now.index.size - before;
  setStatus(
    `${delta >= 0 ? `${delta} new` : `${-delta} fewer`} items (synced ${now.watch?.last?.at.slice(11, 19) ?? ''} UTC)`,
  );
  document.body.dataset.size = String(now.index.size);
  if (/^$|^#$/.test(location.hash) && document.body.dataset.view === 'browse') void browse();
}

/** The date range fields, when some item records when it was taken, bounded by the first and last dates. */
function showDates(i: Info): void {
  $('taken-filter').hidden = !i.taken;
  if (!i.taken) return;
  for (const input of [takenFrom, takenTo]) {
    input.min = i.taken.first.slice(0, 10);
    input.max = i.taken.last.slice(0, 10);
  }
}

function summaryOf(i: Info): string {
  const { index } = i;
  return `${i.name}: ${index.kind} index, ${index.size.toLocaleString('en')} items, ${index.dim}-d, ${index.metric}${i.backend ? `, tfjs ${i.backend}` : ''}${i.watch ? `, following ${i.watch.dir.split(/[\\/]/).pop()}` : ''}`;
}

async function start(): Promise<void> {
  try {
    info = await api<Info>('/api/info');
  } catch (e) {
    statusEl.textContent = (e as Error).message;
    return showMessage((e as Error).message);
  }
  summary = summaryOf(info);
  document.body.dataset.size = String(info.index.size);
  setStatus(info.query ? `queries: ${info.query}` : 'no query model: search from indexed items');
  if (info.labels.length) {
    $('label-filter').hidden = false;
    labelSelect.append(...info.labels.map((l) => new Option(l, l)));
  }
  if (info.cameras.length) {
    $('camera-filter').hidden = false;
    cameraSelect.append(
      ...info.cameras.map((c) => new Option([c.make, c.model].filter(Boolean).join(' '), JSON.stringify(c))),
    );
  }
  showDates(info);
  if (info.watch) setInterval(() => void follow(), 5000);
  if (info.clusters) {
    const button = $<HTMLButtonElement>('show-clusters');
    button.hidden = false;
    button.textContent = `Clusters (${info.clusters.k})`;
    button.addEventListener('click', () => void showClusters());
  }
  if (info.duplicates) {
    const button = $<HTMLButtonElement>('show-duplicates');
    button.hidden = false;
    button.textContent = `Duplicates (${info.duplicates.groups})`;
    button.addEventListener('click', () => void showDuplicates(0, true));
  }
  if (!info.query)
    $('drop-help').textContent = 'This server was started without --model: click an item to find its neighbours.';
  document.body.dataset.ready = 'true';
  fromLocation();
}

fileInput.addEventListener('change', () => {
  const file = fileInput.files?.[0];
  if (file) void upload(file, file.name);
  fileInput.value = '';
});
drop.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' || e.key === ' ') (e.preventDefault(), fileInput.click());
});
drop.addEventListener('dragover', (e) => (e.preventDefault(), drop.classList.add('over')));
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = firstImage(e.dataTransfer?.files);
  if (file) void upload(file, file.name);
});
document.addEventListener('paste', (e) => {
  const file = firstImage(e.clipboardData?.items);
  if (file) void upload(file, file.name || 'pasted image');
});
results.addEventListener('keydown', onGridKey);
// A changed control re-runs the last search (the filter and the cut-off on Enter or when the field is left).
for (const control of [kSelect, labelSelect, whereInput, maxDistanceInput, takenFrom, takenTo, cameraSelect])
  control.addEventListener('change', () => lastQuery && void run(lastQuery));
// Enter in a field commits it (not every browser fires change on Enter in a search field).
for (const input of [whereInput, maxDistanceInput])
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      input.blur();
    }
  });
window.addEventListener('popstate', fromLocation);
void start();
export {};
