const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Escapes text for HTML element content and quoted attribute values. Every target value goes through it.
 * Control characters a guest may print (ESC, BEL, ...) are shown as their Unicode control pictures
 * (U+2400 onwards), not passed on raw: newlines and tabs stay.
 */
export function escapeHtml(value: unknown): string {
  const text =
    value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return (
    text
      .replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!)
      // eslint-disable-next-line no-control-regex
      .replace(/[\x00-\x08\x0b-\x1f]/g, (c) => String.fromCharCode(0x2400 + c.charCodeAt(0)))
      .replace(/[\x7f-\x9f]/g, '\u2421')
  );
}
