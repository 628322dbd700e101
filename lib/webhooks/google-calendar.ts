/**
 * Google Calendar push notifications: a bodiless POST with no signature. Authenticity rests on
 * the channel token we chose when creating the watch channel, echoed in X-Goog-Channel-Token;
 * the other X-Goog-* headers say which channel, which resource, what happened (sync, exists,
 * not_exists) and a per-channel message number. Channel id + message number is the
 * replay-dedup key. A notification only says "something changed": the receiver lists the
 * calendar with its sync token to learn what.
 */
import { constantTimeEqual, readHeader } from './verification';
import type { HeaderSource, WebhookFailure } from './verification';

export const GOOGLE_CHANNEL_ID_HEADER = 'X-Goog-Channel-ID';
export const GOOGLE_CHANNEL_TOKEN_HEADER = 'X-Goog-Channel-Token';
export const GOOGLE_CHANNEL_EXPIRATION_HEADER = 'X-Goog-Channel-Expiration';
export const GOOGLE_MESSAGE_NUMBER_HEADER = 'X-Goog-Message-Number';
export const GOOGLE_RESOURCE_ID_HEADER = 'X-Goog-Resource-ID';
export const GOOGLE_RESOURCE_STATE_HEADER = 'X-Goog-Resource-State';
export const GOOGLE_RESOURCE_URI_HEADER = 'X-Goog-Resource-URI';

export const GOOGLE_RESOURCE_STATES = ['sync', 'exists', 'not_exists'] as const;
export type GoogleResourceState = (typeof GOOGLE_RESOURCE_STATES)[number];

export interface GoogleCalendarPush {
  channelId: string;
  /** `sync` is the first message on a new channel; `exists` a change; `not_exists` a deletion. */
  resourceState: GoogleResourceState;
  /** Opaque id of the watched resource (the calendar's event collection). */
  resourceId: string;
  /** Version-specific URI of the watched resource, when sent. */
  resourceUri?: string;
  /** Increases per channel; `sync` is 1. */
  messageNumber: number;
  /** When the channel expires (an RFC 1123 date), when sent. */
  channelExpiration?: string;
}

export interface GoogleCalendarSignInput extends GoogleCalendarPush {
  /** The token given when the channel was created; absent when the channel has none. */
  token?: string;
}

/** The headers Google sends with a push notification (there is no body and no signature). */
export function signGoogleCalendarPush(input: GoogleCalendarSignInput): Record<string, string> {
  return {
    [GOOGLE_CHANNEL_ID_HEADER]: input.channelId,
    ...(input.token !== undefined ? { [GOOGLE_CHANNEL_TOKEN_HEADER]: input.token } : {}),
    ...(input.channelExpiration !== undefined ? { [GOOGLE_CHANNEL_EXPIRATION_HEADER]: input.channelExpiration } : {}),
    [GOOGLE_MESSAGE_NUMBER_HEADER]: String(input.messageNumber),
    [GOOGLE_RESOURCE_ID_HEADER]: input.resourceId,
    [GOOGLE_RESOURCE_STATE_HEADER]: input.resourceState,
    ...(input.resourceUri !== undefined ? { [GOOGLE_RESOURCE_URI_HEADER]: input.resourceUri } : {}),
  };
}

export interface GoogleCalendarVerifyInput {
  headers: HeaderSource;
  /**
   * The token of the channel: one string when there is a single channel, or a lookup by
   * channel id (undefined for a channel we do not know).
   */
  token: string | ((channelId: string) => string | undefined);
}

export type GoogleCalendarVerification =
  | { ok: true; notification: GoogleCalendarPush; eventId: string }
  | WebhookFailure<'MISSING_SIGNATURE' | 'BAD_SIGNATURE' | 'MALFORMED_NOTIFICATION' | 'UNKNOWN_CHANNEL'>;

function isResourceState(value: string): value is GoogleResourceState {
  return (GOOGLE_RESOURCE_STATES as readonly string[]).includes(value);
}

export function verifyGoogleCalendarPush(input: GoogleCalendarVerifyInput): GoogleCalendarVerification {
  const channelId = readHeader(input.headers, GOOGLE_CHANNEL_ID_HEADER);
  if (channelId === undefined) return { ok: false, reason: 'MALFORMED_NOTIFICATION' };
  const expected = typeof input.token === 'function' ? input.token(channelId) : input.token;
  if (typeof expected !== 'string' || expected === '') return { ok: false, reason: 'UNKNOWN_CHANNEL' };
  const received = readHeader(input.headers, GOOGLE_CHANNEL_TOKEN_HEADER);
  if (received === undefined) return { ok: false, reason: 'MISSING_SIGNATURE' };
  if (!constantTimeEqual(expected, received)) return { ok: false, reason: 'BAD_SIGNATURE' };

  const resourceState = readHeader(input.headers, GOOGLE_RESOURCE_STATE_HEADER);
  const resourceId = readHeader(input.headers, GOOGLE_RESOURCE_ID_HEADER);
  const messageNumberText = readHeader(input.headers, GOOGLE_MESSAGE_NUMBER_HEADER);
  if (resourceState === undefined || !isResourceState(resourceState) || resourceId === undefined) {
    return { ok: false, reason: 'MALFORMED_NOTIFICATION' };
  }
  if (messageNumberText === undefined || !/^\d{1,15}$/.test(messageNumberText)) return { ok: false, reason: 'MALFORMED_NOTIFICATION' };
  const resourceUri = readHeader(input.headers, GOOGLE_RESOURCE_URI_HEADER);
  const channelExpiration = readHeader(input.headers, GOOGLE_CHANNEL_EXPIRATION_HEADER);
  const notification: GoogleCalendarPush = {
    channelId,
    resourceState,
    resourceId,
    messageNumber: Number(messageNumberText),
    ...(resourceUri !== undefined ? { resourceUri } : {}),
    ...(channelExpiration !== undefined ? { channelExpiration } : {}),
  };
  return { ok: true, notification, eventId: googleCalendarPushId(notification) };
}

/** Replay-dedup key: message numbers are unique per channel, so the pair is unique. */
export function googleCalendarPushId(notification: Pick<GoogleCalendarPush, 'channelId' | 'messageNumber'>): string {
  return `${notification.channelId}:${notification.messageNumber}`;
}
