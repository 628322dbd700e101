/** A URL as it may be printed (logs, /readyz, metrics, error messages): without the password. */
export function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password && !parsed.username) return url;
    parsed.password = parsed.password ? '***' : '';
    return parsed.toString();
  } catch {
    // Not a URL: nothing in it is shaped like userinfo we could find.
    return url.replace(/\/\/([^/@\s]*):[^/@\s]*@/, '//$1:***@');
  }
}
