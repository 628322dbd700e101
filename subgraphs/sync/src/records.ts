/**
 * The adapters between the vendors' wire records and the rules' vendor-neutral PatientRecord:
 * a Semble patient and a HubSpot contact in, and a plan's field writes out as Semble's
 * `patientData` and HubSpot contact properties. Values pass through as they are; the rules
 * normalise before comparing.
 */
import type { ContactProperty, HubSpotContact } from '../../../lib/vendors/hubspot';
import type { SemblePatient } from '../../../lib/vendors/semble';
import type { FieldValues } from './rules/plan';
import type { PatientRecord, SyncField } from './rules/types';
import type { SemblePatientData } from './clients';

/**
 * HubSpot has no standard date-of-birth property; the portal needs this custom one (the
 * emulator has it). Not in lib/vendors/hubspot.ts's ContactProperty union yet, hence the cast.
 */
export const DATE_OF_BIRTH_PROPERTY: ContactProperty = 'date_of_birth';

/** What the sync reads of a contact. */
export const SYNC_CONTACT_PROPERTIES: readonly ContactProperty[] = [
  'semble_patient_id',
  'firstname',
  'lastname',
  'email',
  'phone',
  DATE_OF_BIRTH_PROPERTY,
  'lifecyclestage',
  'hubspot_owner_id',
  'marketing_consent',
  'lastmodifieddate',
];

/** The identifier Semble keeps the NHS number under. */
const NHS_NUMBER_NAME = 'NHS_UK';

export function sembleToRecord(patient: SemblePatient): PatientRecord {
  const phones = (patient.phones ?? []).map((phone) => phone.phoneNumber).filter((number): number is string => !!number);
  const address = patient.address;
  return {
    id: patient.id,
    firstName: patient.firstName,
    lastName: patient.lastName,
    email: patient.email,
    phone: phones[0] ?? null,
    dateOfBirth: patient.dob,
    address: address ? { line: address.address, city: address.city, postcode: address.postcode, country: address.country } : null,
    nhsNumber: patient.numbers?.find((number) => number.name === NHS_NUMBER_NAME)?.value ?? null,
    updatedAt: patient.updatedAt,
    otherPhones: phones.slice(1),
  };
}

function consent(value: string | null | undefined): boolean | null {
  return value === 'true' ? true : value === 'false' ? false : null;
}

/** A contact as the CRM side of a patient; null when it is not linked to a Semble patient. */
export function contactToRecord(contact: HubSpotContact): PatientRecord | null {
  const properties = contact.properties as Record<string, string | null | undefined>;
  const patientId = properties.semble_patient_id;
  if (!patientId) return null;
  return {
    id: patientId,
    firstName: properties.firstname ?? null,
    lastName: properties.lastname ?? null,
    email: properties.email ?? null,
    phone: properties.phone ?? null,
    dateOfBirth: properties[DATE_OF_BIRTH_PROPERTY] ?? null,
    lifecycleStage: properties.lifecyclestage ?? null,
    ownerId: properties.hubspot_owner_id ?? null,
    marketingConsent: consent(properties.marketing_consent),
    updatedAt: properties.lastmodifieddate ?? contact.updatedAt ?? null,
  };
}

const CONTACT_PROPERTY_OF: Partial<Record<SyncField, ContactProperty>> = {
  firstName: 'firstname',
  lastName: 'lastname',
  email: 'email',
  phone: 'phone',
  dateOfBirth: DATE_OF_BIRTH_PROPERTY,
};

/** A plan's CRM writes as contact properties (HubSpot stores text; null clears). */
export function toContactProperties(writes: FieldValues): Partial<Record<ContactProperty, string | null>> {
  const properties: Partial<Record<ContactProperty, string | null>> = {};
  for (const [field, value] of Object.entries(writes) as Array<[SyncField, unknown]>) {
    const property = CONTACT_PROPERTY_OF[field];
    // Only shared fields are ever written; anything else would be a rules change this adapter does not know.
    if (!property) throw new Error(`no HubSpot property for field ${field}`);
    properties[property] = value === null || value === undefined ? null : String(value);
  }
  return properties;
}

/** A plan's Semble writes as updatePatient's `patientData`. */
export function toSemblePatientData(writes: FieldValues): SemblePatientData {
  const data: SemblePatientData = {};
  for (const [field, raw] of Object.entries(writes) as Array<[SyncField, unknown]>) {
    const value = raw === null || raw === undefined ? null : String(raw);
    switch (field) {
      case 'email':
        data.email = value;
        break;
      case 'dateOfBirth':
        data.dob = value;
        break;
      // Semble cannot clear names or the phone through updatePatient; null is passed on so
      // Semble refuses it (SembleWriteRefusedError) rather than the value silently staying.
      case 'firstName':
        data.first = value as string;
        break;
      case 'lastName':
        data.last = value as string;
        break;
      case 'phone':
        data.phone = value as string;
        break;
      default:
        throw new Error(`no Semble input for field ${field}`);
    }
  }
  return data;
}
