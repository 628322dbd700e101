/**
 * Webhooks in both directions: per vendor, the `sign…` function emulators use to send what
 * the vendor sends and the `verify…` function a receiver uses (constant time, never throws,
 * a discriminated-union result), the replay-dedup id extraction, and the delivery machinery
 * emulators share.
 */
export * from './verification';
export * from './hubspot';
export * from './stripe';
export * from './gocardless';
export * from './google-calendar';
export * from './semble';
export * from './delivery';
export * from './emulator-admin';
