import { resolve } from 'node:path';
import type { Retriever } from 'cbir-core';
import { loadRetriever, openLanceRetriever, saveRetriever, type LanceIndex } from 'cbir-node';
import { UsageError } from './usage.js';

/** The flags that name an index: a file, or a LanceDB table. */
export const INDEX_FLAGS = {
  index: { type: 'string' },
  engine: { type: 'string' },
  uri: { type: 'string' },
  table: { type: 'string' },
  'storage-option': { type: 'string', multiple: true },
} as const;

/** The lines of {@link INDEX_FLAGS} in a command's --help. */
export const INDEX_MEANINGS = {
  index: ['FILE', "the index file (cbir index), or the notebook's pickled lsh.p"],
  engine: ['lancedb', 'a LanceDB table instead of an index file (with --uri)'],
  uri: ['DIR', 'the LanceDB database: a folder, or an s3:// or gs:// URI'],
  table: ['NAME', 'the LanceDB table (default: cbir)'],
  'storage-option': ['KEY=VALUE', "passed to LanceDB's object store (repeatable; AWS_* variables are read too)"],
} as const;

export const INDEX_USAGE = '--index FILE | --engine lancedb --uri DIR [--table cbir]';

/**
 * An opened index, as a Retriever (with what made its vectors and its re-ranker), and how to write it back (files are
 * rewritten atomically; LanceDB writes as it goes).
 */
export interface OpenedIndex {
  retriever: Retriever;
  /** How messages name it. */
  name: string;
  /** Persists changes: rewrites the file, or saves the provenance beside a LanceDB table. */
  save(): Promise<void>;
  /** Closes the index's connections and frees the retriever's query embedder. */
  close(): Promise<void>;
}

/** Checks the flags that name an index and says what is missing; no file is opened. */
export function checkIndexArgs(values: {
  index?: string;
  engine?: string;
  uri?: string;
  table?: string;
  'storage-option'?: string[];
}): void {
  if (values.engine !== undefined && values.engine !== 'lancedb' && values.engine !== 'file')
    throw new UsageError(`--engine must be lancedb (or file, the default), got "${values.engine}".`);
  const lance = values.engine === 'lancedb';
  if (lance && !values.uri)
    throw new UsageError('--engine lancedb needs --uri DIR (the LanceDB database: a folder, or an s3:// / gs:// URI).');
  if (lance && values.index)
    throw new UsageError('--index names an index file; with --engine lancedb name the database with --uri instead.');
  if (!lance && (values.uri || values.table || values['storage-option']?.length))
    throw new UsageError('--uri, --table and --storage-option go with --engine lancedb.');
  if (!lance && !values.index) throw new UsageError(`an index is required: ${INDEX_USAGE}.`);
}

/**
 * `--storage-option key=value` flags as LanceDB's storage options (`endpoint=http://127.0.0.1:9000`,
 * `allow_http=true`, keys, region). Their values are never printed: an error names the key only.
 */
export function storageOptionsArg(given: readonly string[] | undefined): Record<string, string> | undefined {
  if (!given?.length) return undefined;
  const out: Record<string, string> = {};
  for (const entry of given) {
    const at = entry.indexOf('=');
    const key = at > 0 ? entry.slice(0, at).trim() : '';
    if (!/^[A-Za-z0-9_.-]+$/.test(key))
      throw new UsageError(
        `--storage-option takes KEY=VALUE (e.g. endpoint=http://127.0.0.1:9000), got an entry with ${key ? `key "${key}"` : 'no key'}.`,
      );
    out[key] = entry.slice(at + 1);
  }
  return out;
}

/** Opens the index the flags name (checked with {@link checkIndexArgs} first). */
export async function openIndexArg(values: {
  index?: string;
  engine?: string;
  uri?: string;
  table?: string;
  'storage-option'?: string[];
}): Promise<OpenedIndex> {
  checkIndexArgs(values);
  if (values.engine === 'lancedb') {
    const retriever = await openLanceRetriever(values.uri!, {
      table: values.table,
      storageOptions: storageOptionsArg(values['storage-option']),
    });
    return {
      retriever,
      name: retriever.source,
      save: () => retriever.save(),
      close: async () => {
        retriever.dispose();
        await (retriever.index as LanceIndex).close();
      },
    };
  }
  const path = resolve(values.index!);
  const retriever = await loadRetriever(path, values.index!);
  return {
    retriever,
    name: values.index!,
    save: () => saveRetriever(retriever, path),
    close: async () => retriever.dispose(),
  };
}
