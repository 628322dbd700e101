/**
 * What the subgraph serves equals the seed world: patients (with data quality), appointments
 * (status mapped back from Semble's booking facts), practitioners and invoices.
 */
import { isValidEmail, isValidNhsNumber, toE164 } from '../../../lib/data-quality';
import type { SeedBooking, SeedPatient } from '../../../lib/seed';
import { startSembleHarness } from './harness';
import type { SembleHarness } from './harness';

const PATIENT_FIELDS = `
  id title firstName lastName fullName dateOfBirth email
  phones { type number e164 } address { line city postcode country }
  nhsNumber status createdAt updatedAt dataQuality { score issues route }
`;

function expectedPatient(patient: SeedPatient) {
  const issues: string[] = [];
  if (!patient.email) issues.push('EMAIL_MISSING');
  else if (!isValidEmail(patient.email)) issues.push('EMAIL_INVALID');
  if (patient.phones.some((phone) => toE164(phone.number) === null)) issues.push('PHONE_INVALID');
  if (patient.nhsNumber && !isValidNhsNumber(patient.nhsNumber)) issues.push('NHS_NUMBER_INVALID');
  const score = Math.max(0, 100 - 20 * issues.length);
  return {
    id: patient.id,
    title: patient.title,
    firstName: patient.firstName,
    lastName: patient.lastName,
    fullName: `${patient.firstName} ${patient.lastName}`,
    dateOfBirth: patient.dob,
    email: patient.email,
    phones: patient.phones.map((phone) => ({ type: phone.type, number: phone.number, e164: toE164(phone.number) })),
    address: { line: patient.address.address, city: patient.address.city, postcode: patient.address.postcode, country: patient.address.country },
    nhsNumber: patient.nhsNumber ? patient.nhsNumber.replace(/\D/g, '') : null,
    status: patient.status === 'archived' ? 'ARCHIVED' : 'ACTIVE',
    createdAt: patient.createdAt,
    updatedAt: patient.updatedAt,
    dataQuality: { score, issues, route: score >= 80 ? 'DIRECT' : score >= 60 ? 'SYNC_AND_FLAG' : 'HOLD_FOR_REVIEW' },
  };
}

describe('values equal the seed world', () => {
  let harness: SembleHarness;
  beforeAll(async () => {
    harness = await startSembleHarness({ patients: 60 });
  });
  afterAll(async () => {
    await harness.stop();
  });

  it('serves every patient field as seeded, data quality included', async () => {
    const result = await harness.query(`{ patients(first: 60) { nodes { ${PATIENT_FIELDS} } } }`);
    expect(result.errors).toBeUndefined();
    expect(result.data!.patients.nodes).toEqual(harness.world.patients.map(expectedPatient));
  });

  it('has bad data for data quality to find, at the seed’s rates', async () => {
    const result = await harness.query(`{ patients(first: 60) { nodes { dataQuality { issues } } } }`);
    const issues = result.data!.patients.nodes.flatMap((node: { dataQuality: { issues: string[] } }) => node.dataQuality.issues);
    expect(issues.length).toBeGreaterThan(0);
  });

  it('serves one patient by id and through _entities alike', async () => {
    const seed = harness.world.patients[17]!;
    const one = await harness.query(`query($id: ID!) { patient(id: $id) { ${PATIENT_FIELDS} } }`, { id: seed.id });
    expect(one.data!.patient).toEqual(expectedPatient(seed));
    const entity = await harness.query(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Patient { ${PATIENT_FIELDS} } } }`, {
      r: [{ __typename: 'Patient', id: seed.id }],
    });
    expect(entity.data!._entities).toEqual([expectedPatient(seed)]);
  });

  it('maps every booking back to its seeded status, practitioner and details', async () => {
    const result = await harness.query(`query($r: [_Any!]!) {
      _entities(representations: $r) {
        ... on Appointment { id start end status location appointmentType updatedAt patient { id } practitioner { id fullName email isDoctor } }
      }
    }`, { r: harness.world.bookings.map((booking) => ({ __typename: 'Appointment', id: booking.id })) });
    expect(result.errors).toBeUndefined();
    const practitioners = new Map(harness.world.practitioners.map((p) => [p.id, p]));
    expect(result.data!._entities).toEqual(
      harness.world.bookings.map((booking: SeedBooking) => {
        const practitioner = practitioners.get(booking.practitionerId)!;
        return {
          id: booking.id,
          start: booking.start,
          end: booking.end,
          status: booking.state,
          location: booking.location,
          appointmentType: booking.appointmentType,
          updatedAt: booking.updatedAt,
          patient: { id: booking.patientId },
          practitioner: { id: practitioner.id, fullName: `${practitioner.firstName} ${practitioner.lastName}`, email: practitioner.email, isDoctor: practitioner.isDoctor },
        };
      }),
    );
    // Every state occurs, so every branch of the mapping ran against emulator data.
    expect(new Set(harness.world.bookings.map((booking) => booking.state))).toEqual(new Set(['BOOKED', 'ARRIVED', 'COMPLETED', 'CANCELLED', 'DNA']));
  });

  it('serves invoices as seeded, in GBP', async () => {
    const seed = harness.world.invoices[3]!;
    const result = await harness.query(`query($id: ID!) { invoice(id: $id) { id invoiceNumber date total outstanding status currency updatedAt patient { id } } }`, { id: seed.id });
    expect(result.data!.invoice).toEqual({
      id: seed.id,
      invoiceNumber: seed.invoiceNumber,
      date: seed.date,
      total: seed.total,
      outstanding: seed.outstanding,
      status: seed.status,
      currency: 'GBP',
      updatedAt: seed.updatedAt,
      patient: { id: seed.patientId },
    });
  });

  it('resolves practitioners as entities', async () => {
    const result = await harness.query(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Practitioner { id fullName isDoctor } } }`, {
      r: harness.world.practitioners.map((p) => ({ __typename: 'Practitioner', id: p.id })),
    });
    expect(result.data!._entities).toEqual(harness.world.practitioners.map((p) => ({ id: p.id, fullName: `${p.firstName} ${p.lastName}`, isDoctor: p.isDoctor })));
  });

  it('finds patients by email, trimmed and case-insensitively, families included', async () => {
    const byEmail = new Map<string, string[]>();
    for (const patient of harness.world.patients) {
      if (patient.email) byEmail.set(patient.email, [...(byEmail.get(patient.email) ?? []), patient.id]);
    }
    const [email, ids] = [...byEmail.entries()].sort((a, b) => b[1].length - a[1].length)[0]!;
    const result = await harness.query(`query($email: String!) { patientsByEmail(email: $email) { id } }`, { email: `  ${email.toUpperCase()} ` });
    expect(result.errors).toBeUndefined();
    expect(result.data!.patientsByEmail.map((p: { id: string }) => p.id)).toEqual(ids);
    const none = await harness.query(`{ patientsByEmail(email: "nobody@example.invalid") { id } }`);
    expect(none.data).toEqual({ patientsByEmail: [] });
  });

  it('lists appointments in [from, to), optionally for one practitioner, with cursors and totalCount', async () => {
    const from = '2025-03-01T00:00:00.000Z';
    const to = '2025-09-01T00:00:00.000Z';
    const inRange = harness.world.bookings
      .filter((booking) => booking.start >= from && booking.start < to)
      .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.id < b.id ? -1 : 1));
    const practitionerId = harness.world.practitioners[0]!.id;
    for (const [filter, expected] of [
      [null, inRange],
      [practitionerId, inRange.filter((booking) => booking.practitionerId === practitionerId)],
    ] as const) {
      const ids: string[] = [];
      let after: string | null = null;
      let totalCount = -1;
      for (;;) {
        const result: any = await harness.query(
          `query($from: DateTime!, $to: DateTime!, $p: ID, $after: String) {
            appointments(from: $from, to: $to, practitionerId: $p, first: 4, after: $after) {
              nodes { id } pageInfo { hasNextPage endCursor } totalCount
            }
          }`,
          { from, to, p: filter, after },
        );
        expect(result.errors).toBeUndefined();
        ids.push(...result.data.appointments.nodes.map((node: { id: string }) => node.id));
        totalCount = result.data.appointments.totalCount;
        if (!result.data.appointments.pageInfo.hasNextPage) break;
        after = result.data.appointments.pageInfo.endCursor;
      }
      expect(ids).toEqual(expected.map((booking) => booking.id));
      expect(totalCount).toBe(expected.length);
    }
  });
});
