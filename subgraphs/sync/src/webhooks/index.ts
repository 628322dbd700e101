/**
 * Webhook ingress of the sync service: the express router that verifies, de-duplicates and
 * hands vendor notifications on to the sync-inbox topic, and the replay-dedup stores.
 */
export { createWebhookRouter, inboxEventType } from './router';
export type { WebhookRouterOptions } from './router';
export { createMemoryWebhookDedupe, createRedisWebhookDedupe, DEFAULT_DEDUPE_TTL_MS, PENDING_TTL_MS } from './dedupe';
export type { ClaimResult, MemoryWebhookDedupeOptions, RedisWebhookDedupeOptions, WebhookDedupe } from './dedupe';
export { calendarIdFromResourceUri } from './vendors';
export type { VendorSecrets, WebhookVendor } from './vendors';
