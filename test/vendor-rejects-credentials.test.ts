import { startPatientGraph } from './stack';
import type { PatientGraphStack } from './stack';

const QUERY = '{ patients(first: 2) { nodes { id fullName crmContact { id } payments { id } } } }';

describe('a vendor that rejects our credentials', () => {
  let stack: PatientGraphStack;

  beforeAll(async () => {
    stack = await startPatientGraph({ patients: 20, wrongTokenFor: 'hubspot' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('nulls only that vendor’s fields, with VENDOR_UNAUTHORIZED naming the vendor, and serves the rest', async () => {
    const result = await stack.query(QUERY);
    expect(result.status).toBe(200);
    const nodes = result.data.patients.nodes;
    expect(nodes.map((n: any) => n.fullName)).toEqual(stack.world.patients.slice(0, 2).map((p) => `${p.firstName} ${p.lastName}`));
    expect(nodes.every((n: any) => n.crmContact === null)).toBe(true);
    expect(nodes.some((n: any) => n.payments.length > 0)).toBe(true);
    expect(result.errors!.length).toBeGreaterThan(0);
    for (const error of result.errors!) {
      expect(error.extensions).toMatchObject({ code: 'VENDOR_UNAUTHORIZED', vendor: 'hubspot', serviceName: 'crm' });
      expect(error.path).toEqual(['patients', 'nodes', expect.any(Number), 'crmContact']);
      // The vendor's response body never reaches the client.
      expect(JSON.stringify(error)).not.toContain('Authentication credentials');
    }
  });
});
