import { crc32 } from 'cbir-core/io';

// A header edited freely, as a hostile writer would.
export type Header = Record<string, any>;

/**
 * `bytes` (a framed cbir file: magic, version, header length, JSON header, body, CRC-32) with its JSON header edited
 * and its CRC-32 made right again, so that only the values are hostile. The string `"__BIG__"` in the edited header is
 * written as 9007199254740993 (2^53 + 1, which JSON.stringify cannot write).
 */
export function withHeader(bytes: Uint8Array, edit: (h: Header) => void): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(12, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + length)));
  edit(header);
  const json = new TextEncoder().encode(JSON.stringify(header).replace('"__BIG__"', '9007199254740993'));
  const body = bytes.subarray(16 + length, bytes.length - 4);
  const out = new Uint8Array(16 + json.length + body.length + 4);
  out.set(bytes.subarray(0, 16));
  new DataView(out.buffer).setUint32(12, json.length, true);
  out.set(json, 16);
  out.set(body, 16 + json.length);
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}
