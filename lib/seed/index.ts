export * from './seed';
export * from './practitioner-calendars';
