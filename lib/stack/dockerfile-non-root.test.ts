import fs from 'node:fs';
import { fromRoot } from '../root';

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
const instructions = (text: string) =>
  text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), argument: rest.join(' ') };
    });

describe('the Dockerfile', () => {
  const all = instructions(fs.readFileSync(fromRoot('Dockerfile'), 'utf8'));
  const finalStage = all.slice(all.map((instruction) => instruction.keyword).lastIndexOf('FROM'));

  it('runs the final image as a non-root user: a USER other than root/0 before CMD and ENTRYPOINT', () => {
    const start = finalStage.findIndex(({ keyword }) => keyword === 'CMD' || keyword === 'ENTRYPOINT');
    expect(start).toBeGreaterThan(0);
    const users = finalStage.slice(0, start).filter(({ keyword }) => keyword === 'USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.argument.split(':')[0];
    expect(['root', '0']).not.toContain(user);
    // Nothing after CMD/ENTRYPOINT switches back.
    expect(finalStage.slice(start).filter(({ keyword }) => keyword === 'USER')).toEqual([]);
  });

  it("leaves the application's files owned by root, so the user it runs as cannot change its code", () => {
    for (const { keyword, argument } of finalStage) if (keyword === 'COPY' || keyword === 'ADD') expect(argument).not.toMatch(/--chown/);
  });
});
