/**
 * The GoCardless emulator speaks GoCardless's wire format: Bearer token (401 in GoCardless's
 * error shape otherwise), the GoCardless-Version header required, resources wrapped in their
 * plural name, cursor-paginated lists with `limit` ≤ 500 and `meta.cursors`, filters by customer
 * and mandate; the typed client follows the cursors; an admin transition sends a signed
 * payments webhook. Values equal the seed world.
 */
import { readEmulatorConfig } from '../../../lib/emulator-main';
import { createSeedWorld } from '../../../lib/seed';
import { VendorError } from '../../../lib/vendor-error';
import { createGoCardlessClient, GOCARDLESS_API_VERSION } from '../../../lib/vendors/gocardless';
import { verifyGoCardless } from '../../../lib/webhooks';
import type { GoCardlessWebhookPayload } from '../../../lib/webhooks';
import { startRecordingReceiver } from '../../../lib/webhooks/recording-receiver';
import type { RecordingReceiver } from '../../../lib/webhooks/recording-receiver';
import { startGoCardlessEmulator } from '../emulator/gocardless';
import type { GoCardlessEmulator } from '../emulator/gocardless';
import { entrypoint as goCardlessEmulatorEntry } from '../emulator/gocardless-main';

const TOKEN = 'gocardless_wire_test';
const SECRET = 'gocardless-wire-webhook-secret';
const world = createSeedWorld({ patients: 120, seed: 42 });

let emulator: GoCardlessEmulator;
let receiver: RecordingReceiver;

beforeAll(async () => {
  receiver = await startRecordingReceiver('/webhooks/gocardless');
  emulator = await startGoCardlessEmulator({ world, token: TOKEN, webhook: { url: receiver.url, secret: SECRET, retryDelaysMs: [20, 40] } });
});
afterAll(async () => {
  await emulator?.stop();
  await receiver?.stop();
});

async function get(path: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, 'gocardless-version': GOCARDLESS_API_VERSION }) {
  const response = await fetch(`${emulator.url}${path}`, { headers });
  return { status: response.status, body: (await response.json()) as any };
}

const newestFirst = (a: { createdAt: string; id: string }, b: { createdAt: string; id: string }) =>
  Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

describe('GoCardless emulator wire format', () => {
  it('refuses a wrong token with 401 in GoCardless’s error shape', async () => {
    const { status, body } = await get('/payments', { authorization: 'Bearer nope', 'gocardless-version': GOCARDLESS_API_VERSION });
    expect(status).toBe(401);
    expect(body).toEqual({
      error: {
        message: 'Authentication failed',
        documentation_url: expect.any(String),
        type: 'invalid_api_usage',
        request_id: expect.any(String),
        code: 401,
        errors: [{ reason: 'authentication_failed', message: 'Authentication failed' }],
      },
    });
    expect(JSON.stringify(body)).not.toContain('nope');
  });

  it('requires the GoCardless-Version header', async () => {
    const missing = await get('/payments', { authorization: `Bearer ${TOKEN}` });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ type: 'invalid_api_usage', code: 400, errors: [{ reason: 'missing_version_header' }] });
    const unknown = await get('/payments', { authorization: `Bearer ${TOKEN}`, 'gocardless-version': '2099-01-01' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.errors[0].reason).toBe('version_not_found');
  });

  it('lists customers with their Semble patient id in metadata, newest first, in pages joined by cursors', async () => {
    const first = await get('/customers?limit=10');
    expect(first.status).toBe(200);
    expect(first.body.meta).toEqual({ cursors: { before: null, after: first.body.customers[9].id }, limit: 10 });
    const all: any[] = [...first.body.customers];
    let after = first.body.meta.cursors.after as string | null;
    while (after) {
      const page = await get(`/customers?limit=10&after=${after}`);
      expect(page.body.meta.cursors.before).toBe(page.body.customers[0].id);
      all.push(...page.body.customers);
      after = page.body.meta.cursors.after;
    }
    const expected = [...world.goCardlessCustomers].sort(newestFirst);
    expect(all.map((c) => c.id)).toEqual(expected.map((c) => c.id));
    expect(all[0]).toEqual({
      id: expected[0]!.id,
      created_at: expected[0]!.createdAt,
      email: expected[0]!.email,
      given_name: expected[0]!.givenName,
      family_name: expected[0]!.familyName,
      company_name: null,
      country_code: 'GB',
      language: 'en',
      metadata: { semble_patient_id: expected[0]!.patientId },
    });
    // `before` goes back: the page before the second page is the first page.
    const second = await get(`/customers?limit=10&after=${first.body.meta.cursors.after}`);
    const back = await get(`/customers?limit=10&before=${second.body.meta.cursors.before}`);
    expect(back.body.customers.map((c: any) => c.id)).toEqual(first.body.customers.map((c: any) => c.id));
  });

  it('filters payments by mandate and by customer, and mandates by customer', async () => {
    const payment = world.goCardlessPayments[0]!;
    const byMandate = await get(`/payments?mandate=${payment.mandateId}&limit=500`);
    expect(byMandate.body.payments.map((p: any) => p.id).sort()).toEqual(world.goCardlessPayments.filter((p) => p.mandateId === payment.mandateId).map((p) => p.id).sort());
    const byCustomer = await get(`/payments?customer=${payment.customerId}`);
    expect(byCustomer.body.payments.map((p: any) => p.id).sort()).toEqual(world.goCardlessPayments.filter((p) => p.customerId === payment.customerId).map((p) => p.id).sort());
    const mandates = await get(`/mandates?customer=${payment.customerId}`);
    expect(mandates.body).toEqual({
      mandates: [expect.objectContaining({ id: payment.mandateId, scheme: 'bacs', links: expect.objectContaining({ customer: payment.customerId }) })],
      meta: { cursors: { before: null, after: null }, limit: 50 },
    });
  });

  it('serves one payment or mandate wrapped in its resource name, and 404 for an unknown id', async () => {
    const seeded = world.goCardlessPayments.find((p) => p.invoiceId)!;
    const { status, body } = await get(`/payments/${seeded.id}`);
    expect(status).toBe(200);
    expect(body).toEqual({
      payments: {
        id: seeded.id,
        created_at: seeded.createdAt,
        charge_date: seeded.chargeDate,
        amount: seeded.amount,
        amount_refunded: 0,
        currency: 'GBP',
        status: seeded.status,
        reference: null,
        description: expect.any(String),
        metadata: { semble_patient_id: seeded.patientId, semble_invoice_id: seeded.invoiceId },
        links: { mandate: seeded.mandateId, creditor: expect.any(String) },
      },
    });
    const mandate = world.goCardlessMandates[0]!;
    expect((await get(`/mandates/${mandate.id}`)).body.mandates).toMatchObject({
      id: mandate.id,
      status: mandate.status,
      scheme: 'bacs',
      reference: mandate.reference,
      next_possible_charge_date: mandate.nextPossibleChargeDate,
      created_at: mandate.createdAt,
    });
    const missing = await get('/payments/PM000MISSING');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ type: 'invalid_api_usage', code: 404, errors: [{ reason: 'resource_not_found' }] });
  });

  it('rejects a limit above 500 and an unknown cursor', async () => {
    const tooMany = await get('/payments?limit=501');
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error).toMatchObject({ type: 'validation_failed', errors: [{ field: 'limit', reason: 'invalid_limit' }] });
    const badCursor = await get('/payments?after=PM000NOPE');
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.error.errors[0]).toMatchObject({ field: 'after', reason: 'invalid_cursor' });
  });

  it('is read completely by the typed client, which follows the cursors', async () => {
    const client = createGoCardlessClient({ baseUrl: emulator.url, token: TOKEN });
    await fetch(`${emulator.url}/__admin/requests`, { method: 'DELETE' });
    const payments = await client.listPayments({ limit: 7 });
    expect(payments.map((p) => p.id).sort()).toEqual(world.goCardlessPayments.map((p) => p.id).sort());
    const counts = (await (await fetch(`${emulator.url}/__admin/requests`)).json()) as { byRoute: Record<string, number> };
    expect(counts.byRoute['GET /payments']).toBe(Math.ceil(world.goCardlessPayments.length / 7));

    const customer = world.goCardlessCustomers[3]!;
    expect((await client.listCustomers({ metadata: { semble_patient_id: customer.patientId } })).map((c) => c.id)).toEqual([customer.id]);
    expect((await client.listMandates({ customer: customer.id })).map((m) => m.links.customer)).toEqual([customer.id]);
    expect((await client.getMandate(world.goCardlessMandates[3]!.id)).id).toBe(world.goCardlessMandates[3]!.id);

    const wrong = createGoCardlessClient({ baseUrl: emulator.url, token: 'wrong' });
    await expect(wrong.getPayment(world.goCardlessPayments[0]!.id)).rejects.toMatchObject({
      extensions: { code: 'VENDOR_UNAUTHORIZED', vendor: 'gocardless' },
    });
    await expect(client.getPayment('PM000MISSING')).rejects.toBeInstanceOf(VendorError);
  });

  it('sends a signed payments webhook when a payment moves on, and the payment reads back moved', async () => {
    const payment = world.goCardlessPayments.find((p) => p.status === 'pending_submission' || p.status === 'submitted')!;
    expect(payment).toBeDefined();
    const response = await fetch(`${emulator.url}/__admin/payments/${payment.id}/transition`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'paid_out' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-emulator-webhook-delivery')).toMatch(/^whd_/);
    expect(((await response.json()) as any).payments).toMatchObject({ id: payment.id, status: 'paid_out' });

    const [hook] = await receiver.waitFor(1);
    expect(hook!.headers['webhook-signature']).toMatch(/^[0-9a-f]{64}$/);
    const verified = verifyGoCardless({ headers: hook!.headers, body: hook!.body, secret: SECRET });
    expect(verified.ok).toBe(true);
    expect(verifyGoCardless({ headers: hook!.headers, body: hook!.body, secret: 'other' })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    const body = JSON.parse(hook!.body.toString()) as GoCardlessWebhookPayload;
    expect(body.events).toEqual([
      {
        id: expect.stringMatching(/^EV[0-9A-F]+$/),
        created_at: expect.any(String),
        resource_type: 'payments',
        action: 'paid_out',
        links: { payment: payment.id },
        details: { origin: 'gocardless', cause: 'payment_paid_out', description: expect.any(String) },
        metadata: {},
      },
    ]);
    expect((await get(`/payments/${payment.id}`)).body.payments.status).toBe('paid_out');
    expect((await get(`/events/${body.events[0]!.id}`)).body.events).toEqual(body.events[0]);

    // A paid-out payment cannot be cancelled; an unknown status is a validation error.
    const refused = await fetch(`${emulator.url}/__admin/payments/${payment.id}/transition`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'cancelled' }),
    });
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as any).error).toMatchObject({ type: 'invalid_state' });
    const invalid = await fetch(`${emulator.url}/__admin/payments/${payment.id}/transition`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'teleported' }),
    });
    expect(invalid.status).toBe(400);
    expect(receiver.received).toHaveLength(1);
  });

  it('reads its settings from the environment, with documented defaults', () => {
    const defaults = readEmulatorConfig(goCardlessEmulatorEntry, {});
    expect(defaults).toMatchObject({ port: 4106, token: 'gocardless-dev-token', extra: { webhookSecret: 'gocardless-dev-webhook-secret' } });
    expect(defaults.extra.webhookUrl).toBeUndefined();
    const set = readEmulatorConfig(goCardlessEmulatorEntry, {
      GOCARDLESS_ACCESS_TOKEN: 'live_token',
      GOCARDLESS_WEBHOOK_URL: 'http://127.0.0.1:4005/webhooks/gocardless',
      GOCARDLESS_WEBHOOK_SECRET: '123456',
    });
    expect(set).toMatchObject({ token: 'live_token', extra: { webhookUrl: 'http://127.0.0.1:4005/webhooks/gocardless', webhookSecret: '123456' } });
  });
});
