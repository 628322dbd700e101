import { appointmentStatusOf } from '../src/booking-status';

const journey = (facts: Partial<Record<'arrived' | 'consultation' | 'departed' | 'dna', string>>) => ({
  arrived: null,
  consultation: null,
  departed: null,
  dna: null,
  ...facts,
});
const T = '2025-03-01T09:00:00.000Z';

describe('appointmentStatusOf', () => {
  it('is BOOKED with no journey facts', () => {
    expect(appointmentStatusOf({ deleted: false, cancellationReason: null, bookingJourney: journey({}) })).toBe('BOOKED');
    expect(appointmentStatusOf({})).toBe('BOOKED');
    expect(appointmentStatusOf({ bookingJourney: null })).toBe('BOOKED');
  });
  it('is ARRIVED once arrived or in consultation', () => {
    expect(appointmentStatusOf({ bookingJourney: journey({ arrived: T }) })).toBe('ARRIVED');
    expect(appointmentStatusOf({ bookingJourney: journey({ arrived: T, consultation: T }) })).toBe('ARRIVED');
  });
  it('is COMPLETED once departed', () => {
    expect(appointmentStatusOf({ bookingJourney: journey({ arrived: T, consultation: T, departed: T }) })).toBe('COMPLETED');
  });
  it('is DNA when marked as did-not-attend', () => {
    expect(appointmentStatusOf({ bookingJourney: journey({ dna: T }) })).toBe('DNA');
  });
  it('is CANCELLED with a cancellation reason or when deleted, whatever the journey says', () => {
    expect(appointmentStatusOf({ deleted: false, cancellationReason: 'Patient unwell', bookingJourney: journey({}) })).toBe('CANCELLED');
    expect(appointmentStatusOf({ deleted: true, cancellationReason: null, bookingJourney: journey({ arrived: T }) })).toBe('CANCELLED');
    expect(appointmentStatusOf({ cancellationReason: 'x', bookingJourney: journey({ dna: T }) })).toBe('CANCELLED');
  });
  it('ignores a blank cancellation reason', () => {
    expect(appointmentStatusOf({ cancellationReason: '  ', bookingJourney: journey({}) })).toBe('BOOKED');
  });
});
