import { startPatientGraph, VENDOR_TOKENS } from './stack';
import type { PatientGraphStack } from './stack';
import { expectedOverview, normaliseOverview, PATIENT_OVERVIEW } from './seed-oracle';

describe('the patient overview query through the gateway', () => {
  let stack: PatientGraphStack;

  beforeAll(async () => {
    stack = await startPatientGraph({ patients: 120 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers the README query for the first three patients with every part equal to the emulators', async () => {
    const result = await stack.query(PATIENT_OVERVIEW, { first: 3 });
    expect(result.status).toBe(200);
    expect(result.errors).toBeUndefined();
    const connection = result.data.patients;
    expect(connection.totalCount).toBe(120);
    expect(connection.pageInfo.hasNextPage).toBe(true);
    expect(connection.nodes.map((n: { id: string }) => n.id)).toEqual(stack.world.patients.slice(0, 3).map((p) => p.id));
    for (const node of connection.nodes) {
      expect(normaliseOverview(node)).toEqual(expectedOverview(stack.world, node.id));
    }
  });

  it('returns every field non-null for a seeded patient that has them all', async () => {
    const complete = stack.world.patients.find(
      (p) =>
        p.email && p.nhsNumber &&
        stack.world.bookings.some((b) => b.patientId === p.id && b.state !== 'CANCELLED') &&
        stack.world.contacts.some((c) => c.patientId === p.id) &&
        stack.world.deals.some((d) => d.patientId === p.id) &&
        stack.world.subscriptions.some((s) => s.patientId === p.id) &&
        stack.world.paymentIntents.some((pi) => pi.patientId === p.id && pi.invoiceId),
    )!;
    const direct = await stack.query(
      `query ($id: ID!) { patient(id: $id) { id fullName dateOfBirth email nhsNumber phones { number e164 }
        dataQuality { score issues route } appointments { id status practitioner { fullName } calendarEvent { id status } }
        invoices { id total outstanding payments { id status } } crmContact { id lifecycleStage marketingConsent }
        deals { id stage amount } payments { id provider status amountMinor currency } subscriptions { id status plan } } }`,
      { id: complete.id },
    );
    expect(direct.errors).toBeUndefined();
    const patient = direct.data.patient;
    for (const key of ['id', 'fullName', 'dateOfBirth', 'email', 'nhsNumber', 'crmContact'] as const) expect(patient[key]).not.toBeNull();
    expect(patient.deals.length).toBeGreaterThan(0);
    expect(patient.subscriptions.length).toBeGreaterThan(0);
    expect(patient.payments.length).toBeGreaterThan(0);
    expect(patient.appointments.some((a: any) => a.calendarEvent !== null && a.practitioner.fullName)).toBe(true);
    expect(patient.invoices.some((i: any) => i.payments.length > 0)).toBe(true);
  });

  it('matches the emulators for every patient on a page of 50', async () => {
    const result = await stack.query(PATIENT_OVERVIEW, { first: 50 });
    expect(result.errors).toBeUndefined();
    for (const node of result.data.patients.nodes) {
      expect(normaliseOverview(node)).toEqual(expectedOverview(stack.world, node.id));
    }
  });

  it('finds patients by email, including family members who share one', async () => {
    const shared = stack.world.patients.find(
      (p, i) => p.email && stack.world.patients.some((q, j) => j !== i && q.email === p.email),
    )!;
    const owners = stack.world.patients.filter((p) => p.email === shared.email).map((p) => p.id).sort();
    const result = await stack.query('query ($e: String!) { patientsByEmail(email: $e) { id email } }', {
      e: `  ${shared.email!.toUpperCase()} `,
    });
    expect(result.errors).toBeUndefined();
    expect(result.data.patientsByEmail.map((p: { id: string }) => p.id).sort()).toEqual(owners);
  });

  it('looks up appointments in a window, an invoice by id and a CRM contact by email', async () => {
    const booking = stack.world.bookings[5]!;
    const from = booking.start;
    const to = new Date(Date.parse(booking.start) + 1).toISOString();
    const appointments = await stack.query(
      'query ($from: DateTime!, $to: DateTime!, $p: ID) { appointments(from: $from, to: $to, practitionerId: $p) { totalCount nodes { id patient { id } } } }',
      { from, to, p: booking.practitionerId },
    );
    expect(appointments.errors).toBeUndefined();
    const expected = stack.world.bookings.filter((b) => b.start === booking.start && b.practitionerId === booking.practitionerId);
    expect(appointments.data.appointments.nodes.map((a: { id: string }) => a.id).sort()).toEqual(expected.map((b) => b.id).sort());
    expect(appointments.data.appointments.totalCount).toBe(expected.length);

    const invoice = stack.world.invoices[0]!;
    const byId = await stack.query('query ($id: ID!) { invoice(id: $id) { id invoiceNumber total currency patient { id } } }', { id: invoice.id });
    expect(byId.data.invoice).toEqual({ id: invoice.id, invoiceNumber: invoice.invoiceNumber, total: invoice.total, currency: 'GBP', patient: { id: invoice.patientId } });

    const contact = stack.world.contacts.find((c) => c.email && stack.world.contacts.filter((d) => d.email === c.email).length === 1)!;
    const crm = await stack.query('query ($e: String!) { crmContactByEmail(email: $e) { id sembleId patient { fullName } } }', { e: contact.email });
    expect(crm.errors).toBeUndefined();
    expect(crm.data.crmContactByEmail).toEqual({ id: contact.id, sembleId: contact.patientId, patient: { fullName: `${contact.firstName} ${contact.lastName}` } });
  });

  it('gives a patient their GoCardless mandates and Direct Debit payments next to the Stripe ones', async () => {
    const { world } = stack;
    const mandate = world.goCardlessMandates.find((m) => world.goCardlessPayments.some((p) => p.patientId === m.patientId))!;
    const result = await stack.query(
      'query ($id: ID!) { patient(id: $id) { mandates { id status scheme reference nextPossibleChargeDate createdAt } payments { id provider } } }',
      { id: mandate.patientId },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data.patient.mandates).toEqual([
      { id: mandate.id, status: mandate.status, scheme: 'bacs', reference: mandate.reference, nextPossibleChargeDate: mandate.nextPossibleChargeDate, createdAt: mandate.createdAt },
    ]);
    expect(result.data.patient.payments.filter((p: any) => p.provider === 'GOCARDLESS').map((p: any) => p.id).sort()).toEqual(
      world.goCardlessPayments.filter((p) => p.patientId === mandate.patientId).map((p) => p.id).sort(),
    );
  });

  it("shows when an appointment's practitioner is busy, from their own calendar, joined through the gateway", async () => {
    const from = '2025-04-01T00:00:00Z';
    const to = '2025-04-29T00:00:00Z';
    const result = await stack.query(
      `query ($from: DateTime!, $to: DateTime!) { appointments(from: $from, to: $to, first: 5) { nodes { practitioner { id fullName busy(from: $from, to: $to) { start end } } } } }`,
      { from, to },
    );
    expect(result.errors).toBeUndefined();
    const practitioners = result.data.appointments.nodes.map((node: any) => node.practitioner);
    expect(practitioners.length).toBeGreaterThan(0);
    for (const practitioner of practitioners) {
      const email = stack.world.practitioners.find((candidate) => candidate.id === practitioner.id)!.email;
      const response = await fetch(`${stack.emulators.google}/calendar/v3/freeBusy`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${VENDOR_TOKENS.google}` },
        body: JSON.stringify({ timeMin: from, timeMax: to, items: [{ id: email }] }),
      });
      const direct = (await response.json()) as any;
      expect(practitioner.busy).toEqual(direct.calendars[email].busy);
      expect(practitioner.busy.length).toBeGreaterThan(0);
    }
  });
});
