/** Google Calendar push: the channel token checked in constant time, the X-Goog-* headers read and validated. */
import { googleCalendarPushId, signGoogleCalendarPush, verifyGoogleCalendarPush } from './google-calendar';

const TOKEN = 'channel-token-1';
const headers = (overrides: Record<string, string | undefined> = {}) => ({
  'x-goog-channel-id': 'chan-1',
  'x-goog-channel-token': TOKEN,
  'x-goog-resource-id': 'res-abc',
  'x-goog-resource-state': 'exists',
  'x-goog-message-number': '7',
  'x-goog-resource-uri': 'https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json',
  ...overrides,
});

describe('Google Calendar push notifications', () => {
  it('produces the headers Google sends', () => {
    expect(signGoogleCalendarPush({ channelId: 'chan-1', token: TOKEN, resourceId: 'res-abc', resourceState: 'exists', messageNumber: 7 })).toEqual({
      'X-Goog-Channel-ID': 'chan-1',
      'X-Goog-Channel-Token': TOKEN,
      'X-Goog-Resource-ID': 'res-abc',
      'X-Goog-Resource-State': 'exists',
      'X-Goog-Message-Number': '7',
    });
  });

  it('accepts a notification with the channel token and reads its headers', () => {
    const result = verifyGoogleCalendarPush({ headers: headers(), token: TOKEN });
    expect(result).toEqual({
      ok: true,
      eventId: 'chan-1:7',
      notification: {
        channelId: 'chan-1',
        resourceId: 'res-abc',
        resourceState: 'exists',
        messageNumber: 7,
        resourceUri: 'https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json',
      },
    });
  });

  it('looks the token up by channel id, refusing channels it does not know', () => {
    const tokens: Record<string, string> = { 'chan-1': TOKEN };
    expect(verifyGoogleCalendarPush({ headers: headers(), token: (id) => tokens[id] }).ok).toBe(true);
    expect(verifyGoogleCalendarPush({ headers: headers({ 'x-goog-channel-id': 'chan-2' }), token: (id) => tokens[id] })).toEqual({ ok: false, reason: 'UNKNOWN_CHANNEL' });
  });

  it('refuses a wrong token (of any length) as BAD_SIGNATURE and a missing one as MISSING_SIGNATURE', () => {
    expect(verifyGoogleCalendarPush({ headers: headers({ 'x-goog-channel-token': 'channel-token-2' }), token: TOKEN })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verifyGoogleCalendarPush({ headers: headers({ 'x-goog-channel-token': 'x' }), token: TOKEN })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verifyGoogleCalendarPush({ headers: headers({ 'x-goog-channel-token': undefined }), token: TOKEN })).toEqual({ ok: false, reason: 'MISSING_SIGNATURE' });
  });

  it('refuses missing or out-of-range X-Goog-* headers as MALFORMED_NOTIFICATION', () => {
    for (const overrides of [
      { 'x-goog-channel-id': undefined },
      { 'x-goog-resource-state': 'updated' },
      { 'x-goog-resource-state': undefined },
      { 'x-goog-resource-id': undefined },
      { 'x-goog-message-number': 'seven' },
      { 'x-goog-message-number': undefined },
    ]) {
      expect(verifyGoogleCalendarPush({ headers: headers(overrides), token: TOKEN })).toEqual({ ok: false, reason: 'MALFORMED_NOTIFICATION' });
    }
  });

  it('accepts sync and not_exists states', () => {
    for (const state of ['sync', 'not_exists']) {
      expect(verifyGoogleCalendarPush({ headers: headers({ 'x-goog-resource-state': state }), token: TOKEN }).ok).toBe(true);
    }
  });

  it('dedups on channel id and message number', () => {
    expect(googleCalendarPushId({ channelId: 'c', messageNumber: 2 })).toBe('c:2');
  });
});
