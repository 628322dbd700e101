/**
 * Per vendor: check a delivery with lib/webhooks and turn what it says into inbox items, each
 * with the replay-dedup key that identifies it. Pure (no I/O): the router does the claiming
 * and publishing.
 */
import {
  verifyGoCardless,
  verifyGoogleCalendarPush,
  verifyHubSpotV3,
  verifySemble,
  verifyStripe,
} from '../../../../lib/webhooks';
import type { HeaderSource, HubSpotWebhookEvent, WebhookRejection } from '../../../../lib/webhooks';
import type { InboxItem } from '../inbox';

export type WebhookVendor = InboxItem['vendor'];

export interface ReceivedDelivery {
  headers: HeaderSource;
  method: string;
  /** The full URL the vendor called (only HubSpot signs it). */
  uri: string;
  /** The raw body, exactly as received. */
  body: Buffer;
}

export interface InboxEntry {
  /**
   * `<vendor>:<event id>`, safe to store and log: the id the vendor gives one event and keeps on
   * every retry of it, so a second delivery with the key is provably the same event. Null when
   * the vendor sends no such id (Semble): the entry is never de-duplicated, and a repeat costs
   * one re-read that finds nothing to write.
   */
  key: string | null;
  item: InboxItem;
}

export type VendorCheck =
  | {
      ok: true;
      entries: InboxEntry[];
    }
  | { ok: false; reason: WebhookRejection };

export interface VendorSecrets {
  hubspotClientSecret?: string[];
  stripeWebhookSecret?: string[];
  goCardlessWebhookSecret?: string[];
  /** Google channel id → the token we gave the channel. */
  googleChannelTokens?: Record<string, string>;
  sembleWebhookSecret?: string[];
}

export interface VendorEndpoint {
  vendor: WebhookVendor;
  path: string;
  /** False when the vendor's secret is not configured: the endpoint answers 404. */
  enabled: boolean;
  check(delivery: ReceivedDelivery): VendorCheck;
}

const nonEmpty = (secrets: readonly string[] | undefined): string[] =>
  (secrets ?? []).filter((secret) => typeof secret === 'string' && secret !== '');

function idText(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

function hubSpotItem(event: HubSpotWebhookEvent, deliveredAt: number): InboxItem {
  return {
    vendor: 'hubspot',
    eventId: String(event.eventId),
    subscriptionType: event.subscriptionType,
    objectId: idText(event.objectId),
    ...(typeof event.propertyName === 'string' ? { propertyName: event.propertyName } : {}),
    ...(typeof event.propertyValue === 'string' ? { propertyValue: event.propertyValue } : {}),
    occurredAt: typeof event.occurredAt === 'number' ? event.occurredAt : deliveredAt,
    ...(typeof event.changeSource === 'string' ? { changeSource: event.changeSource } : {}),
  };
}

/** The calendar id from Google's resource URI (`…/calendars/<id>/events…`), when present. */
export function calendarIdFromResourceUri(uri: string | undefined): string | undefined {
  if (!uri) return undefined;
  const match = /\/calendars\/([^/?#]+)\/events/.exec(uri);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return undefined;
  }
}

export function vendorEndpoints(secrets: VendorSecrets): VendorEndpoint[] {
  const hubspot = nonEmpty(secrets.hubspotClientSecret);
  const stripe = nonEmpty(secrets.stripeWebhookSecret);
  const goCardless = nonEmpty(secrets.goCardlessWebhookSecret);
  const semble = nonEmpty(secrets.sembleWebhookSecret);
  const channelTokens = new Map(
    Object.entries(secrets.googleChannelTokens ?? {}).filter(([id, token]) => id !== '' && typeof token === 'string' && token !== ''),
  );

  return [
    {
      vendor: 'hubspot',
      path: '/webhooks/hubspot',
      enabled: hubspot.length > 0,
      check(delivery) {
        const verified = verifyHubSpotV3({ ...delivery, clientSecret: hubspot });
        if (!verified.ok) return verified;
        return {
          ok: true,
          entries: verified.events.map((event) => ({
            key: `hubspot:${String(event.eventId)}`,
            item: hubSpotItem(event, verified.timestamp),
          })),
        };
      },
    },
    {
      vendor: 'stripe',
      path: '/webhooks/stripe',
      enabled: stripe.length > 0,
      check(delivery) {
        const verified = verifyStripe({ headers: delivery.headers, body: delivery.body, secret: stripe });
        if (!verified.ok) return verified;
        const object = verified.event.data?.object as { id?: unknown } | undefined;
        return {
          ok: true,
          entries: [
            {
              key: `stripe:${verified.eventId}`,
              item: { vendor: 'stripe', eventId: verified.eventId, type: verified.event.type, objectId: idText(object?.id) },
            },
          ],
        };
      },
    },
    {
      vendor: 'gocardless',
      path: '/webhooks/gocardless',
      enabled: goCardless.length > 0,
      check(delivery) {
        const verified = verifyGoCardless({ headers: delivery.headers, body: delivery.body, secret: goCardless });
        if (!verified.ok) return verified;
        return {
          ok: true,
          entries: verified.payload.events.map((event) => ({
            key: `gocardless:${event.id}`,
            item: {
              vendor: 'gocardless',
              eventId: event.id,
              resourceType: event.resource_type,
              action: event.action,
              links: Object.fromEntries(
                Object.entries(event.links && typeof event.links === 'object' ? event.links : {}).filter(
                  (entry): entry is [string, string] => typeof entry[1] === 'string',
                ),
              ),
            },
          })),
        };
      },
    },
    {
      vendor: 'google-calendar',
      path: '/webhooks/google-calendar',
      enabled: channelTokens.size > 0,
      check(delivery) {
        const verified = verifyGoogleCalendarPush({ headers: delivery.headers, token: (channelId) => channelTokens.get(channelId) });
        if (!verified.ok) return verified;
        const push = verified.notification;
        // `sync` only confirms a new channel: nothing changed, so nothing to hand on.
        if (push.resourceState === 'sync') return { ok: true, entries: [] };
        const calendarId = calendarIdFromResourceUri(push.resourceUri);
        return {
          ok: true,
          entries: [
            {
              key: `google-calendar:${verified.eventId}`,
              item: {
                vendor: 'google-calendar',
                channelId: push.channelId,
                resourceState: push.resourceState,
                resourceId: push.resourceId,
                messageNumber: String(push.messageNumber),
                ...(calendarId === undefined ? {} : { calendarId }),
              },
            },
          ],
        };
      },
    },
    {
      vendor: 'semble',
      path: '/webhooks/semble',
      enabled: semble.length > 0,
      check(delivery) {
        const verified = verifySemble({ headers: delivery.headers, body: delivery.body, secret: semble });
        if (!verified.ok) return verified;
        // No key: Semble sends no event id, and two real edits of one record send identical
        // bytes (`{ eventType, data: { id } }`), so nothing on the wire tells a retry from a new
        // change. Every delivery is handed on; the worker re-reads the patient and the shadow
        // copy makes a repeat a no-op.
        return {
          ok: true,
          entries: [
            {
              key: null,
              item: { vendor: 'semble', eventType: verified.event.eventType, id: verified.event.data.id },
            },
          ],
        };
      },
    },
  ];
}
