/**
 * Semble bookings become Google Calendar events (`semble<bookingId>`, inserted or updated,
 * cancelled with the booking); Stripe payment intents become the payment state of their Semble
 * invoice (GoCardless payments: gocardless-payment-sync.test.ts); calendar notifications and
 * GoCardless events about other resources (mandates) are noted and skipped.
 */
import { SEED_CALENDAR_ID } from '../../../lib/seed';
import type { InboxItem } from '../src/inbox';
import { calendarEventId } from '../src/worker';
import { startSyncHarness } from './sync-harness';
import type { SyncHarness } from './sync-harness';

let h: SyncHarness;
beforeAll(async () => {
  h = await startSyncHarness({ patients: 30 });
});
afterAll(() => h.stop());

const handle = (items: InboxItem[]) => h.handler.handle({ receivedAt: new Date().toISOString(), items });

it('cancels the calendar event of a booking cancelled in Semble, once', async () => {
  const booking = h.world.bookings.find((candidate) => candidate.state === 'BOOKED')!;
  expect((await h.clients.google.getEvent(calendarEventId(booking.id)))?.status).toBe('confirmed');

  const response = await fetch(`${h.semble.url}/__admin/bookings/${booking.id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ cancel: true, cancellationReason: 'Patient unwell' }),
  });
  expect(response.status).toBe(200);
  const items = await h.deliverWebhooks();
  expect(items).toEqual([{ vendor: 'semble', eventType: 'BOOKING_UPDATED', id: booking.id }]);

  expect((await h.clients.google.getEvent(calendarEventId(booking.id)))?.status).toBe('cancelled');
  const events = (await h.syncEvents()).filter((event) => event.type === 'APPOINTMENT_SYNCED');
  expect(events).toEqual([expect.objectContaining({ patientId: booking.patientId, source: 'SEMBLE', target: 'CALENDAR', outcome: 'APPLIED' })]);

  // The same hint again finds the calendar already right.
  await handle([{ vendor: 'semble', eventType: 'BOOKING_UPDATED', id: booking.id }]);
  const again = (await h.syncEvents()).filter((event) => event.type === 'APPOINTMENT_SYNCED');
  expect(again[again.length - 1]).toMatchObject({ outcome: 'SKIPPED' });
});

it('inserts the calendar event of a booking the calendar does not have yet', async () => {
  // Not the booking the first test cancelled.
  const booking = h.world.bookings.filter((candidate) => candidate.state === 'BOOKED')[1]!;
  h.calendar.store.calendars.get(SEED_CALENDAR_ID)!.events.delete(calendarEventId(booking.id));

  await handle([{ vendor: 'semble', eventType: 'BOOKING_CREATED', id: booking.id }]);

  const event = await h.clients.google.getEvent(calendarEventId(booking.id));
  expect(event).toMatchObject({ status: 'confirmed', extendedProperties: { private: { sembleBookingId: booking.id } } });
  expect(Date.parse(event!.start.dateTime!)).toBe(Date.parse(booking.start));
});

it('records the state of a Stripe payment on its Semble invoice', async () => {
  const intent = h.world.paymentIntents.find((candidate) => candidate.invoiceId && candidate.status === 'succeeded')!;
  await handle([{ vendor: 'stripe', eventId: 'evt_test_1', type: 'payment_intent.succeeded', objectId: intent.id }]);

  expect(await h.store.getInvoicePayment(intent.invoiceId!)).toMatchObject({ paymentId: intent.id, state: 'PAID', amount: intent.amount, patientId: intent.patientId });
  const events = (await h.syncEvents()).filter((event) => event.type === 'PAYMENT_SYNCED');
  expect(events).toEqual([expect.objectContaining({ patientId: intent.patientId, source: 'PAYMENTS', target: 'SEMBLE', outcome: 'APPLIED' })]);
});

it('notes calendar notifications and GoCardless mandate events without syncing anything back', async () => {
  const before = (await h.syncEvents()).length;
  await handle([
    { vendor: 'google-calendar', channelId: 'channel-1', resourceState: 'exists', messageNumber: '7' },
    { vendor: 'gocardless', eventId: 'EV1', resourceType: 'mandates', action: 'active', links: { mandate: 'MD1' } },
  ]);
  const events = (await h.syncEvents()).slice(before);
  expect(events.map((event) => [event.type, event.source, event.outcome])).toEqual([
    ['WEBHOOK_RECEIVED', 'CALENDAR', 'SKIPPED'],
    ['WEBHOOK_RECEIVED', 'PAYMENTS', 'SKIPPED'],
  ]);
});
