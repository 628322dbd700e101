/** The in-process bus's cursors keep growing when the wall clock stands still or goes back. */
import { compareCursors, parseCursor } from '../cursor';
import { createMemoryEventBus } from '../memory';

afterEach(() => jest.restoreAllMocks());

it('keeps cursors strictly increasing when the clock stands still or goes backwards', async () => {
  const clock = [5_000, 5_000, 4_000, 3_000, 6_000, 6_000];
  const now = jest.spyOn(Date, 'now');
  for (const ms of clock) now.mockReturnValueOnce(ms);
  const bus = createMemoryEventBus();
  const cursors: string[] = [];
  for (let index = 0; index < clock.length; index += 1) {
    cursors.push((await bus.publish({ topic: 'clock', type: 'test', payload: { index } })).cursor);
  }
  await bus.close();
  expect(cursors).toEqual(['5000-0', '5000-1', '5000-2', '5000-3', '6000-0', '6000-1']);
  for (let index = 1; index < cursors.length; index += 1) {
    expect(compareCursors(parseCursor(cursors[index]), parseCursor(cursors[index - 1]))).toBe(1);
  }
});
