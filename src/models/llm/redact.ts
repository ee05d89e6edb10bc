/**
 * Keeps API keys out of everything COLT writes: error messages, records, logs. Providers
 * sometimes echo the key in an error body ("invalid key sk-..."), so every text that
 * leaves the LLM layer passes through here.
 */
export class Redactor {
  private readonly secrets: string[];

  constructor(secrets: Iterable<string | undefined>) {
    // Longest first, so a key that contains another is replaced whole.
    this.secrets = [...new Set([...secrets].filter((s): s is string => !!s && s.length >= 4))].sort(
      (a, b) => b.length - a.length,
    );
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join("[redacted]");
    return out;
  }
}
