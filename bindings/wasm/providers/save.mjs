// Internal to the providers: re-addressing a save (bindings/wasm/README.md, "Save format").
//
// The IndexedDB store rebuilds the document in a journal replica and must then continue the
// *saved* replica under its own id and a sequence number that never goes backwards. `Doc.load`
// takes an id but starts the sequence at 0, and `Doc.resume` keeps the save's id; neither takes
// both. So the store rewrites the two fields of the journal's save and resumes that: the frame is
// "DC", format version, kind, then a value (a replica table, then the postcard body `Saved`:
// layout version, replica as an index into the table, seq, last timestamp, state), then a CRC-32.
// `Doc.resume` validates the result like any save (BAD_SAVE if anything is off).

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (IEEE 802.3, as zlib computes it). */
export function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The varint at `at`: [value, next offset]; values fit a JS number (seq < 2^53). */
function readVarint(bytes, at) {
  let value = 0;
  for (let shift = 0, i = at; i < bytes.length && shift < 56; i++, shift += 7) {
    value += (bytes[i] & 0x7f) * 2 ** shift;
    if (bytes[i] < 0x80) return [value, i + 1];
  }
  throw Object.assign(new Error('STORE_CORRUPT: a truncated varint in a save'), { code: 'STORE_CORRUPT' });
}

function varint(n) {
  const out = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n % 128) | 0x80);
  out.push(n);
  return out;
}

const idBytes = (id) => Uint8Array.from(id.replace(/-/g, '').match(/../g), (h) => parseInt(h, 16));
const sameId = (table, i, id) => id.every((b, k) => table[i * 16 + k] === b);

/**
 * The save `bytes` with its replica set to `replicaId` (a UUID string) and its sequence number
 * set to `seq`; everything else (the state, the last timestamp) as it was. The caller checks the
 * result with `Doc.resume`, which refuses anything malformed.
 */
export function readdress(bytes, replicaId, seq) {
  const [n, tableAt] = readVarint(bytes, 4);
  const table = bytes.subarray(tableAt, tableAt + 16 * n);
  const bodyAt = tableAt + 16 * n;
  const id = idBytes(replicaId);
  let index = Array.from({ length: n }, (_, i) => i).find((i) => sameId(table, i, id));
  const extra = index === undefined ? id : new Uint8Array(0);
  if (index === undefined) index = n;
  // Body: layout version (1 byte), replica index, seq, then the rest (last, state) unchanged.
  const [, seqAt] = readVarint(bytes, bodyAt + 1);
  const [, restAt] = readVarint(bytes, seqAt);
  const parts = [
    bytes.subarray(0, 4), varint(n + (extra.length ? 1 : 0)), table, extra,
    [bytes[bodyAt]], varint(index), varint(seq), bytes.subarray(restAt, bytes.length - 4),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0) + 4);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  new DataView(out.buffer).setUint32(at, crc32(out.subarray(0, at)), true);
  return out;
}
