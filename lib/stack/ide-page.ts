/**
 * Driving the gateway's IDE (GraphiQL 3) in a browser page: open it, read an editor, type an
 * operation into the query editor, run it and read the result pane. GraphiQL's editors are
 * CodeMirror 5 instances; their text is read through the instance the editor element carries.
 */
import type { Page } from 'playwright-core';

const QUERY_EDITOR = '.graphiql-query-editor .CodeMirror';
const RESULT_EDITOR = '.graphiql-response .CodeMirror';

/** The text of every CodeMirror editor on the page (query, variables, headers, result). */
export async function editorTexts(page: Page): Promise<string[]> {
  return page.$$eval('.CodeMirror', (nodes) => nodes.map((node) => (node as unknown as { CodeMirror: { getValue(): string } }).CodeMirror.getValue()));
}

export async function openIde(page: Page, url: string, timeoutMs = 60_000): Promise<void> {
  await page.goto(url, { waitUntil: 'load', timeout: timeoutMs });
  await page.waitForSelector(QUERY_EDITOR, { timeout: timeoutMs });
}

/** Types `operation` into the query editor (replacing what is there) the way a person would. */
export async function typeOperation(page: Page, operation: string): Promise<string> {
  await page.click(QUERY_EDITOR);
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type(operation);
  // An autocompletion list left open would take the next key.
  await page.keyboard.press('Escape');
  return page.$eval(QUERY_EDITOR, (node) => (node as unknown as { CodeMirror: { getValue(): string } }).CodeMirror.getValue());
}

/** Presses the run button and waits until the result pane shows something that satisfies `done`. */
export async function runAndRead(page: Page, done: (text: string) => boolean, timeoutMs = 60_000): Promise<string> {
  await page.click('.graphiql-execute-button');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await page.$eval(RESULT_EDITOR, (node) => (node as unknown as { CodeMirror: { getValue(): string } }).CodeMirror.getValue());
    if (done(text)) return text;
    if (Date.now() > deadline) throw new Error(`the result pane did not show the expected result in ${timeoutMs} ms; it shows: ${text.slice(0, 500)}`);
    await page.waitForTimeout(100);
  }
}
