/**
 * What keeps patient data out of a cache's keys and unreadable in its values: one secret,
 * from which two keys are derived (HKDF-SHA256), one for a keyed hash of every cache key and
 * tag (HMAC-SHA256), one for sealing every stored value (AES-256-GCM, a random 96-bit IV per
 * value, the hashed key as additional data so a value copied under another key does not open).
 */
import crypto from 'node:crypto';

/** Bytes of secret the cache needs at least (and what a fresh one has). */
export const CACHE_SECRET_BYTES = 32;

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Reads a configured secret: 64+ hex characters or base64 of 32+ bytes. Returns undefined when
 * it is neither (the config schema turns that into "expected …, found …").
 */
export function decodeCacheSecret(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]+$/.test(trimmed) && trimmed.length % 2 === 0) {
    const bytes = Buffer.from(trimmed, 'hex');
    return bytes.length >= CACHE_SECRET_BYTES ? bytes : undefined;
  }
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed, 'base64');
    return bytes.length >= CACHE_SECRET_BYTES ? bytes : undefined;
  }
  return undefined;
}

export interface Sealer {
  /** Keyed hash of a logical key or tag: the only form in which either reaches a store. */
  hash(text: string): string;
  /** Encrypts `plaintext`, bound to `key` (a hashed key). */
  seal(key: string, plaintext: string): string;
  /** Opens what seal() made under the same key; undefined for anything else (a miss, not an error). */
  open(key: string, sealed: string): string | undefined;
}

export function createSealer(secret: Buffer): Sealer {
  if (secret.length < CACHE_SECRET_BYTES) throw new Error(`a cache secret must have at least ${CACHE_SECRET_BYTES} bytes`);
  const derive = (info: string) => Buffer.from(crypto.hkdfSync('sha256', secret, Buffer.alloc(0), info, 32));
  // A KeyObject, made once: an HMAC keyed with a raw Buffer imports the key again on every call.
  const hashKey = crypto.createSecretKey(derive('patient-graph cache key hash v1'));
  const encryptionKey = derive('patient-graph cache value encryption v1');
  return {
    hash(text) {
      // 192 bits: collisions are out of reach, and keys stay short.
      return crypto.createHmac('sha256', hashKey).update(text).digest('base64url').slice(0, 32);
    },
    seal(key, plaintext) {
      const iv = crypto.randomBytes(IV_BYTES);
      const cipher = crypto.createCipheriv('aes-256-gcm', encryptionKey, iv);
      cipher.setAAD(Buffer.from(key));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    open(key, sealed) {
      try {
        const raw = Buffer.from(sealed, 'base64');
        if (raw.length < IV_BYTES + TAG_BYTES) return undefined;
        const decipher = crypto.createDecipheriv('aes-256-gcm', encryptionKey, raw.subarray(0, IV_BYTES));
        decipher.setAAD(Buffer.from(key));
        decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
        return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        // Another secret (rotated, or another deployment's), or a damaged value.
        return undefined;
      }
    },
  };
}
