import { startPatientGraph } from './stack';
import type { PatientGraphStack } from './stack';
import { PATIENT_OVERVIEW } from './seed-oracle';

describe('the overview of 500 patients costs each vendor a bounded number of requests', () => {
  let stack: PatientGraphStack;

  beforeAll(async () => {
    stack = await startPatientGraph({ patients: 500 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('batches instead of asking once per patient', async () => {
    await stack.resetVendorRequests();
    const result = await stack.query(PATIENT_OVERVIEW, { first: 500 });
    expect(result.errors).toBeUndefined();
    expect(result.data.patients.nodes).toHaveLength(500);
    const counts = await stack.vendorRequests();

    // HubSpot: contacts in batch reads of 100 (the bound: at most 5 for 500 patients).
    expect(counts.hubspot.byRoute['POST /crm/v3/objects/contacts/batch/read']).toBeGreaterThan(0);
    expect(counts.hubspot.byRoute['POST /crm/v3/objects/contacts/batch/read']).toBeLessThanOrEqual(5);
    // …and deals by search with IN over 100 patient ids at a time.
    expect(counts.hubspot.total).toBeLessThanOrEqual(12);
    // Google Calendar: one windowed events.list for all ~950 appointments.
    expect(counts.google.total).toBeLessThanOrEqual(2);
    // Semble: pages of 100 patients plus bookings and invoices in aliased batches of 50 patients.
    expect(counts.semble.total).toBeLessThanOrEqual(30);
    // Stripe: searches with at most 10 OR clauses (Stripe's own limit), for patients and invoices.
    expect(counts.stripe.total).toBeLessThanOrEqual(200);
    // GoCardless (no metadata search): the account's payments listed once per subgraph request,
    // in pages of 500, shared by every patient and invoice in it (~140 payments: one page).
    expect(counts.gocardless.byRoute).toEqual({ 'GET /payments': expect.any(Number) });
    expect(counts.gocardless.total).toBeLessThanOrEqual(4);
    for (const vendor of ['semble', 'hubspot', 'stripe', 'gocardless', 'google'] as const) expect(counts[vendor].total).toBeGreaterThan(0);
  });
});
