/**
 * Semble has no single booking status: a cancellation is a reason on the booking (or the
 * booking is deleted), and attendance is a set of timestamps in `bookingJourney`. This module
 * owns the mapping from those facts to the graph's AppointmentStatus, in one pure function.
 */

export type AppointmentStatus = 'BOOKED' | 'ARRIVED' | 'COMPLETED' | 'CANCELLED' | 'DNA';

export interface BookingStatusFacts {
  deleted?: boolean | null;
  cancellationReason?: string | null;
  bookingJourney?: {
    arrived?: string | null;
    consultation?: string | null;
    departed?: string | null;
    dna?: string | null;
  } | null;
}

/** Most final fact wins: cancelled, then did-not-attend, then departed, then arrived/in consultation. */
export function appointmentStatusOf(booking: BookingStatusFacts): AppointmentStatus {
  if (booking.deleted || (booking.cancellationReason ?? '').trim() !== '') return 'CANCELLED';
  const journey = booking.bookingJourney ?? {};
  if (journey.dna) return 'DNA';
  if (journey.departed) return 'COMPLETED';
  if (journey.arrived || journey.consultation) return 'ARRIVED';
  return 'BOOKED';
}
